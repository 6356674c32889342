"""Target-presence precision, recall and F1 of per-frame presence scores (docs/metrics.md "Presence").

Ground truth is the dataset's absence marker: LaSOT's ``full_occlusion.txt`` / ``out_of_view.txt``
(``Sequence.target_visible``), else a ground-truth box without positive finite size (GOT-10k,
UAV123's NaN rows). A frame counts as *declared present* when its score is at least the threshold.
Two views of the same decisions are reported:

- **present** (positive = target visible): precision = visible / declared present, recall =
  declared present / visible;
- **absent** (positive = target absent; what a ``lost = score < threshold`` flag detects):
  precision = absent / declared absent, recall = declared absent / absent.

Sequences with no absent frame contribute to both (their declared-absent frames are false
alarms). The init frame is left out: its score is given, not measured. The threshold sweep
reports the threshold with the largest absent F1 (ties: the smallest threshold).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ResultsError
from ..evaluation.data import Sequence

# The sweep: 0.00, 0.01, ..., 1.00 (presence scores live in [0, 1]).
SWEEP_THRESHOLDS = np.round(np.linspace(0.0, 1.0, 101), 2)


@dataclass(frozen=True)
class PresenceScores:
    """Presence classification at one threshold (ratios in [0, 1]; NaN where undefined)."""

    threshold: float
    frames: int
    absent_frames: int
    precision: float
    recall: float
    f1: float
    absent_precision: float
    absent_recall: float
    absent_f1: float


@dataclass(frozen=True)
class PresenceSummary:
    """The sweep's best threshold and, when given, the scores at a chosen threshold."""

    best: PresenceScores
    at_threshold: PresenceScores | None = None
    sequences: int = 0


def _ratio(num: int, den: int) -> float:
    return num / den if den > 0 else float("nan")


def _f1(precision: float, recall: float) -> float:
    if math.isnan(precision) or math.isnan(recall):
        return float("nan")
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _as_arrays(scores: Iterable[float], present: Iterable[bool]) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(list(scores) if not isinstance(scores, np.ndarray) else scores, dtype=np.float64).ravel()
    v = np.asarray(list(present) if not isinstance(present, np.ndarray) else present, dtype=bool).ravel()
    if s.shape != v.shape:
        raise ValueError(f"{s.size} presence scores for {v.size} ground-truth frames")
    if np.isnan(s).any():
        raise ValueError("presence scores contain NaN")
    return s, v


def presence_at(scores: Iterable[float], present: Iterable[bool], threshold: float) -> PresenceScores:
    """Precision / recall / F1 of ``score >= threshold`` against ``present`` (both per frame)."""
    s, v = _as_arrays(scores, present)
    declared = s >= threshold
    tp = int((declared & v).sum())
    fp = int((declared & ~v).sum())
    fn = int((~declared & v).sum())
    tn = int((~declared & ~v).sum())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    absent_precision, absent_recall = _ratio(tn, tn + fn), _ratio(tn, tn + fp)
    return PresenceScores(
        threshold=float(threshold),
        frames=int(s.size),
        absent_frames=int((~v).sum()),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        absent_precision=absent_precision,
        absent_recall=absent_recall,
        absent_f1=_f1(absent_precision, absent_recall),
    )


def presence_sweep(
    scores: Iterable[float], present: Iterable[bool], thresholds: Seq[float] | np.ndarray = SWEEP_THRESHOLDS
) -> list[PresenceScores]:
    """:func:`presence_at` for every threshold of the sweep."""
    s, v = _as_arrays(scores, present)
    return [presence_at(s, v, float(t)) for t in thresholds]


def best_threshold(sweep: Seq[PresenceScores]) -> PresenceScores:
    """The entry with the largest absent F1 (NaN counts as -1; ties: the smallest threshold)."""
    if not sweep:
        raise ValueError("empty threshold sweep")
    return max(sweep, key=lambda r: (-1.0 if math.isnan(r.absent_f1) else r.absent_f1, -r.threshold))


def summarize(
    scores: Iterable[float], present: Iterable[bool], threshold: float | None = None, sequences: int = 0
) -> PresenceSummary:
    """Sweep, best threshold and (with ``threshold``) the scores at the chosen threshold."""
    s, v = _as_arrays(scores, present)
    best = best_threshold(presence_sweep(s, v))
    chosen = None if threshold is None else presence_at(s, v, threshold)
    return PresenceSummary(best, chosen, sequences)


def ground_truth_presence(seq: Sequence) -> np.ndarray:
    """Per-frame bool: the target is in view (dataset absence flags, else a box with positive size)."""
    if seq.target_visible is not None:
        return np.asarray(seq.target_visible, dtype=bool).ravel()
    gt = seq.ground_truth_rect
    if isinstance(gt, dict):
        raise ValueError(f"sequence '{seq.name}': presence needs a single-object sequence")
    boxes = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    finite = np.isfinite(boxes).all(axis=1)
    return finite & (np.nan_to_num(boxes[:, 2]) > 0) & (np.nan_to_num(boxes[:, 3]) > 0)


def presence_file(results_dir: Path, seq_name: str) -> Path:
    """``<results_dir>/<seq>_object_presence_scores.txt`` (the runner's name for the file)."""
    return Path(results_dir) / f"{seq_name}_object_presence_scores.txt"


def read_presence_scores(path: str | Path) -> np.ndarray:
    """One score per line as float64; :class:`ResultsError` naming the file (and line) otherwise."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ResultsError(f"{path}: presence file not found") from None
    except (UnicodeDecodeError, OSError) as err:
        raise ResultsError(f"{path}: cannot read presence file ({type(err).__name__})") from None
    values = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            value = float(line)
        except ValueError:
            raise ResultsError(f"{path}: line {lineno} is not a number: {line[:60]!r}") from None
        if math.isnan(value):
            raise ResultsError(f"{path}: line {lineno} is NaN")
        values.append(value)
    if not values:
        raise ResultsError(f"{path}: presence file is empty")
    return np.asarray(values, dtype=np.float64)


def sequence_frames(seq: Sequence, scores: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ground truth of the scored frames (all but the init frame) of one sequence."""
    present = ground_truth_presence(seq)
    if scores.size != present.size:
        raise ResultsError(f"{source}: {scores.size} presence scores, the sequence has {present.size} frames")
    return scores[1:], present[1:]


def format_summary(label: str, summary: PresenceSummary, threshold_name: str = "presence_threshold") -> str:
    """Two lines for the command line: the sweep's best threshold and the chosen threshold."""

    def row(r: PresenceScores) -> str:
        pct = lambda x: "nan" if math.isnan(x) else f"{100 * x:.1f}"  # noqa: E731 - local formatter
        return (
            f"present P/R/F1 {pct(r.precision)}/{pct(r.recall)}/{pct(r.f1)}, "
            f"absent P/R/F1 {pct(r.absent_precision)}/{pct(r.absent_recall)}/{pct(r.absent_f1)}"
        )

    b = summary.best
    lines = [
        f"{label}: {summary.sequences} sequences, {b.frames} frames ({b.absent_frames} absent); "
        f"best threshold {b.threshold:.2f}: {row(b)}"
    ]
    if summary.at_threshold is not None:
        a = summary.at_threshold
        lines.append(f"{label}: at {threshold_name} {a.threshold:.2f}: {row(a)}")
    return "\n".join(lines)
