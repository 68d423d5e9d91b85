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
# # 1. Data exploration
#
# *The Neural Network for Emotions Recognition under Special Conditions* (Tiahunova et al., CMIS-2021),
# section 4.2 (Preparing data): the structure of FER2013 (Fig. 3), its three subsamples and the distribution of the
# data between the seven emotions (Fig. 4). The library behind every step is `fer_lib`.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fer-lib/fer_lib/blob/main/notebooks/01_data_exploration.ipynb)

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
from fer_lib import notebook, plots
from fer_lib.report import save_numbers

RUN_DIR = notebook.setup(RUN_DIR)  # prints the versions and the device; relative paths: from the project folder

# %%
dataset = notebook.load(DATA)  # in Colab: Google Drive, Kaggle or an upload; else FER2013_PATH, data/, the demo

# %% [markdown]
# ## The structure of FER2013 (Fig. 3)
#
# Three columns: the emotion's number (0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral),
# the image as a string of pixel values from 0 to 255, and the subsample (`Usage`) the row belongs to.
# The paper calls the images "NumPy 28x28 arrays"; they are 48x48 — 2,304 values per row.
# (The notebooks committed to the repository run with `SHOW_FACES = False`: FER2013 may not be redistributed,
# so they show no pixel values and no faces, only what is derived from them.)

# %%
# NBVAL_CHECK_OUTPUT
dataset.to_frame(5, pixels=SHOW_FACES)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(dataset)} rows; each face {dataset.pixels.shape[1]}x{dataset.pixels.shape[2]} pixels, "
      f"{dataset.pixels.dtype}, values {dataset.pixels.min()}..{dataset.pixels.max()}")

# %% [markdown]
# ## Three subsamples
#
# `Training` trains the model, `PrivateTest` validates it (and picks the best epoch), `PublicTest` tests it —
# the paper's split, kept everywhere in this project.

# %%
# NBVAL_CHECK_OUTPUT
counts = dataset.class_counts()
counts.assign(total=counts.sum(axis=1))

# %% [markdown]
# ## Distribution of data between classes (Fig. 4)

# %%
figure = plots.class_distribution(counts, usages=("Training", "PrivateTest"))
plots.save_figure(figure, RUN_DIR, "fig04_class_distribution");

# %% [markdown]
# The classes are far from balanced: *happy* has the most images and *disgust* by far the fewest.
# A model can ignore *disgust* and lose little accuracy — the paper notes it is "especially difficult to
# recognize" and that there were "few examples of this emotion in the dataset".

# %%
# NBVAL_CHECK_OUTPUT
training = counts.loc["Training"]
for emotion, n in training.sort_values().items():
    print(f"{emotion:9s} {n:6d}  {n / training.sum():6.1%}")
print(f"majority class ({training.idxmax()}) share: {training.max() / training.sum():.1%}; "
      f"{training.idxmin()} has {training.max() / training.min():.1f}x fewer images than {training.idxmax()}")

# %%
path = save_numbers(RUN_DIR, "01_data", {
    "source": dataset.source, "is_demo": dataset.is_demo,
    "class_counts": {usage: row.to_dict() for usage, row in counts.iterrows()},
})
print(f"numbers: {path}")
