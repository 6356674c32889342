"""Scoring result folders of several trackers on one list of sequences.

Runs of one tracker/parameter pair form a :class:`TrackerGroup`; as in PyTracking, their
per-sequence curves are averaged across runs first and then over sequences. A sequence with a
missing result file for any run of any tracker is either an error or, with ``skip_missing``,
dropped for every tracker so all rows of a table cover the same sequences. Presence scores
(``<seq>_object_presence_scores.txt``) are scored with the box metrics where every run has them
(:mod:`.presence_metrics`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import ImageReadError, PytrackingError, ResultsError
from ..evaluation.data import Sequence
from ..evaluation.tracker_spec import TrackerSpec
from ..settings import EnvSettings
from ..utils.io import image_size, imread_indexed
from . import box_metrics, got10k_metrics, presence_metrics, vos_metrics
from .dataset_rules import rules_for
from .results_io import box_results_path, mask_results_path, read_boxes, read_mask


@dataclass(frozen=True)
class TrackerGroup:
    """All runs of one tracker/parameter pair, shown as one table row."""

    name: str
    param: str
    runs: tuple[TrackerSpec, ...]
    display_name: str | None = None

    @property
    def label(self) -> str:
        return self.display_name or f"{self.name}_{self.param}"


def group_specs(specs: Iterable[TrackerSpec]) -> list[TrackerGroup]:
    """Merge specs with the same (name, param) into groups, keeping first-seen order."""
    groups: dict[tuple[str, str], list[TrackerSpec]] = {}
    for spec in specs:
        groups.setdefault((spec.name, spec.param), []).append(spec)
    return [TrackerGroup(n, p, tuple(runs), runs[0].display_name) for (n, p), runs in groups.items()]


@dataclass
class TrackerEvaluation:
    """Everything computed for one tracker group."""

    group: TrackerGroup
    per_sequence: dict[str, box_metrics.SequenceCurves] = field(default_factory=dict)
    curves: box_metrics.SequenceCurves | None = None
    scores: box_metrics.BoxScores | None = None
    got: got10k_metrics.GotScores | None = None
    got_per_sequence: dict[str, float] = field(default_factory=dict)
    vos: vos_metrics.VosScores | None = None
    vos_objects: list[vos_metrics.ObjectScores] = field(default_factory=list)
    seen_unseen: vos_metrics.SeenUnseenScores | None = None
    # Pooled (scores, target present) of the frames with presence scores, and their summary.
    presence_frames: tuple[np.ndarray, np.ndarray] | None = None
    presence: presence_metrics.PresenceSummary | None = None

    def subset_scores(self, names: Iterable[str]) -> box_metrics.BoxScores | None:
        """Box scores over the named sequences only (per-attribute analysis)."""
        curves = [self.per_sequence[n] for n in names if n in self.per_sequence]
        if not curves:
            return None
        mean = box_metrics.average_curves(curves)
        return box_metrics.scores_from_curves(mean.success, mean.precision, mean.norm_precision)


def metric_families(sequences: Iterable[Sequence]) -> set[str]:
    """Union of the metric families the sequences' dataset tags call for."""
    return {fam for seq in sequences for fam in rules_for(seq.dataset).families}


def ground_truth_mask_paths(seq: Sequence) -> dict[int, Path]:
    """Frame index -> ground-truth PNG for every annotated frame.

    Loaders may list ``None`` for a frame whose PNG holds no object (PyTracking's DAVIS reader
    does); the official DAVIS protocol still scores such frames, so a PNG named after the frame
    next to the listed ones is used for them.
    """
    listed = list(seq.ground_truth_seg or [])
    folders = {Path(p).parent for p in listed if p is not None}
    stems = seq.frame_names
    paths: dict[int, Path] = {}
    for i, stem in enumerate(stems):
        if i < len(listed) and listed[i] is not None:
            paths[i] = Path(listed[i])
            continue
        sibling = next((f / f"{stem}.png" for f in folders if (f / f"{stem}.png").is_file()), None)
        if sibling is not None:
            paths[i] = sibling
    return paths


def annotated_positions(seq: Sequence) -> list[int]:
    """Frame indices that have a ground-truth mask."""
    return sorted(ground_truth_mask_paths(seq))


def _required_files(seq: Sequence, spec: TrackerSpec, settings: EnvSettings, families: set[str]) -> list[Path]:
    files = []
    if families & {"box", "got10k"}:
        files.append(box_results_path(spec, seq.name, settings))
    if "vos" in families:
        files.extend(mask_results_path(spec, seq, i, settings) for i in annotated_positions(seq)[1:-1])
    return files


