"""The paper's figures, drawn from fer_lib's data: class distribution (Fig. 4), faces (Fig. 5), the architecture
(Fig. 7), training curves (Fig. 8-9), one test face with its probabilities (Fig. 10-16) and the confusion matrix.

Every function returns a matplotlib Figure (shown inline in a notebook); `save_figure` writes it as a PNG
into a run folder's figures/. Nothing here needs Graphviz or a display.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import EMOTIONS

FIGURE_DIR = "figures"


def save_figure(figure, run_dir, name: str) -> Path:
    """Write `figure` to <run_dir>/figures/<name>.png; returns the path."""
    path = Path(run_dir) / FIGURE_DIR / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def class_distribution(counts: pd.DataFrame, usages=("Training", "PrivateTest")):
    """Images per emotion for each of `usages` (rows of FERDataset.class_counts()), the rarest class called out."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    long = counts.loc[list(usages)].rename_axis("Usage").reset_index().melt(
        id_vars="Usage", var_name="emotion", value_name="images")
    figure, ax = plt.subplots(figsize=(9, 4))
    sns.barplot(long, x="emotion", y="images", hue="Usage", ax=ax)
    for bars in ax.containers:
        ax.bar_label(bars, fontsize=8)
    share = counts.loc[usages[0]] / counts.loc[usages[0]].sum()
    rarest = share.idxmin()
    ax.annotate(f"{rarest}: {share[rarest]:.1%} of {usages[0]}\n({share.max() / share[rarest]:.0f}x fewer than {share.idxmax()})",
                xy=(EMOTIONS.index(rarest), counts.loc[usages[0], rarest]), xytext=(0, 45),
                textcoords="offset points", ha="center", color="firebrick", arrowprops={"arrowstyle": "->", "color": "firebrick"})
    ax.set_title("Distribution of data between classes")
    figure.tight_layout()
    return figure


