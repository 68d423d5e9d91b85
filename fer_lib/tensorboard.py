"""The model's graph in TensorBoard (paper, section 4.3: "the architecture is visualized using TensorBoard").

Keras 3's TensorBoard callback stores only the conceptual (layer) graph; `export_graph` traces the forward
pass as a tf.function and stores its op-level graph, the one TensorBoard's Graphs tab draws.
"""
from __future__ import annotations

import struct
from pathlib import Path

GRAPH_DIR = "graph"
GRAPH_PLUGIN = "graph_run_metadata_graph"  # how tf.summary.trace_export tags the graph


def export_graph(model, log_dir: str | Path) -> Path:
    """Trace `model` on one input and write its op graph to an event file in `log_dir`; returns that file."""
    import tensorflow as tf

    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    before = set(log_dir.glob("events.out.tfevents.*"))

    @tf.function
    def forward(faces):
        return model(faces, training=False)

    writer = tf.summary.create_file_writer(str(log_dir))
    tf.summary.trace_on(graph=True, profiler=False)
    try:
        forward(tf.zeros((1, *model.input_shape[1:])))
        with writer.as_default():
            tf.summary.trace_export(name=model.name, step=0)
    finally:
        tf.summary.trace_off()
        writer.close()
    (written,) = set(log_dir.glob("events.out.tfevents.*")) - before
    return written


def read_graph(event_file: str | Path):
    """The op-level GraphDef that export_graph stored in an event file (ValueError when it holds none)."""
    import tensorflow as tf

    for record in _records(event_file):
        event = tf.compat.v1.Event.FromString(record)
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name == GRAPH_PLUGIN:
                metadata = tf.compat.v1.RunMetadata.FromString(value.tensor.string_val[0])
                return metadata.function_graphs[0].pre_optimization_graph
    raise ValueError(f"{event_file}: no traced graph in this event file")


def _records(path: str | Path):
    """The payloads of a TFRecord file (length, its CRC, data, data CRC), read without TensorFlow's log noise."""
    with open(path, "rb") as file:
        while header := file.read(12):
            (length,) = struct.unpack("<Q", header[:8])
            yield file.read(length)
            file.read(4)
