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
# # 8. The paper's CNN and the stronger model, side by side
#
# Notebooks 1-5 rebuild the paper. This one puts its CNN next to the model fer_lib ships
# (`fer_lib.load_pretrained()`: a deeper VGG-style network with augmentation, trained by
# `python -m fer_lib train --model strong`, its best epoch chosen on PrivateTest, see its model card in
# `fer_lib/models/`). Both are scored on the same PublicTest faces, which neither was trained or chosen on.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fer-lib/fer_lib/blob/main/notebooks/08_paper_vs_strong.ipynb)

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
RUN_DIR = "runs/paper_cnn"  # the training notebook's run folder; relative to the project folder
MODEL = "best.keras"  # the paper CNN's best epoch by PrivateTest, chosen like the shipped model's ("model.keras": the last)
STRONG = "strong_cnn"  # a model shipped in fer_lib/models

# %%
import json

import keras
import pandas as pd

from fer_lib import notebook, plots
from fer_lib.evaluation import evaluate_all
from fer_lib.inference import cpu_latency, unwrap
from fer_lib.pretrained import load_pretrained, model_card
from fer_lib.report import save_numbers
from fer_lib.training import METRICS_FILE

RUN_DIR = notebook.setup(RUN_DIR)
dataset = notebook.load(DATA)
test = dataset.split().test
models = {"paper CNN": keras.models.load_model(RUN_DIR / MODEL, compile=False), STRONG: load_pretrained(STRONG)}
card = model_card(STRONG)

# %% [markdown]
# ## Accuracy, overall and per emotion
#
# The shipped model was trained on FER2013; on the demo dataset (synthetic faces) its numbers mean nothing.

# %%
every_label_set = {name: evaluate_all(model, test) for name, model in models.items()}  # FER+ too, where it is beside
evaluations = {name: results["fer2013"] for name, results in every_label_set.items()}
overall = pd.Series({name: result.accuracy for name, result in evaluations.items()}, name="PublicTest accuracy")
ferplus = {name: results["ferplus"].accuracy for name, results in every_label_set.items() if "ferplus" in results}
(pd.DataFrame({"FER2013's labels": overall, **({"FER+ vote majority": pd.Series(ferplus)} if ferplus else {})})
 * 100).round(2)

# %%
recalls = {name: result.per_class["recall"] for name, result in evaluations.items()}
per_class = (pd.DataFrame(recalls) * 100).round(1)
per_class.insert(0, "test faces", evaluations[STRONG].per_class["support"])
per_class

# %%
figure = plots.per_class_comparison(recalls)
plots.save_figure(figure, RUN_DIR, "paper_vs_strong_per_class")

# %% [markdown]
# ## Confusion matrices

# %%
for name, result in evaluations.items():
    figure = plots.confusion_matrix(result.confusion, title=f"{name}: confusion matrix (rows: true emotion)")
    plots.save_figure(figure, RUN_DIR, f"confusion_matrix_{name.replace(' ', '_')}")

# %% [markdown]
# ## Size, training time and CPU latency
#
# The parameters are the network's (the shipped model's test-time options, a fixed blur and mirror, learn nothing).
# The training times are what each run recorded (the sum of its epochs' wall times, `history.csv`), on whatever else
# shared the machine then; the latencies are measured here, now, for both models on this machine: the median time to
# classify one face (the shipped model reads it twice, mirrored too), and one face's share of a batch of 64.

# %%
paper_run = json.loads((RUN_DIR / METRICS_FILE).read_text())
latency = {name: cpu_latency(model, test.x) for name, model in models.items()}
costs = pd.DataFrame({
    "parameters": {name: unwrap(model).count_params() for name, model in models.items()},  # the network alone
    "training epochs": {"paper CNN": paper_run["epochs_run"], STRONG: card["run"]["epochs_run"]},
    "training minutes": {"paper CNN": round(paper_run["training_seconds"] / 60), STRONG: round(card["run"]["training_seconds"] / 60)},
    "ms per face, one at a time": {name: round(value["one_face_ms"], 2) for name, value in latency.items()},
    "ms per face, batches of 64": {name: round(value["batch_64_ms_per_face"], 3) for name, value in latency.items()},
})
costs

# %%
# NBVAL_CHECK_OUTPUT
print(costs["parameters"].to_dict())

# %%
gain = overall[STRONG] - overall["paper CNN"]
print(f"{STRONG}: PublicTest {overall[STRONG]:.1%} vs the paper CNN's {overall['paper CNN']:.1%} ({gain * 100:+.1f} points), "
      f"{costs['ms per face, one at a time'][STRONG] / costs['ms per face, one at a time']['paper CNN']:.1f}x its "
      f"single-face latency")
save_numbers(RUN_DIR, "08_paper_vs_strong", {
    "source": dataset.source, "is_demo": dataset.is_demo, "paper_model": MODEL, "strong_model": STRONG,
    "accuracy": overall.to_dict(), "ferplus_accuracy": ferplus or None, "per_class_recall": {name: r.to_dict() for name, r in recalls.items()},
    "costs": costs.to_dict(orient="index"), "latency": latency,
});