def filter_missing(
    sequences: list[Sequence], groups: list[TrackerGroup], settings: EnvSettings, skip_missing: bool
) -> tuple[list[Sequence], list[str]]:
    """Sequences every run has results for, and the names dropped; raise on the first gap otherwise."""
    kept, dropped = [], []
    for seq in sequences:
        families = set(rules_for(seq.dataset).families)
        missing = next(
            (f for g in groups for s in g.runs for f in _required_files(seq, s, settings, families) if not f.is_file()),
            None,
        )
        if missing is None:
            kept.append(seq)
        elif skip_missing:
            dropped.append(seq.name)
        else:
            raise ResultsError(
                f"{missing}: results file not found (sequence '{seq.name}'; "
                "pass --skip-missing to leave such sequences out)"
            )
    return kept, dropped


def _image_wh(seq: Sequence) -> tuple[float, float] | None:
    try:
        height, width = image_size(seq.frames[0])
    except (ImageReadError, IndexError):
        return None
    return float(width), float(height)


def _box_curves(
    seq: Sequence, spec: TrackerSpec, settings: EnvSettings, protocol: str
) -> tuple[box_metrics.SequenceCurves | None, np.ndarray]:
    path = box_results_path(spec, seq.name, settings)
    pred = read_boxes(path)
    anno = np.asarray(seq.ground_truth_rect, np.float64)
    errors = box_metrics.sequence_errors(pred, anno, seq.dataset, seq.target_visible, source=str(path))
    return box_metrics.sequence_curves(errors, protocol), pred


def evaluate_boxes(
    sequences: list[Sequence],
    group: TrackerGroup,
    settings: EnvSettings,
    protocol: str = "pytracking",
    got10k: bool = False,
    result: TrackerEvaluation | None = None,
) -> TrackerEvaluation:
    """Success/precision curves (and GOT-10k AO/SR when ``got10k``) of one tracker group."""
    result = result or TrackerEvaluation(group)
    got_ious = []
    for seq in tqdm(sequences, desc=f"{group.label} boxes", leave=False, disable=len(sequences) < 20):
        run_curves = []
        seq_ious = []
        visible = seq.target_visible
        bound = _image_wh(seq) if got10k else None
        for spec in group.runs:
            curves, pred = _box_curves(seq, spec, settings, protocol)
            if curves is not None:
                run_curves.append(curves)
            if got10k:
                anno = np.asarray(seq.ground_truth_rect, np.float64)
                path = box_results_path(spec, seq.name, settings)
                seq_ious.append(got10k_metrics.scored_ious(pred, anno, visible, bound, source=str(path)))
        if run_curves:
            result.per_sequence[seq.name] = box_metrics.average_curves(run_curves)
        if got10k:
            got_ious.extend(seq_ious)
            pooled = np.concatenate(seq_ious) if seq_ious else np.zeros(0)
            result.got_per_sequence[seq.name] = float(pooled.mean()) * 100 if pooled.size else float("nan")
    if result.per_sequence:
        result.curves = box_metrics.average_curves(list(result.per_sequence.values()))
        c = result.curves
        result.scores = box_metrics.scores_from_curves(c.success, c.precision, c.norm_precision)
    if got10k:
        result.got = got10k_metrics.got_scores(got_ious)
    evaluate_presence(sequences, group, settings, result=result)
    return result


def parameter_presence_threshold(group: TrackerGroup) -> float | None:
    """``presence_threshold`` of the group's parameter set, None when it has none or cannot be loaded."""
    from ..trackers import get_parameters  # parameter sets load only when presence files exist

    try:
        params = get_parameters(group.name, group.param)
    except (PytrackingError, ImportError, ValueError):
        return None
    value = params.get("presence_threshold", None)
    return None if value is None else float(value)


def evaluate_presence(
    sequences: list[Sequence],
    group: TrackerGroup,
    settings: EnvSettings,
    threshold: float | None = None,
    result: TrackerEvaluation | None = None,
) -> TrackerEvaluation:
    """Presence precision/recall/F1 over the single-object sequences whose every run has a presence
    file (frames of all runs pooled); ``threshold`` defaults to the parameter set's ``presence_threshold``."""
    result = result or TrackerEvaluation(group)
    scores, present, used = [], [], 0
    for seq in sequences:
        if isinstance(seq.ground_truth_rect, dict):
            continue
        paths = [presence_metrics.presence_file(spec.results_dir(settings), seq.name) for spec in group.runs]
        if not paths or not all(p.is_file() for p in paths):
            continue
        for path in paths:
            s, v = presence_metrics.sequence_frames(seq, presence_metrics.read_presence_scores(path), str(path))
            scores.append(s)
            present.append(v)
        used += 1
    if not used:
        return result
    pooled = np.concatenate(scores), np.concatenate(present)
    if threshold is None:
        threshold = parameter_presence_threshold(group)
    result.presence_frames = pooled
    result.presence = presence_metrics.summarize(*pooled, threshold=threshold, sequences=used)
    return result


