"""PNG plots of the analysis (matplotlib with the Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..utils.io import atomic_write_bytes


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class CurveStyle:
    """Axis texts, limits and legend corner of one kind of curve plot."""

    xlabel: str
    ylabel: str
    xlim: tuple[float, float]
    legend_loc: str
    title: str


SUCCESS_STYLE = CurveStyle("Overlap threshold", "Overlap Precision [%]", (0.0, 1.0), "upper right", "Success plot")
PRECISION_STYLE = CurveStyle(
    "Location error threshold [pixels]", "Distance Precision [%]", (0.0, 50.0), "lower right", "Precision plot"
)
NORM_PRECISION_STYLE = CurveStyle(
    "Location error threshold", "Distance Precision [%]", (0.0, 0.5), "lower right", "Normalized precision plot"
)


def _save(fig, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def plot_curves(
    path: Path,
    thresholds: np.ndarray,
    curves: Sequence[np.ndarray],
    labels: Sequence[str],
    scores: Sequence[float],
    style: CurveStyle,
    report_name: str = "",
) -> Path:
    """One line per tracker (curves as fractions), legend ``name [score]`` sorted by score."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    for i in order:
        ax.plot(thresholds, np.asarray(curves[i]) * 100.0, linewidth=2, label=f"{labels[i]} [{scores[i]:.1f}]")
    ax.set_xlabel(style.xlabel)
    ax.set_ylabel(style.ylabel)
    ax.set_xlim(*style.xlim)
    ax.set_ylim(0, 100)
    ax.grid(True, linestyle=":")
    ax.set_title(f"{style.title} {report_name}".strip())
    ax.legend(loc=style.legend_loc)
    return _save(fig, path)


def plot_attribute_bars(
    path: Path, attributes: Sequence[str], labels: Sequence[str], values: np.ndarray, report_name: str = ""
) -> Path:
    """Grouped bars of per-attribute AUC (rows: trackers, columns: attributes); legend shows their mean."""
    plt = _pyplot()
    values = np.asarray(values, np.float64)
    fig, ax = plt.subplots(figsize=(max(6.4, 0.6 * len(attributes) * max(1, len(labels))), 4.8))
    width = 0.8 / max(1, len(labels))
    x = np.arange(len(attributes))
    for k, label in enumerate(labels):
        mean = np.nanmean(values[k]) if np.isfinite(values[k]).any() else float("nan")
        ax.bar(x + k * width - 0.4 + width / 2, np.nan_to_num(values[k]), width, label=f"{label} [{mean:.1f}]")
    ax.set_xticks(x)
    ax.set_xticklabels(attributes, rotation=45, ha="right")
    ax.set_ylabel("Success AUC [%]")
    ax.set_ylim(0, 100)
    ax.set_title(f"Per-attribute success AUC {report_name}".strip())
    ax.legend(loc="upper right")
    return _save(fig, path)
