"""One analysis report: load sequences, score every tracker, write tables and plots.

Outputs go to ``<result_plot_path>/<report name>/``: ``summary.csv``, ``summary.md``,
``per_sequence.csv`` (box datasets: ``<tracker>_auc`` and ``<tracker>_avg_overlap_valid`` per sequence),
``per_object.csv`` (VOS), ``attributes.csv`` (datasets with
attributes) and, with plotting on, ``success.png``, ``precision.png``, ``norm_precision.png``,
``attributes.png``. Every file is written atomically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError, UnknownNameError
from ..evaluation.data import Sequence
from ..evaluation.tracker_spec import TrackerSpec
from ..settings import EnvSettings
from ..utils.io import atomic_write_text
from . import box_metrics, plots, tables
from .dataset_rules import rules_for
from .evaluate import TrackerEvaluation, evaluate_boxes, evaluate_vos, filter_missing, group_specs, metric_families
from .vos_categories import dataset_year, load_categories

# Datasets whose attribute files PyTracking analyses per attribute.
ATTRIBUTE_DATASETS = ("lasot", "lasot_extension_subset", "uav", "otb")


@dataclass
class ReportOptions:
    """What to analyse and how (the command-line arguments)."""

    dataset: str
    trackers: list[TrackerSpec]
    report_name: str | None = None
    protocol: str = "pytracking"
    plot: bool = False
    skip_missing: bool = False
    dataset_path: str | None = None
    attribute_mode: str = "short"

    @property
    def name(self) -> str:
        return self.report_name or self.dataset


@dataclass
class Report:
    """Computed evaluations and the files written."""

    folder: Path
    evaluations: list[TrackerEvaluation]
    rows: list[dict[str, Any]]
    columns: list[str]
    sequences: list[str]
    skipped: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def load_sequences(name: str, settings: EnvSettings, root: str | None = None) -> list[Sequence]:
    """The evaluation sequences of dataset ``name`` (through the dataset registry)."""
    from ..datasets import get_dataset

    return list(get_dataset(name, settings=settings, root=root))


def load_attribute_subsets(
    name: str, mode: str, sequences: Seq[Sequence], settings: EnvSettings, root: str | None = None
) -> dict[str, list[str]]:
    """Attribute -> names of the evaluated sequences having it (empty when the dataset has none)."""
    if any(seq.attributes for seq in sequences):
        subsets: dict[str, list[str]] = defaultdict(list)
        for seq in sequences:
            for attribute in seq.attributes:
                subsets[attribute].append(seq.name)
        return dict(sorted(subsets.items()))
    if name not in ATTRIBUTE_DATASETS:
        return {}
    from ..datasets import get_dataset_attributes

    try:
        per_attribute = get_dataset_attributes(name, mode=mode, settings=settings, root=root)
    except TypeError:  # a registry without settings/root keywords
        per_attribute = get_dataset_attributes(name, mode)
    evaluated = {seq.name for seq in sequences}
    subsets = {attr: [s.name for s in seqs if s.name in evaluated] for attr, seqs in per_attribute.items()}
    if list(subsets) == [name]:  # no attribute file: the registry returned the whole dataset
        return {}
    return subsets


def _youtubevos_categories(options: ReportOptions, settings: EnvSettings):
    root = options.dataset_path or settings.youtubevos_dir
    year = dataset_year(options.dataset)
    if not root or year is None or not (Path(root) / year).is_dir():
        return None, None
    return load_categories(Path(root), year)


def evaluate_all(options: ReportOptions, sequences: list[Sequence], settings: EnvSettings) -> list[TrackerEvaluation]:
    families = metric_families(sequences)
    groups = group_specs(options.trackers)
    categories = seen = None
    if "vos" in families and any(seq.dataset == "YouTubeVOS" for seq in sequences):
        categories, seen = _youtubevos_categories(options, settings)
    evaluations = []
    for group in groups:
        ev = TrackerEvaluation(group)
        if families & {"box", "got10k"}:
            box_seqs = [s for s in sequences if {"box", "got10k"} & set(_families(s))]
            evaluate_boxes(box_seqs, group, settings, options.protocol, got10k="got10k" in families, result=ev)
        if "vos" in families:
            vos_seqs = [s for s in sequences if "vos" in _families(s)]
            evaluate_vos(vos_seqs, group, settings, categories, seen, result=ev)
        evaluations.append(ev)
    return evaluations


def _families(seq: Sequence) -> tuple[str, ...]:
    return rules_for(seq.dataset).families


def _attribute_rows(evaluations: Seq[TrackerEvaluation], subsets: dict[str, list[str]]) -> list[dict]:
    rows = []
    for ev in evaluations:
        for attribute, names in subsets.items():
            scores = ev.subset_scores(names)
            rows.append(
                {
                    "tracker": ev.group.name,
                    "param": ev.group.param,
                    "attribute": attribute,
                    "sequences": len(names),
                    "auc": scores.auc if scores else None,
                    "precision": scores.precision if scores else None,
                }
            )
    return rows


def _write_plots(report: Report, name: str) -> None:
    evs = [ev for ev in report.evaluations if ev.curves is not None]
    if not evs:
        return
    labels = [ev.group.label for ev in evs]
    specs = [
        ("success.png", box_metrics.OVERLAP_THRESHOLDS, "success", lambda s: s.auc, plots.SUCCESS_STYLE),
        ("precision.png", box_metrics.PRECISION_THRESHOLDS, "precision", lambda s: s.precision, plots.PRECISION_STYLE),
        (
            "norm_precision.png",
            box_metrics.NORM_PRECISION_THRESHOLDS,
            "norm_precision",
            lambda s: s.norm_precision,
            plots.NORM_PRECISION_STYLE,
        ),
    ]
    for filename, thresholds, attr, score, style in specs:
        report.files.append(
            plots.plot_curves(
                report.folder / filename,
                thresholds,
                [getattr(ev.curves, attr) for ev in evs],
                labels,
                [score(ev.scores) for ev in evs],
                style,
                name,
            )
        )
    if report.attributes:
        attributes = list(report.attributes)
        values = np.array(
            [[getattr(ev.subset_scores(report.attributes[a]), "auc", np.nan) for a in attributes] for ev in evs],
            dtype=np.float64,
        )
        report.files.append(
            plots.plot_attribute_bars(report.folder / "attributes.png", attributes, labels, values, name)
        )


def run_report(options: ReportOptions, settings: EnvSettings, sequences: list[Sequence] | None = None) -> Report:
    """Evaluate ``options.trackers`` on the dataset and write the report folder."""
    if options.protocol not in box_metrics.PROTOCOLS:
        raise UnknownNameError(
            f"unknown protocol '{options.protocol}'; known: {', '.join(box_metrics.PROTOCOLS.names())}"
        )
    if sequences is None:
        sequences = load_sequences(options.dataset, settings, options.dataset_path)
    if not sequences:
        raise DatasetError(f"dataset '{options.dataset}' has no sequences")
    groups = group_specs(options.trackers)
    kept, skipped = filter_missing(list(sequences), groups, settings, options.skip_missing)
    if not kept:
        raise DatasetError(
            f"dataset '{options.dataset}': no sequence has results for every tracker ({len(skipped)} skipped)"
        )
    evaluations = evaluate_all(options, kept, settings)
    rows = [tables.summary_row(ev, options.dataset, len(kept)) for ev in evaluations]
    columns = tables.summary_columns(rows)
    folder = Path(settings.result_plot_path) / options.name
    report = Report(folder, evaluations, rows, columns, [s.name for s in kept], skipped)
    report.files.append(tables.write_csv(folder / "summary.csv", rows, columns))
    markdown = tables.to_markdown(rows, columns, title=options.name)
    atomic_write_text(folder / "summary.md", markdown)
    report.files.append(folder / "summary.md")
    if any(ev.per_sequence for ev in evaluations):
        seq_rows = tables.per_sequence_rows(evaluations, report.sequences)
        report.files.append(tables.write_csv(folder / "per_sequence.csv", seq_rows, list(seq_rows[0])))
        report.attributes = load_attribute_subsets(
            options.dataset, options.attribute_mode, kept, settings, options.dataset_path
        )
        if report.attributes:
            attr_rows = _attribute_rows(evaluations, report.attributes)
            report.files.append(tables.write_csv(folder / "attributes.csv", attr_rows, list(attr_rows[0])))
    if any(ev.vos_objects for ev in evaluations):
        obj_rows = tables.per_object_rows(evaluations)
        report.files.append(tables.write_csv(folder / "per_object.csv", obj_rows, list(obj_rows[0])))
    if options.plot:
        _write_plots(report, options.name)
    return report
