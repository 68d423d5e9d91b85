// fer_lib's live page: camera frames go to the server as JPEGs over a WebSocket, replies are drawn over the video.
// At most IN_FLIGHT frames are on their way; the server reads the latest and drops the rest, so nothing queues.
"use strict";

const IN_FLIGHT = 2;
const TIMELINE_SECONDS = 60;
const COLOURS = ["#d62728", "#8c564b", "#9467bd", "#2ca02c", "#1f77b4", "#ff7f0e", "#7f7f7f"];
const IMAGE_SUFFIXES = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"];

const fer = {  // the page's state (tests read it)
  info: null, rows: [], readings: 0, replies: 0, errors: [], latencies: [], replyTimes: [], dropped: 0,
  tracks: new Map(), last: null, running: false, sent: 0,
};
window.fer = fer;

const $ = (id) => document.getElementById(id);
const video = $("video"), overlay = $("overlay");
const grab = document.createElement("canvas");
let socket = null, stream = null, started = 0, lastDrawn = 0, lastClock = -Infinity;
let link = {sent: 0, replies: 0};  // this connection's frames sent and answered

function say(text) {
  const line = document.createElement("div");
  line.textContent = text;
  $("messages").prepend(line);
  fer.errors.push(text);
  while ($("messages").children.length > 5) $("messages").lastChild.remove();
}

async function loadInfo() {
  const reply = await fetch("api/info");
  fer.info = await reply.json();
  $("about").textContent = `Model ${fer.info.model}, detector ${fer.info.detector}. ` +
    "fer_lib reads the faces on this machine; nothing leaves it.";
  $("legend").innerHTML = fer.info.emotions.map((e, i) => `<span><i style="background:${COLOURS[i]}"></i>${e}</span>`).join("");
}

async function start() {
  if (fer.running) return;
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: false});
  } catch (error) {
    say(`The camera could not be opened: ${error.message || error.name}`);
    return;
  }
  video.srcObject = stream;
  await video.play();
  grab.width = video.videoWidth;
  grab.height = video.videoHeight;
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  fer.running = true;
  connect();
  started = started || performance.now();
  $("start").disabled = true;
  $("stop").disabled = false;
}

function connect() {
  // The camera's socket; when the server goes away, tried again every second while the camera runs.
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  socket.binaryType = "arraybuffer";
  link = {sent: 0, replies: 0};
  socket.onopen = () => { for (let i = 0; i < IN_FLIGHT; i++) send(); };
  socket.onmessage = (event) => received(JSON.parse(event.data));
  socket.onclose = () => {
    if (!fer.running) return;
    say("The server does not answer; trying again every second.");
    setTimeout(() => { if (fer.running) connect(); }, 1000);
  };
}

function stop() {
  fer.running = false;
  if (socket) { socket.onclose = null; socket.close(); }
  if (stream) stream.getTracks().forEach((track) => track.stop());
  socket = stream = null;
  $("start").disabled = false;
  $("stop").disabled = true;
}

function send() {
  if (!fer.running || socket.readyState !== WebSocket.OPEN) return;
  const context = grab.getContext("2d");
  context.drawImage(video, 0, 0, grab.width, grab.height);
  const clock = performance.now();
  fer.sent += 1;
  link.sent += 1;
  grab.toBlob(async (blob) => {
    if (!fer.running || socket.readyState !== WebSocket.OPEN) return;
    const jpeg = new Uint8Array(await blob.arrayBuffer());
    const message = new Uint8Array(8 + jpeg.length);
    new DataView(message.buffer).setFloat64(0, clock, true);
    message.set(jpeg, 8);
    socket.send(message);
  }, "image/jpeg", 0.85);
}