def object_first_positions(seq: Sequence, positions: list[int]) -> dict[str, int]:
    """Object id -> position (among annotated frames) of the frame where the object starts."""
    where = {frame: k for k, frame in enumerate(positions)}
    first: dict[str, int] = {}
    for frame in sorted(seq.init_data or {}):
        ids = (seq.init_data[frame] or {}).get("object_ids")
        if ids is None:
            continue
        pos = where.get(frame, next((k for k, f in enumerate(positions) if f >= frame), len(positions)))
        for oid in ids:
            first.setdefault(str(oid), pos)
    for oid in seq.object_ids or (["1"] if not first else []):
        first.setdefault(str(oid), 0)
    return first


def _vos_run_scores(
    seq: Sequence,
    spec: TrackerSpec,
    settings: EnvSettings,
    gt_masks: list[np.ndarray],
    positions: list[int],
    first: dict[str, int],
    with_f: bool,
) -> list[vos_metrics.ObjectScores]:
    def prediction(pos: int) -> np.ndarray:
        return read_mask(mask_results_path(spec, seq, positions[pos], settings))

    try:
        return vos_metrics.evaluate_objects(seq.name, gt_masks, prediction, first, with_f=with_f)
    except ValueError as err:
        raise ResultsError(f"{spec.segmentation_dir(settings) / seq.name}: {err}") from None


def _gt_masks(seq: Sequence, positions: list[int], object_ids: list[str]) -> list[np.ndarray]:
    paths = ground_truth_mask_paths(seq)
    masks = []
    for i in positions:
        try:
            masks.append(imread_indexed(paths[i]))
        except ImageReadError as err:
            raise ResultsError(f"ground truth of '{seq.name}': {err}") from None
    return binarize_single_object(masks, object_ids)


def binarize_single_object(masks: list[np.ndarray], object_ids: list[str]) -> list[np.ndarray]:
    """DAVIS 2016 stores its single object as 0/255: when no mask holds the object's id but some
    hold 255, 255 is the object (id 1) rather than void."""
    if len(object_ids) != 1:
        return masks
    label = int(object_ids[0])
    if any((m == label).any() for m in masks) or not any((m == vos_metrics.VOID_LABEL).any() for m in masks):
        return masks
    return [np.where(m > 0, label, 0).astype(np.uint8) for m in masks]


def _mean_over_runs(values: list[np.ndarray]) -> np.ndarray:
    """Frame-wise mean over runs; frames no run scores stay NaN (without numpy's warning)."""
    stacked = np.stack(values)
    scored = ~np.isnan(stacked)
    counts = scored.sum(axis=0)
    total = np.where(scored, stacked, 0.0).sum(axis=0)
    return np.divide(total, counts, out=np.full(stacked.shape[1], np.nan), where=counts > 0)


def evaluate_vos(
    sequences: list[Sequence],
    group: TrackerGroup,
    settings: EnvSettings,
    categories: dict[tuple[str, str], str] | None = None,
    seen: set[str] | None = None,
    with_f: bool = True,
    result: TrackerEvaluation | None = None,
) -> TrackerEvaluation:
    """J/F of one tracker group; runs are averaged frame by frame per object."""
    result = result or TrackerEvaluation(group)
    objects: list[vos_metrics.ObjectScores] = []
    for seq in tqdm(sequences, desc=f"{group.label} masks", leave=False, disable=len(sequences) < 5):
        positions = annotated_positions(seq)
        if len(positions) < 3:
            continue
        first = object_first_positions(seq, positions)
        gt_masks = _gt_masks(seq, positions, list(first))
        runs = [_vos_run_scores(seq, spec, settings, gt_masks, positions, first, with_f) for spec in group.runs]
        for per_run in zip(*runs):
            j = _mean_over_runs([o.j for o in per_run])
            f = _mean_over_runs([o.f for o in per_run])
            oid = per_run[0].object_id
            category = (categories or {}).get((seq.name, oid))
            objects.append(vos_metrics.ObjectScores(seq.name, oid, j, f, category))
    result.vos_objects = objects
    result.vos = vos_metrics.dataset_scores(objects)
    if categories is not None and seen is not None:
        result.seen_unseen = vos_metrics.seen_unseen_scores(objects, seen)
    return result
