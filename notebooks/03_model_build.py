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
# # 3. Model build
#
# Section 4.3 of the paper: three convolutional blocks — Conv 3x3 ("same" padding; 32, 64, 128 kernels) ->
# batch normalization -> ReLU -> 2x2 max pooling — then Flatten, a fully connected layer of 132 units and
# a 7-way softmax. Section 5: Adam (learning rate 0.001), categorical cross-entropy, accuracy.
# The paper visualizes the architecture with TensorBoard (Fig. 7); so does this notebook, and it draws it too.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fer-lib/fer_lib/blob/main/notebooks/03_model_build.ipynb)

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
RUN_DIR = "runs/paper_cnn"  # the TensorBoard graph and the figure go here; relative to the project folder
LEARNING_RATE = 0.001
SEED = 0

# %%
from fer_lib import notebook, plots
from fer_lib.paper_cnn import PAPER_CNN_PARAMETERS, build_paper_cnn, layer_table
from fer_lib.report import save_numbers
from fer_lib.tensorboard import GRAPH_DIR, export_graph, read_graph
from fer_lib.training import set_seed

RUN_DIR = notebook.setup(RUN_DIR)

# %%
set_seed(SEED)
model = build_paper_cnn(learning_rate=LEARNING_RATE)
model.summary()

# %% [markdown]
# ## The layers and their parameters

# %%
# NBVAL_CHECK_OUTPUT
layers = layer_table(model)
layers

# %%
# NBVAL_CHECK_OUTPUT
print(f"{model.count_params():,} parameters (the paper's design gives {PAPER_CNN_PARAMETERS:,}); "
      f"optimizer {type(model.optimizer).__name__}, learning rate {float(model.optimizer.learning_rate):g}, "
      f"loss {model.loss}")

# %% [markdown]
# ## The graph in TensorBoard (Fig. 7)
#
# `export_graph` traces one forward pass and writes its graph to an event file; TensorBoard's *Graphs* tab
# draws it (`tensorboard --logdir <run folder>`; in Colab: `%load_ext tensorboard`, then `%tensorboard --logdir ...`).
# The training notebook adds the loss and accuracy curves under the same folder.

# %%
event_file = export_graph(model, RUN_DIR / GRAPH_DIR)
graph = read_graph(event_file)
print(f"graph written to {event_file}")

# %%
# NBVAL_CHECK_OUTPUT
operations = sorted({node.op for node in graph.node if node.op in ("Conv2D", "MaxPool", "Relu", "MatMul", "Softmax")})
print(f"{len(graph.node)} nodes; layers found in the graph: "
      f"{[name for name in layers.index if any(f'/{name}_' in node.name for node in graph.node)]}")
print(f"operations: {operations}")

# %% [markdown]
# ## Neural network architecture (Fig. 7)
#
# The same network drawn from the layer table with matplotlib alone — no Graphviz needed, so it renders
# headless, in CI and in Colab alike.

# %%
figure = plots.architecture(layers, title=model.name)
plots.save_figure(figure, RUN_DIR, "fig07_architecture");

# %%
path = save_numbers(RUN_DIR, "03_model", {
    "parameters": model.count_params(),
    "layers": [{"layer": name, **row} for name, row in layers.iterrows()],
    "tensorboard_graph": str(event_file.relative_to(RUN_DIR)),
})
print(f"numbers: {path}")