function received(reply) {
  const now = performance.now();
  fer.replies += 1;
  link.replies += 1;
  fer.dropped = reply.dropped || 0;
  if (reply.error) {
    say(`Frame not read: ${reply.error}`);
  } else if (reply.clock < lastClock) {
    // grabbed before a frame already read (its JPEG was ready later): too late to show or record, kept in order
  } else {
    lastClock = reply.clock;
    fer.readings += 1;
    fer.last = reply;
    fer.latencies.push(now - reply.clock);
    fer.replyTimes.push(now);
    record(reply, (reply.clock - started) / 1000);
    drawBoxes(reply);
  }
  while (fer.replyTimes.length && now - fer.replyTimes[0] > 2000) fer.replyTimes.shift();
  if (fer.latencies.length > 60) fer.latencies.shift();
  if (now - lastDrawn > 200) { drawPanels(now); lastDrawn = now; }
  const inFlight = link.sent - link.replies - (reply.dropped || 0);
  for (let i = inFlight; i < IN_FLIGHT; i++) send();
}

function record(reply, seconds) {
  const emotions = fer.info.emotions;
  for (const face of reply.faces) {
    const [x, y, width, height] = face.box;
    const row = {file: "camera", frame: fer.readings - 1, timestamp_s: seconds.toFixed(3), face: face.track, x, y, width,
                 height, emotion: face.emotion, probability: face.probability};
    emotions.forEach((name, i) => { row[name] = face.emotions[i]; });
    fer.rows.push(row);
    if (!fer.tracks.has(face.track)) fer.tracks.set(face.track, []);
    fer.tracks.get(face.track).push({seconds, emotions: face.emotions, emotion: face.emotion, probability: face.probability});
  }
  for (const [track, points] of fer.tracks) {
    while (points.length && seconds - points[0].seconds > TIMELINE_SECONDS) points.shift();
    if (!points.length) fer.tracks.delete(track);
  }
}

function drawBoxes(reply) {
  const context = overlay.getContext("2d");
  context.clearRect(0, 0, overlay.width, overlay.height);
  const scale = overlay.width / reply.width;
  const line = Math.max(2, Math.round(overlay.width / 320));
  context.font = `${Math.max(14, Math.round(overlay.width / 32))}px system-ui, sans-serif`;
  for (const face of reply.faces) {
    const [x, y, w, h] = face.box.map((v) => v * scale);
    context.lineWidth = line;
    context.strokeStyle = "#0f0";
    context.strokeRect(x, y, w, h);
    const label = `${face.track}: ${face.emotion} ${face.probability.toFixed(2)}`;
    const size = context.measureText(label);
    const band = parseInt(context.font, 10) + 6;
    const top = y >= band ? y - band : y;
    context.fillStyle = "rgba(0,0,0,0.7)";
    context.fillRect(x, top, size.width + 8, band);
    context.fillStyle = "#0f0";
    context.fillText(label, x + 4, top + band - 6);
  }
}

function drawPanels(now) {
  const rate = fer.replyTimes.length > 1 ?
    1000 * (fer.replyTimes.length - 1) / (fer.replyTimes[fer.replyTimes.length - 1] - fer.replyTimes[0]) : 0;
  const sorted = [...fer.latencies].sort((a, b) => a - b);
  $("rate").textContent = `${rate.toFixed(1)} readings/s`;
  $("latency").textContent = sorted.length ? `latency ${Math.round(sorted[sorted.length >> 1])} ms` : "latency - ms";
  $("dropped").textContent = `${fer.dropped} dropped`;
  const faces = $("faces");
  const shown = new Set();
  for (const [track, points] of fer.tracks) {
    shown.add(`face-${track}`);
    let box = document.getElementById(`face-${track}`);
    if (!box) {
      box = document.createElement("div");
      box.className = "face";
      box.id = `face-${track}`;
      box.innerHTML = `<div><b>face ${track}</b> <span class="label"></span></div><canvas width="420" height="90"></canvas>`;
      faces.append(box);
    }
    const last = points[points.length - 1];
    box.querySelector(".label").textContent = `${last.emotion} ${last.probability.toFixed(2)}`;
    timeline(box.querySelector("canvas"), points, last.seconds, TIMELINE_SECONDS);
  }
  for (const box of [...faces.children]) if (!shown.has(box.id)) box.remove();
}

