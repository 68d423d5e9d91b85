"""The special-conditions benchmark: a model's PublicTest accuracy under every condition and severity.

One row per (condition, severity) with the accuracy and the drop against the clean faces; the summary figure
of a model is its mean accuracy over all conditions and severities.
"""
from __future__ import annotations

import pandas as pd

from .conditions import CONDITIONS, SEVERITIES, apply
from .dataset import Subset

MIDDLE_SEVERITY = 3


def benchmark(model, subset: Subset, conditions=tuple(CONDITIONS), severities=SEVERITIES, seed: int = 0,
              progress: bool = False) -> pd.DataFrame:
    """Accuracy of `model` on `subset` clean (condition "clean", severity 0) and under each condition x severity."""
    from .evaluation import score
    from .inference import predict_proba

    clean = score(subset.y, predict_proba(model, subset.x).argmax(axis=1)).accuracy
    rows = [{"condition": "clean", "severity": 0, "accuracy": clean, "drop": 0.0}]
    for name in conditions:
        for severity in severities:
            shifted = apply(name, subset.x, severity, seed)
            accuracy = score(subset.y, predict_proba(model, shifted).argmax(axis=1)).accuracy
            rows.append({"condition": name, "severity": severity, "accuracy": accuracy, "drop": clean - accuracy})
            if progress:
                print(f"{name} {severity}: {accuracy:.4f}", flush=True)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> dict:
    """Clean accuracy, the mean over all conditions and severities, and per condition its mean and middle-severity drop."""
    shifted = table[table["condition"] != "clean"]
    per_condition = shifted.groupby("condition", sort=False)
    return {
        "clean_accuracy": float(table.loc[table["condition"] == "clean", "accuracy"].iloc[0]),
        "mean_accuracy": float(shifted["accuracy"].mean()),
        "per_condition_mean": {name: float(v) for name, v in per_condition["accuracy"].mean().items()},
        f"drop_at_severity_{MIDDLE_SEVERITY}": {
            name: float(group.loc[group["severity"] == MIDDLE_SEVERITY, "drop"].iloc[0])
            for name, group in per_condition if (group["severity"] == MIDDLE_SEVERITY).any()},
    }


def accuracy_grid(table: pd.DataFrame) -> pd.DataFrame:
    """Accuracy as condition x severity (the clean accuracy as column 0 of every row)."""
    clean = float(table.loc[table["condition"] == "clean", "accuracy"].iloc[0])
    grid = table[table["condition"] != "clean"].pivot(index="condition", columns="severity", values="accuracy")
    grid = grid.loc[list(dict.fromkeys(table.loc[table["condition"] != "clean", "condition"]))]
    grid.insert(0, 0, clean)
    grid["mean"] = grid.drop(columns=0).mean(axis=1)
    return grid


def to_dict(table: pd.DataFrame) -> dict:
    """JSON-ready: the rows and the summary."""
    return {"rows": table.to_dict(orient="records"), "summary": summary(table)}


def markdown(numbers: dict) -> str:
    """A robustness JSON (rows + summary) as the README's table: accuracy in % by condition and severity."""
    grid = accuracy_grid(pd.DataFrame(numbers["rows"])) * 100
    severities = [c for c in grid.columns if c != "mean"]
    lines = ["| condition | clean | " + " | ".join(map(str, severities[1:])) + " |", "|---" * len(severities) + "|---|"]
    lines += [f"| {name} | " + " | ".join(f"{row[c]:.1f}" for c in severities) + " |" for name, row in grid.iterrows()]
    return "\n".join(lines)


def comparison_markdown(models: dict[str, dict]) -> str:
    """Several models' robustness JSON ({name: rows + summary}) as one table: clean and mean accuracy, and each
    condition's drop at the middle severity, in points."""
    names = list(models)
    summaries = {name: numbers["summary"] for name, numbers in models.items()}
    key = f"drop_at_severity_{MIDDLE_SEVERITY}"
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
             "| clean accuracy, % | " + " | ".join(f"{summaries[n]['clean_accuracy'] * 100:.1f}" for n in names) + " |",
             "| mean over all conditions and severities, % | "
             + " | ".join(f"{summaries[n]['mean_accuracy'] * 100:.1f}" for n in names) + " |"]
    for condition in summaries[names[0]][key]:
        lines.append(f"| {condition}: points lost at severity {MIDDLE_SEVERITY} | "
                     + " | ".join(f"{summaries[n][key][condition] * 100:.1f}" for n in names) + " |")
    return "\n".join(lines)