def face_grid(faces: np.ndarray, labels: np.ndarray, *, columns: int = 7, title: str | None = None):
    """Faces (N, 48, 48), uint8 or floats in [0, 1], in a grid, each titled with its emotion."""
    import matplotlib.pyplot as plt

    rows = int(np.ceil(len(faces) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, face, label in zip(axes.flat, faces, labels):
        ax.imshow(np.squeeze(face), cmap="gray", vmin=0, vmax=255 if face.dtype == np.uint8 else 1)
        ax.set_title(EMOTIONS[int(label)], fontsize=9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def architecture(table: pd.DataFrame, title: str = "paper_cnn"):
    """The network as a stack of layer boxes (name, type, details, output shape, parameters), input at the top.

    `table` is model.layer_table(model); drawn with matplotlib alone, unlike keras.utils.plot_model (Graphviz).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    colours = {"Conv2D": "#8ecae6", "BatchNormalization": "#ffd166", "ReLU": "#caffbf", "MaxPooling2D": "#ffadad",
               "Flatten": "#d9d9d9", "Dense": "#bdb2ff"}
    step = 0.62
    figure, ax = plt.subplots(figsize=(9, step * (len(table) + 2)))
    ax.set_xlim(0, 12)
    ax.set_ylim(-step * (len(table) + 1), step)
    ax.axis("off")
    first = table["output shape"].iloc[0]
    rows = [("input", "face", (first[0], first[1], 1), "", 0, "white")] + [
        (name, row["type"], row["output shape"], row["details"], row["parameters"], colours.get(row["type"], "white"))
        for name, row in table.iterrows()
    ]
    for i, (name, kind, shape, details, params, colour) in enumerate(rows):
        y = -i * step
        ax.add_patch(FancyBboxPatch((0.3, y - 0.22), 11.4, 0.44, boxstyle="round,pad=0.02", fc=colour, ec="0.3"))
        ax.text(0.5, y, f"{name}  ({kind})", va="center", fontsize=9, weight="bold")
        ax.text(5.0, y, details, va="center", fontsize=8)
        ax.text(8.0, y, str(tuple(shape)), va="center", fontsize=8)
        ax.text(11.5, y, f"{params:,} params" if params else "", va="center", ha="right", fontsize=8)
        if i:
            ax.annotate("", xy=(6, y + 0.22), xytext=(6, y + step - 0.22), arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax.set_title(f"{title}: {int(table['parameters'].sum()):,} parameters")
    return figure


def training_curves(history: pd.DataFrame, metric: str = "accuracy"):
    """`metric` per epoch on train and validation (history.csv), the best validation epoch marked."""
    import matplotlib.pyplot as plt

    epochs = history["epoch"] + 1
    figure, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, history[metric], "o-", label=f"train {metric}")
    ax.plot(epochs, history[f"val_{metric}"], "o-", label=f"validation {metric}")
    pick = history[f"val_{metric}"].idxmax() if metric == "accuracy" else history[f"val_{metric}"].idxmin()
    ax.axvline(epochs[pick], color="0.6", ls="--", lw=1)
    ax.annotate(f"best validation: epoch {epochs[pick]}", xy=(epochs[pick], history[f"val_{metric}"][pick]),
                xytext=(8, 8), textcoords="offset points", fontsize=8, color="0.3")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_xticks(epochs)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(metric.capitalize())
    figure.tight_layout()
    return figure


def prediction(face: np.ndarray | None, probabilities: np.ndarray, true_label: int | None, title: str | None = None):
    """One face beside its seven class probabilities; the title gives the true (if known) and predicted emotion.

    `face=None` leaves the image out (a placeholder says so), for outputs that may not carry FER2013's pixels;
    `true_label=None` for a face nobody labelled (a photo).
    """
    import matplotlib.pyplot as plt

    predicted = int(np.argmax(probabilities))
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [1, 2]})
    if face is None:
        left.text(0.5, 0.5, "face not shown\n(FER2013 images are\nnot redistributed)", ha="center", va="center",
                  fontsize=9, color="0.4", transform=left.transAxes)
        left.add_patch(plt.Rectangle((0.05, 0.05), 0.9, 0.9, fill=False, ec="0.6", ls="--", transform=left.transAxes))
    else:
        left.imshow(face, cmap="gray", vmin=0, vmax=255)
    left.axis("off")
    left.set_title("unlabelled" if true_label is None else f"true: {EMOTIONS[true_label]}")
    wrong = "steelblue" if true_label is None else "firebrick"
    colours = ["seagreen" if i == true_label else wrong if i == predicted else "0.6" for i in range(len(EMOTIONS))]
    right.barh(EMOTIONS, probabilities, color=colours)
    for i, p in enumerate(probabilities):
        right.text(min(p + 0.02, 0.9), i, f"{p:.2f}", va="center", fontsize=8)
    right.set_xlim(0, 1)
    right.invert_yaxis()
    right.set_xlabel("probability")
    verdict = "" if true_label is None else ", right" if predicted == true_label else ", wrong"
    right.set_title(f"predicted: {EMOTIONS[predicted]} ({probabilities[predicted]:.2f}){verdict}")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def confusion_matrix(confusion: pd.DataFrame, title: str = "Confusion matrix (rows: true emotion)"):
    """Row-normalized confusion matrix (true x predicted): each cell the share of that true emotion, with counts."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    shares = confusion.div(confusion.sum(axis=1).replace(0, 1), axis=0)
    labels = np.array([[f"{s:.0%}\n{c}" for s, c in zip(srow, crow)] for srow, crow in zip(shares.values, confusion.values)])
    figure, ax = plt.subplots(figsize=(7.5, 6))
    sns.heatmap(shares, annot=labels, fmt="", cmap="Blues", vmin=0, vmax=1, cbar_kws={"label": "share of true emotion"},
                annot_kws={"fontsize": 8}, ax=ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    figure.tight_layout()
    return figure


def per_class_comparison(recalls: dict[str, pd.Series]):
    """Per-emotion accuracy (recall) of several models as grouped bars: {model name: recall by emotion}."""
    import matplotlib.pyplot as plt

    frame = pd.DataFrame(recalls) * 100
    figure, ax = plt.subplots(figsize=(9, 4))
    frame.plot.bar(ax=ax, rot=0, width=0.8)
    ax.set_ylabel("PublicTest accuracy (recall), %")
    ax.set_ylim(0, 100)
    ax.set_title("Per-emotion accuracy")
    ax.legend(loc="upper left")
    figure.tight_layout()
    return figure


def emotion_timeline(rows: list[dict], title: str = ""):
    """Each emotion's probability over a video's time, for the largest face of each sampled frame (fer_lib.predict rows)."""
    import matplotlib.pyplot as plt

    frame = pd.DataFrame([row for row in rows if row["face"] == 0]).sort_values("timestamp_s")
    figure, ax = plt.subplots(figsize=(9, 3.5))
    for emotion in EMOTIONS:
        ax.plot(frame["timestamp_s"], frame[emotion], marker=".", label=emotion)
    ax.set(xlabel="time (s)", ylabel="probability", ylim=(0, 1), title=f"{title}: largest face per sampled frame")
    ax.legend(ncol=7, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return figure


def robustness_curves(tables: dict[str, pd.DataFrame]):
    """Accuracy against severity, one panel per condition, one line per model (fer_lib.robustness tables)."""
    import matplotlib.pyplot as plt

    conditions = list(dict.fromkeys(c for t in tables.values() for c in t["condition"] if c != "clean"))
    columns = min(4, len(conditions))
    rows = -(-len(conditions) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, condition in zip(axes.flat, conditions):
        for model, table in tables.items():
            clean = table.loc[table["condition"] == "clean", "accuracy"].iloc[0]
            part = table[table["condition"] == condition]
            ax.plot([0, *part["severity"]], [clean, *part["accuracy"]], marker="o", markersize=3, label=model)
        ax.set_title(condition, fontsize=9)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(conditions):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("severity")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(fontsize=7)
    figure.tight_layout()
    return figure


def conditions_grid(faces: np.ndarray, conditions, severities=(0, 1, 2, 3, 4, 5), seed: int = 0):
    """The same faces under every condition (rows) and severity (columns): what each severity means."""
    import matplotlib.pyplot as plt

    from .conditions import apply

    faces = np.asarray(faces)
    figure, axes = plt.subplots(len(conditions), len(severities) * len(faces),
                                figsize=(0.9 * len(severities) * len(faces), 0.95 * len(conditions)), squeeze=False)
    for r, condition in enumerate(conditions):
        for c, severity in enumerate(severities):
            for k, face in enumerate(apply(condition, faces, severity, seed)):
                ax = axes[r, c * len(faces) + k]
                ax.imshow(face, cmap="gray", vmin=0, vmax=255)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0 and k == 0:
                    ax.set_title(f"severity {severity}", fontsize=7, loc="left")
        axes[r, 0].set_ylabel(condition, fontsize=7, rotation=0, ha="right", va="center")
    figure.subplots_adjust(wspace=0.03, hspace=0.05)
    return figure


def faces_found(table: pd.DataFrame):
    """The share of faces found against severity, one panel per condition, one line per detector, averaged over the
    face sizes (robustness.end_to_end rows)."""
    import matplotlib.pyplot as plt

    clean = table[table["condition"] == "clean"]
    conditions = [c for c in dict.fromkeys(table["condition"]) if c != "clean"]
    columns = min(4, len(conditions))
    rows = -(-len(conditions) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, condition in zip(axes.flat, conditions):
        for detector in dict.fromkeys(table["detector"]):
            part = pd.concat([clean[clean["detector"] == detector],
                              table[(table["condition"] == condition) & (table["detector"] == detector)]])
            found = part.groupby("severity")["found"].mean() * 100
            ax.plot(found.index, found.values, marker="o", markersize=3, label=detector)
        ax.set_title(condition, fontsize=9)
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(conditions):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    figure.supxlabel("severity (0: clean)")
    figure.supylabel("faces found, %")
    figure.tight_layout()
    return figure


def detector_timelines(rows: dict[str, list[dict]], seconds: float, labels: pd.DataFrame | None = None):
    """Per detector, where in a video it found the face (the likeliest emotion's probability, coloured by emotion)
    and where it lost it (a grey band); `rows`: {detector: fer_lib.predict rows}; `labels`: what happens when (a
    frame with timestamp_s and descriptive columns, drawn on a top panel)."""
    import matplotlib.pyplot as plt

    panels = len(rows) + (labels is not None)
    figure, axes = plt.subplots(panels, 1, figsize=(9, 1.5 * panels + 0.5), sharex=True, squeeze=False)
    axes = list(axes[:, 0])
    if labels is not None:
        ax = axes.pop(0)
        for column in labels.columns.drop("timestamp_s"):
            values = labels[column] / labels[column].abs().max()
            ax.plot(labels["timestamp_s"], values, label=column)
        ax.set(ylabel="scaled", ylim=(0, 1.05))
        ax.legend(fontsize=7, loc="center left")
    colours = dict(zip(EMOTIONS, plt.get_cmap("tab10").colors))
    for ax, (detector, found) in zip(axes, rows.items()):
        largest = pd.DataFrame([row for row in found if row["face"] == 0])
        seen = set(largest["timestamp_s"]) if len(largest) else set()
        for second in range(int(np.ceil(seconds))):
            if second not in seen:
                ax.axvspan(second - 0.5, second + 0.5, color="0.6", alpha=0.35, lw=0)
        for emotion, part in (largest.groupby("emotion") if len(largest) else []):
            ax.scatter(part["timestamp_s"], part["probability"], color=colours[emotion], label=emotion, s=25)
        ax.set(ylabel=detector, ylim=(0, 1.05))
        ax.legend(fontsize=7, loc="lower left", ncol=4)
    axes[-1].set_xlabel("time (s); grey: no face found")
    figure.tight_layout()
    return figure


def detections_grid(frames: list[np.ndarray], boxes: dict[str, list[np.ndarray]], titles: list[str]):
    """Frames side by side, each detector's boxes drawn in its own colour ({detector: boxes per frame})."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    figure, axes = plt.subplots(1, len(frames), figsize=(2.6 * len(frames), 3), squeeze=False)
    colours = dict(zip(boxes, plt.get_cmap("tab10").colors))
    for i, (ax, frame, title) in enumerate(zip(axes[0], frames, titles)):
        ax.imshow(frame, cmap="gray", vmin=0, vmax=255)
        for detector, found in boxes.items():
            for x, y, w, h in found[i]:
                ax.add_patch(Rectangle((x, y), w, h, fill=False, lw=1.5, color=colours[detector]))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    figure.legend([Rectangle((0, 0), 1, 1, fill=False, color=c) for c in colours.values()], list(colours),
                  loc="lower center", ncol=len(colours), fontsize=8)
    return figure
