"""How far a classifier's scores are from the frequencies they claim.

Expected calibration error (ECE) over the top label: messages are binned by their top
score; in each bin the gap between the mean score and the share of correct labels is
weighted by the bin's size. 0 means "a score of 0.8 is right 8 times in 10".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_score: float
    accuracy: float


def reliability(proba: np.ndarray, truth: Sequence[int], bins: int = BINS) -> list[ReliabilityBin]:
    """Bins of the top score with their mean score and accuracy (empty bins left out)."""
    proba = np.asarray(proba, dtype=float)
    if len(proba) == 0:
        return []
    top = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(truth)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(top, edges[1:-1], right=True), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append(
                ReliabilityBin(
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(mask.sum()),
                    float(top[mask].mean()),
                    float(correct[mask].mean()),
                )
            )
    return out


def expected_calibration_error(proba: np.ndarray, truth: Sequence[int], bins: int = BINS) -> float:
    cells = reliability(proba, truth, bins)
    total = sum(c.count for c in cells)
    if total == 0:
        return 0.0
    return float(sum(c.count * abs(c.mean_score - c.accuracy) for c in cells) / total)


def plot_reliability(curves: dict[str, list[ReliabilityBin]], png_path: Path | str) -> Path:
    """Reliability diagram: accuracy against mean score per bin, one line per data set."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 5))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    for name, cells in curves.items():
        ax.plot([c.mean_score for c in cells], [c.accuracy for c in cells], marker="o", label=name)
    ax.set_xlabel("top score (mean in bin)")
    ax.set_ylabel("share correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize="small")
    path = Path(png_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path
