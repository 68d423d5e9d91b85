"""The live page's speed: readings a second and latency from camera frame to drawn box, through `fer-lib serve`'s
page in headless Chromium, at 640x480, with one face and with none; the server's own reading of the same frames in
the same run is the ceiling (what the page would reach if the browser, the JPEGs and the socket cost nothing).
With --soak-minutes, the page then reads the face clip that long and the server's and the page's memory are
compared between the first minute and the end.

    python benchmarks/bench_live.py [--seconds 30] [--soak-minutes 10]

Needs the web-test extra and Debian's chromium and chromium-driver. Writes results/live.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from common import report  # noqa: E402

from fer_lib import browser  # noqa: E402
from fer_lib.cameras import astronaut_clip, write_y4m  # noqa: E402
from fer_lib.serve import LiveReader, Tracks, make_app, running  # noqa: E402

CLIP_FPS = 30
SCENES = {"one face": True, "no face": False}  # the astronaut, tilting and dimming; the coffee photo, moving alike
STATE = ("return {readings: fer.readings, latencies: fer.latencies.slice(), times: fer.replyTimes.slice(),"
         " dropped: fer.dropped, errors: fer.errors, faces: fer.last ? fer.last.faces.length : 0,"
         " heap: performance.memory ? performance.memory.usedJSHeapSize : null}")


def jpegs(clip: np.ndarray) -> list[bytes]:
    import io

    out = []
    for frame in clip:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


def ceiling(reader: LiveReader, frames: list[bytes], seconds: float) -> tuple[float, float]:
    """(frames read a second, median milliseconds a frame) by the server's reader alone, frame after frame."""
    tracks, times, start, i = Tracks(), [], time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        begun = time.perf_counter()
        reader.frame(frames[i % len(frames)], tracks)
        times.append(time.perf_counter() - begun)
        i += 1
    return len(times) / (time.perf_counter() - start), 1000 * median(times)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def through_page(reader: LiveReader, camera: Path, seconds: float, soak_minutes: float = 0.0) -> dict:
    """The page reading `camera` (a y4m clip) for `seconds` after a 5 s warm-up: readings/s, latency, and with
    `soak_minutes` the memory at 1 minute and at the end."""
    from selenium.webdriver.common.by import By

    with running(make_app(reader=reader)) as url, browser.chromium(camera) as driver:
        driver.get(url)
        while not driver.execute_script("return fer.info !== null"):
            time.sleep(0.1)
        driver.find_element(By.ID, "start").click()
        time.sleep(5)
        before = driver.execute_script(STATE)
        time.sleep(seconds)
        after = driver.execute_script(STATE)
        result = {"readings": after["readings"] - before["readings"], "seconds": seconds,
                  "latencies": after["latencies"], "dropped": after["dropped"] - before["dropped"],
                  "errors": after["errors"], "faces_last": after["faces"]}
        if soak_minutes:
            time.sleep(max(0.0, 60 - seconds - 5))
            first = (rss_mb(), driver.execute_script(STATE)["heap"], time.monotonic())
            time.sleep(max(0.0, soak_minutes * 60 - 60))
            end = driver.execute_script(STATE)
            result["soak"] = {"minutes": soak_minutes, "readings": end["readings"],
                              "server_rss_mb_at_1_min": round(first[0], 1), "server_rss_mb_at_end": round(rss_mb(), 1),
                              "page_heap_mb_at_1_min": round((first[1] or 0) / 2**20, 1),
                              "page_heap_mb_at_end": round((end["heap"] or 0) / 2**20, 1), "errors": end["errors"]}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each scene is read (default: 30)")
    parser.add_argument("--soak-minutes", type=float, default=0.0, help="then read the face clip this long and "
                        "compare the memory (default: 0, no soak)")
    args = parser.parse_args()
    missing = browser.missing()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    reader = LiveReader()
    rows, soak = [], None
    with tempfile.TemporaryDirectory() as folder:
        for scene, face in SCENES.items():
            clip = astronaut_clip(frames=60, face=face)
            camera = write_y4m(clip, Path(folder) / "camera.y4m", fps=CLIP_FPS)
            page = through_page(reader, camera, args.seconds, args.soak_minutes if face else 0.0)
            alone, alone_ms = ceiling(reader, jpegs(clip), args.seconds)
            rate = page["readings"] / page["seconds"]
            latencies = np.array(page["latencies"])
            rows.append({"scene": scene, "page readings/s": round(rate, 1),
                         "latency median ms": round(float(np.median(latencies)), 1),
                         "latency p90 ms": round(float(np.percentile(latencies, 90)), 1),
                         "frames dropped": page["dropped"], "server alone frames/s": round(alone, 1),
                         "server ms/frame": round(alone_ms, 1), "page / server": round(rate / alone, 3)})
            if page["errors"]:
                print(f"{scene}: the page reported: {page['errors'][:3]}", file=sys.stderr)
            soak = page.get("soak", soak)
    extra = {"frame": "640x480 RGB, JPEG quality 85 from the page", "clip_fps": CLIP_FPS,
             "detector": reader.detector, "model": reader.model_name, "seconds_per_scene": args.seconds,
             "in_flight": 2}
    if soak:
        extra["soak"] = soak
    report("live", rows, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
