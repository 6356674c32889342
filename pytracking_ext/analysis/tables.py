"""Result tables: rows as dicts, written as CSV and Markdown (percent values, 2 decimals)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.io import atomic_write_text
from .evaluate import TrackerEvaluation

BOX_COLUMNS = ("auc", "op50", "op75", "precision", "norm_precision")
GOT_COLUMNS = ("ao", "sr50", "sr75")
VOS_COLUMNS = ("J", "F", "JF", "J_recall", "J_decay", "F_recall", "F_decay")
YTVOS_COLUMNS = ("J_seen", "F_seen", "J_unseen", "F_unseen", "overall")
# target presence (pytracking_ext.analysis.presence_metrics): at the parameter set's threshold, and
# the sweep's best F1 for detecting absent frames with its threshold
PRESENCE_COLUMNS = (
    "presence_threshold",
    "presence_precision",
    "presence_recall",
    "absent_precision",
    "absent_recall",
    "absent_f1_best",
    "absent_f1_best_threshold",
)


def format_value(value: Any) -> str:
    """Floats with 2 decimals; missing or NaN values as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.2f}"
    return str(value)


def summary_row(ev: TrackerEvaluation, dataset: str, num_sequences: int) -> dict[str, Any]:
    """One summary row; columns of metric families that were not computed stay empty."""
    row: dict[str, Any] = {"tracker": ev.group.name, "param": ev.group.param, "dataset": dataset}
    s = ev.scores
    row.update({c: (getattr(s, c) if s else None) for c in BOX_COLUMNS})
    if ev.got is not None:
        row.update(ao=ev.got.ao, sr50=ev.got.sr50, sr75=ev.got.sr75)
    if ev.vos is not None:
        v = ev.vos
        row.update(
            J=v.j_mean,
            F=v.f_mean,
            JF=v.jf,
            J_recall=v.j_recall,
            J_decay=v.j_decay,
            F_recall=v.f_recall,
            F_decay=v.f_decay,
        )
    if ev.seen_unseen is not None:
        su = ev.seen_unseen
        row.update(J_seen=su.j_seen, F_seen=su.f_seen, J_unseen=su.j_unseen, F_unseen=su.f_unseen, overall=su.overall)
    row.update(presence_columns(ev))
    row.update(runs=len(ev.group.runs), sequences=num_sequences)
    return row


def presence_columns(ev: TrackerEvaluation) -> dict[str, float]:
    """The presence columns of one tracker (none when its results hold no presence scores)."""
    if ev.presence is None:
        return {}
    best, chosen = ev.presence.best, ev.presence.at_threshold
    out = {"absent_f1_best": 100 * best.absent_f1, "absent_f1_best_threshold": best.threshold}
    if chosen is not None:
        out.update(
            presence_threshold=chosen.threshold,
            presence_precision=100 * chosen.precision,
            presence_recall=100 * chosen.recall,
            absent_precision=100 * chosen.absent_precision,
            absent_recall=100 * chosen.absent_recall,
        )
    return out


def summary_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    present = {k for r in rows for k in r}
    columns = ["tracker", "param", "dataset", *BOX_COLUMNS]
    for group in (GOT_COLUMNS, VOS_COLUMNS, YTVOS_COLUMNS, PRESENCE_COLUMNS):
        if present & set(group):
            columns.extend(group)
    return columns + ["runs", "sequences"]


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_value(row.get(c)) for c in columns])
    return buffer.getvalue()


def to_markdown(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str = "") -> str:
    lines = [f"# {title}", ""] if title else []
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        lines.append("| " + " | ".join(format_value(row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Path:
    atomic_write_text(path, to_csv(rows, columns))
    return path


def per_sequence_rows(evaluations: Sequence[TrackerEvaluation], sequence_names: Sequence[str]) -> list[dict]:
    """Per-sequence scores in percent, two columns per tracker, each named by its metric.

    ``<tracker>_auc``: area under the success curve (the summary's ``auc`` is the mean of this
    column); ``<tracker>_avg_overlap_valid``: mean IoU over the frames with a valid target only.
    The second alone, under a bare tracker name, read as contradicting the summary AUC (issue 20,
    item 5; docs/metrics.md).
    """
    rows = []
    for name in sequence_names:
        row: dict[str, Any] = {"sequence": name}
        for ev in evaluations:
            curves = ev.per_sequence.get(name)
            label = ev.group.label
            row[f"{label}_auc"] = float(np.mean(curves.success)) * 100.0 if curves is not None else None
            row[f"{label}_avg_overlap_valid"] = curves.avg_overlap * 100.0 if curves is not None else None
            if ev.got is not None:
                row[f"{ev.group.label}_got_ao"] = ev.got_per_sequence.get(name)
        rows.append(row)
    return rows


def per_object_rows(evaluations: Sequence[TrackerEvaluation]) -> list[dict]:
    """Per-object VOS means (percent): one row per tracker and object."""
    rows = []
    for ev in evaluations:
        for obj in ev.vos_objects:
            rows.append(
                {
                    "tracker": ev.group.name,
                    "param": ev.group.param,
                    "sequence": obj.sequence,
                    "object": obj.object_id,
                    "category": obj.category or "",
                    "J": obj.j_stats.mean * 100.0,
                    "F": obj.f_stats.mean * 100.0,
                    "J_recall": obj.j_stats.recall * 100.0,
                    "J_decay": obj.j_stats.decay * 100.0,
                }
            )
    return rows
