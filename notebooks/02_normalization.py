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
# # 2. Normalization
#
# Section 4.2 of the paper: scale the pixels from 0-255 to [0, 1] as float32, give every image the shape
# 48x48x1 (one channel: grayscale), and turn the labels into one-hot vectors (`to_categorical`).
# Training and test data go through exactly the same steps (Fig. 5 shows normalized faces).
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fer-lib/fer_lib/blob/main/notebooks/02_normalization.ipynb)

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
DATA = None  # FER2013: a .csv/.csv.gz or image-folder root; None: $FER2013_PATH, then data/, else the demo; "demo"
RUN_DIR = "runs/paper_cnn"  # where figures and numbers go; relative paths are relative to the project folder
SHOW_FACES = True  # False: no FER2013 pixels in the outputs (the committed notebooks), only derived numbers

# %%
from fer_lib import normalize, notebook, one_hot, plots
from fer_lib.report import save_numbers

RUN_DIR = notebook.setup(RUN_DIR)
dataset = notebook.load(DATA)
splits = dataset.split()

# %% [markdown]
# ## Before: uint8 pixels from 0 to 255

# %%
# NBVAL_CHECK_OUTPUT
def pixel_statistics(name, x):
    print(f"{name:22s} {str(x.dtype):8s} {str(x.shape):22s} min {x.min():.3f}  max {x.max():.3f}  "
          f"mean {x.mean():.4f}  std {x.std():.4f}")


for name, subset in vars(splits).items():
    pixel_statistics(f"{name} (raw)", subset.x)

# %% [markdown]
# ## After: float32 in [0, 1], shaped 48x48x1
#
# `normalize` divides by 255 and adds the channel axis; the same function serves training, validation and
# test. (The training pipeline, `fer_lib.training.make_dataset`, does the same division in-graph batch by batch.)

# %%
# NBVAL_CHECK_OUTPUT
x = {name: normalize(subset.x) for name, subset in vars(splits).items()}
for name, values in x.items():
    pixel_statistics(f"{name} (normalized)", values)

# %% [markdown]
# ## Labels: one-hot vectors
#
# `one_hot` gives what `keras.utils.to_categorical` gives: one column per emotion, a 1 in the label's column.

# %%
# NBVAL_CHECK_OUTPUT
y = {name: one_hot(subset.y) for name, subset in vars(splits).items()}
print("train labels:", splits.train.y[:5], "->", y["train"].shape, y["train"].dtype)
print(y["train"][:5])

# %% [markdown]
# ## Normalized data (Fig. 5)
#
# The first two training faces of every emotion, drawn from the normalized array — or, with `SHOW_FACES = False`,
# the average normalized face of each emotion (no single person's face).

# %%
if SHOW_FACES:
    shown = splits.train.first_of_each(per_class=2)
    figure = plots.face_grid(x["train"][shown], splits.train.y[shown], columns=7, title="Normalized data")
else:
    figure = plots.face_grid(splits.train.mean_faces() / 255.0, range(7), columns=7,
                             title="Normalized data: the mean training face of each emotion")
plots.save_figure(figure, RUN_DIR, "fig05_normalized_faces");

# %%
path = save_numbers(RUN_DIR, "02_normalization", {
    name: {"shape": list(values.shape), "dtype": str(values.dtype), "min": float(values.min()),
           "max": float(values.max()), "mean": float(values.mean()), "std": float(values.std())}
    for name, values in x.items()
})
print(f"numbers: {path}")