function timeline(canvas, points, end, span) {
  // The seven probabilities over the last `span` seconds, one line each.
  const context = canvas.getContext("2d");
  const {width, height} = canvas;
  context.clearRect(0, 0, width, height);
  context.strokeStyle = "#ddd";
  context.strokeRect(0.5, 0.5, width - 1, height - 1);
  const at = (seconds) => width - (end - seconds) / span * width;
  fer.info.emotions.forEach((_, i) => {
    context.strokeStyle = COLOURS[i];
    context.lineWidth = 1.5;
    context.beginPath();
    points.forEach((point, j) => {
      const x = at(point.seconds), y = height - 2 - point.emotions[i] * (height - 4);
      if (j === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
  });
  context.fillStyle = "#666";
  context.font = "11px system-ui, sans-serif";
  context.fillText(`${Math.max(0, end - span).toFixed(0)} s`, 4, 12);
  const last = `${end.toFixed(0)} s`;
  context.fillText(last, width - 4 - context.measureText(last).width, 12);
}

function csv() {
  const columns = fer.info.columns;
  const cell = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.join(","), ...fer.rows.map((row) => columns.map((c) => cell(row[c])).join(","))].join("\n") + "\n";
}
fer.csv = csv;

function download() {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([csv()], {type: "text/csv"}));
  link.download = "predictions.csv";
  document.body.append(link);
  link.click();
  link.remove();
}

async function readFile(file) {
  const name = file.name;
  const isImage = file.type.startsWith("image/") || IMAGE_SUFFIXES.some((s) => name.toLowerCase().endsWith(s));
  if (file.size > fer.info.max_upload_bytes) {
    say(`${name}: ${file.size.toLocaleString()} bytes is over the upload limit of ${fer.info.max_upload_bytes.toLocaleString()}`);
    return;
  }
  const url = `api/${isImage ? "photo" : "video"}?name=${encodeURIComponent(name)}${isImage ? "" : "&fps=1"}`;
  let result;
  try {
    const reply = await fetch(url, {method: "POST", body: file});
    result = await reply.json();
  } catch (error) {
    say(`${name}: the server did not answer (${error.message})`);
    return;
  }
  if (result.error) { say(result.error); return; }
  fer.rows.push(...result.rows);
  showResult(result, isImage);
}

function showResult(result, isImage) {
  const box = document.createElement("div");
  box.className = "result";
  const title = document.createElement("h3");
  title.textContent = `${result.file}: ${result.rows.length} face(s)`;
  box.append(title);
  if (isImage) {
    const image = document.createElement("img");
    image.src = result.annotated;
    image.alt = `${result.file}, annotated`;
    box.append(image);
  } else if (result.rows.length) {
    const canvas = document.createElement("canvas");
    canvas.width = 640; canvas.height = 140;
    const first = result.rows.filter((row) => row.face === 0);
    const points = first.map((row) => ({seconds: row.timestamp_s, emotions: fer.info.emotions.map((e) => row[e])}));
    const end = points[points.length - 1].seconds;
    timeline(canvas, points, end, Math.max(end, 1));
    box.append(canvas);
  }
  box.append(table(result.rows.slice(0, 200)));
  $("results").prepend(box);
}

function table(rows) {
  const columns = ["frame", "timestamp_s", "face", "x", "y", "width", "height", "emotion", "probability"];
  const element = document.createElement("table");
  element.innerHTML = "<tr>" + columns.map((c) => `<th>${c}</th>`).join("") + "</tr>" +
    rows.map((row) => "<tr>" + columns.map((c) => `<td>${row[c] ?? ""}</td>`).join("") + "</tr>").join("");
  return element;
}

$("start").onclick = start;
$("stop").onclick = stop;
$("download").onclick = download;
$("files").onchange = (event) => { for (const file of event.target.files) readFile(file); };
const drop = $("drop");
drop.ondragover = (event) => { event.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  for (const file of event.dataTransfer.files) readFile(file);
};
loadInfo().catch((error) => say(`The server did not answer: ${error.message}`));
