# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Photos and video
#
# The paper ends by saying the model "can be saved and integrated into any system, such as a video camera", and
# that it "detects a person's emotion every second". This notebook does that with the trained model: it finds
# faces in real photographs, crops them the way FER2013 frames its faces, reads their emotions, follows a face
# through a short video once a second, and exports the model for devices (TensorFlow Lite), checking that the
# exported files give the same answers.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fer-lib/fer_lib/blob/main/notebooks/06_photos_and_video.ipynb)

# %%
# Setup: inside Google Colab, fetch the project and install fer_lib; anywhere else this cell does nothing.
import os
import subprocess
import sys

if "google.colab" in sys.modules and not os.path.isdir("/content/fer_lib"):
    subprocess.run("git clone -q --depth 1 https://github.com/fer-lib/fer_lib /content/fer_lib"
                   " && pip install -q -e /content/fer_lib", shell=True, check=True)
    sys.path.insert(0, "/content/fer_lib")

# %% tags=["parameters"]
DATA = None  # FER2013 for the export check: as in the other notebooks ("demo": the demo dataset)
RUN_DIR = "runs/paper_cnn"  # the training notebook's run folder; relative to the project folder
MODEL = "best.keras"  # the best epoch by PrivateTest ("model.keras": the last epoch)

# %%
import json

import cv2
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage import data as photos

from fer_lib import EMOTIONS, notebook, plots
from fer_lib.export import CALIBRATION_FACES, compare, export
from fer_lib.faces import crop_faces
from fer_lib.framing import FER_FRAMING
from fer_lib.images import to_gray
from fer_lib.predict import EmotionReader, draw, predict
from fer_lib.report import save_numbers

RUN_DIR = notebook.setup(RUN_DIR)
OUTPUT = RUN_DIR / "photos_and_video"
model = keras.models.load_model(RUN_DIR / MODEL, compile=False)
print(f"model: {RUN_DIR / MODEL}")

# %% [markdown]
# ## Framing a face like FER2013
#
# FER2013's faces were cut out of web images by a face detector, so the 48x48 frame sits around the face in a
# fixed way. `python -m fer_lib framing` runs OpenCV's frontal-face detector (the one this notebook uses) on FER2013's
# own faces and measures the frame against the detector's box: the crop for a new photo is the detector's box
# scaled by `scale` and moved by `(dx, dy)` box widths. The measurement is in `results/face_framing.json`.

# %%
# NBVAL_CHECK_OUTPUT
print(FER_FRAMING)
measured = json.loads((notebook.project_path("results") / "face_framing.json").read_text())
print(f"measured on FER2013 (not the demo): {not measured['is_demo']}")

# %% [markdown]
# ## Real photographs
#
# Three photographs that scikit-image ships: an astronaut (a real smiling face, seen from the front), a cameraman
# looking into his camera (a face turned and half hidden: a frontal-face detector is not expected to find it) and
# a cup of coffee (no face). Each image's faces are classified in one batch.

# %%
pictures = {"astronaut": photos.astronaut(), "camera": photos.camera(), "coffee": photos.coffee()}
reader = EmotionReader(model, detector="haar")
found = {name: reader(image) for name, image in pictures.items()}
figure, axes = plt.subplots(1, 3, figsize=(13, 4.5))
for ax, (name, image) in zip(axes, pictures.items()):
    boxes, probabilities = found[name]
    ax.imshow(draw(image, boxes, probabilities), cmap="gray")
    ax.set_title(f"{name}: {len(boxes)} face(s)")
    ax.axis("off")
plots.save_figure(figure, RUN_DIR, "photos_annotated")

# %%
# NBVAL_CHECK_OUTPUT
print({name: len(boxes) for name, (boxes, _) in found.items()})

# %% [markdown]
# What the network sees: the astronaut's face cropped like a FER2013 face (48x48, grayscale), and its seven
# probabilities.

# %%
gray = to_gray(pictures["astronaut"])
boxes, probabilities = found["astronaut"]
crop = crop_faces(gray, boxes[:1])[0]
plots.save_figure(plots.prediction(crop, probabilities[0], None, title="the astronaut, framed like FER2013"),
                  RUN_DIR, "astronaut_prediction")
print(pd.Series(probabilities[0], index=EMOTIONS).round(3).to_string())

# %% [markdown]
# ## A short video, read once a second
#
# A 6-second clip (10 frames per second) made from the astronaut photo, shifted a little in every frame, with
# the coffee photo (no face) for its last 2 seconds. `fer_lib.predict.predict` reads it at 1 frame per second
# (the paper's rate; `python -m fer_lib predict clip.mp4 --fps 1` does the same), writes one row per face with
# its frame and timestamp to `predictions.csv`/`.json`, an annotated copy of the sampled frames and the timeline.

# %%
OUTPUT.mkdir(parents=True, exist_ok=True)
clip = OUTPUT / "clip.mp4"
writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (512, 512))
for i in range(60):
    frame = np.roll(pictures["astronaut"], 3 * (i % 10), axis=1) if i < 40 else cv2.resize(pictures["coffee"], (512, 512))
    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
writer.release()
outcome = predict([clip], model, OUTPUT / "predictions", fps=1, detector="haar", overwrite=True)  # this notebook's own folder
rows = pd.DataFrame(outcome.rows)
rows[["frame", "timestamp_s", "x", "y", "width", "height", "emotion", "probability"]]

# %%
# NBVAL_CHECK_OUTPUT
print("frames with a face:", list(rows["frame"]), "timestamps:", list(rows["timestamp_s"]), "failures:", outcome.failures)

# %%
figure = plots.emotion_timeline(outcome.rows, title="clip.mp4")
plots.save_figure(figure, RUN_DIR, "clip_timeline")

# %% [markdown]
# ## Exported for devices
#
# `python -m fer_lib export` writes a TensorFlow SavedModel and two TensorFlow Lite files: float32, and int8
# (weights and activations quantized, calibrated on Training faces). Each is scored on PublicTest next to the
# Keras model; fer_lib requires every export to stay within 0.5 points of it.

# %%
dataset = notebook.load(DATA)
splits = dataset.split()
paths = export(model, OUTPUT / "export", splits.train.x[:CALIBRATION_FACES])
numbers = compare(model, paths, splits.test)
table = pd.DataFrame({name: numbers[name] for name in ("keras", "saved_model", "tflite_float32", "tflite_int8")}).T
table["MB"] = table.pop("bytes") / 1e6
table.round(4)

# %%
save_numbers(RUN_DIR, "06_photos_and_video", {
    "faces_found": {name: len(boxes) for name, (boxes, _) in found.items()},
    "astronaut": dict(zip(EMOTIONS, probabilities[0])),
    "clip": outcome.rows, "export": numbers,
})
print("largest accuracy change of an export:", f"{max(abs(numbers[n]['difference']) for n in paths) * 100:.2f} points")
