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
# # 4. Training
#
# Section 6 of the paper: train on `Training`, validate on `PrivateTest`, batch size 64, 20 epochs,
# Adam 0.001 — then look at accuracy (Fig. 8) and loss (Fig. 9) per epoch. The paper reads from its curves that
# "20 epochs, even 12 epochs can be taken, is quite enough. A little more and there would be overfitting".
#
# The run folder keeps the final model (`model.keras`, the paper's protocol), the best epoch by validation
# accuracy (`best.keras`), `history.csv`, `metrics.json` and TensorBoard logs. A run that is interrupted
# resumes from its last finished epoch; a finished run with the same settings is reused, not trained again
# (`OVERWRITE = True` trains it again).
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fer-lib/fer_lib/blob/main/notebooks/04_training.ipynb)

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
RUN_DIR = "runs/paper_cnn"  # relative paths are relative to the project folder
EPOCHS = 20
BATCH_SIZE = 64
LEARNING_RATE = 0.001
ROW_LIMIT = None  # train on the first N Training rows only (None: all of them)
SEED = 0
OVERWRITE = False

# %%
from fer_lib import Splits, notebook, plots
from fer_lib.paper_cnn import build_paper_cnn
from fer_lib.report import summary, write_run_metrics
from fer_lib.training import TrainConfig, set_seed, train

RUN_DIR = notebook.setup(RUN_DIR)
dataset = notebook.load(DATA)
splits = dataset.split()
splits = Splits(splits.train.head(ROW_LIMIT), splits.validation, splits.test)
print(f"train {len(splits.train)} (Training) / validation {len(splits.validation)} (PrivateTest) rows")

# %% [markdown]
# ## Fit
#
# Seeds are fixed (`set_seed` also makes TensorFlow's operations deterministic), so the same settings give the
# same numbers on the same machine.

# %%
config = TrainConfig(epochs=EPOCHS, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, seed=SEED)
set_seed(config.seed)
model = build_paper_cnn(learning_rate=config.learning_rate)
history = train(model, splits.train, splits.validation, RUN_DIR, config, overwrite=OVERWRITE, reuse=True, verbose=2)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(history)} epochs; the run folder holds: {sorted(p.name for p in RUN_DIR.iterdir() if p.suffix in ('.keras', '.csv'))}")

# %%
history.round(4)

# %% [markdown]
# ## Accuracy (Fig. 8) and loss (Fig. 9)

# %%
figure = plots.training_curves(history, "accuracy")
plots.save_figure(figure, RUN_DIR, "fig08_accuracy");

# %%
figure = plots.training_curves(history, "loss")
plots.save_figure(figure, RUN_DIR, "fig09_loss");

# %% [markdown]
# ## Where the curves leave the paper's reading
#
# The final model (last epoch) is what the paper tests; the best epoch by validation accuracy is kept too.
# Both are scored on PublicTest in `metrics.json`; the next notebook looks at the test predictions in detail.

# %%
best = history.loc[history["val_accuracy"].idxmax()]
lowest_loss = history.loc[history["val_loss"].idxmin()]
print(f"best validation accuracy {best['val_accuracy']:.4f} at epoch {int(best['epoch']) + 1}; lowest validation loss "
      f"{lowest_loss['val_loss']:.4f} at epoch {int(lowest_loss['epoch']) + 1}, {history['val_loss'].iloc[-1]:.4f} at the end")
print(f"training accuracy at the last epoch: {history['accuracy'].iloc[-1]:.4f} "
      f"(validation {history['val_accuracy'].iloc[-1]:.4f})")

# %%
metrics = write_run_metrics(RUN_DIR, dataset, splits, config)
print(summary(metrics))
