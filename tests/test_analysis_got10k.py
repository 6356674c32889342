"""GOT-10k AO/SR and success curves checked against the official ``got10k`` toolkit."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from pytracking_ext.analysis import box_metrics as bm
from pytracking_ext.analysis import got10k_metrics as gm
from pytracking_ext.analysis.evaluate import evaluate_boxes, group_specs
from pytracking_ext.evaluation.data import Sequence
from pytracking_ext.evaluation.tracker_spec import trackerlist
from pytracking_ext.settings import env_settings
from pytracking_ext.utils.io import atomic_savetxt, atomic_write_text, imwrite_rgb

got10k_metrics = pytest.importorskip("got10k.utils.metrics")

IMAGE_W, IMAGE_H = 64, 48


def random_boxes(rng, n, spill=False):
    """Boxes inside a 64x48 image, or partly outside it when ``spill``."""
    lo = -10 if spill else 0
    x = rng.uniform(lo, IMAGE_W - 8, n)
    y = rng.uniform(lo, IMAGE_H - 8, n)
    w = rng.uniform(4, 30, n)
    h = rng.uniform(4, 25, n)
    return np.round(np.stack([x, y, w, h], axis=1), 4)


def test_inclusive_pixel_iou_equals_the_toolkits_continuous_iou():
    # x2 = x + w - 1 with a +1 on the intersection cancels out, and areas have no +1, so the two
    # conventions are the same number; only rounding in the last bits may differ.
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 500, spill=True), random_boxes(rng, 500, spill=True)
    np.testing.assert_allclose(bm.iou_inclusive(a, b), got10k_metrics.rect_iou(a.copy(), b.copy()), atol=1e-12)
    np.testing.assert_allclose(gm.iou_continuous(a, b), got10k_metrics.rect_iou(a.copy(), b.copy()), atol=1e-12)


def test_clipping_to_the_image_matches_the_toolkits_bound():
    rng = np.random.default_rng(2)
    a, b = random_boxes(rng, 300, spill=True), random_boxes(rng, 300, spill=True)
    ours = gm.iou_continuous(gm.clip_to_image(a, (IMAGE_W, IMAGE_H)), gm.clip_to_image(b, (IMAGE_W, IMAGE_H)))
    theirs = got10k_metrics.rect_iou(a.copy(), b.copy(), bound=(IMAGE_W, IMAGE_H))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_success_and_precision_curves_match_the_toolkits_curve_code():
    from got10k.experiments.otb import ExperimentOTB

    rng = np.random.default_rng(3)
    anno = random_boxes(rng, 60) + [1, 1, 0, 0]  # all values > 0: every frame valid
    pred = anno + rng.normal(0, 3, anno.shape) * [1, 1, 0.5, 0.5]
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    ours = bm.sequence_curves(bm.sequence_errors(pred, anno))
    forced = pred.copy()
    forced[0] = anno[0]  # PyTracking scores frame 0 as the ground truth
    ious = got10k_metrics.rect_iou(forced.copy(), anno.copy())
    centres = got10k_metrics.center_error(forced, anno)
    succ, prec = ExperimentOTB._calc_curves(types.SimpleNamespace(nbins_iou=21, nbins_ce=51), ious, centres)
    np.testing.assert_allclose(ours.success, succ, atol=1e-12)
    np.testing.assert_allclose(ours.precision, prec, atol=1e-12)


def test_pytracking_auc_differs_from_ao_by_the_first_and_absent_frames():
    anno = np.array([[10, 10, 10, 10]] * 4, np.float64)
    pred = np.array([[30, 30, 5, 5], [10, 10, 10, 10], [40, 40, 5, 5], [10, 10, 10, 5]], np.float64)
    visible = np.array([1, 1, 0, 1], bool)
    ious = gm.scored_ious(pred, anno, visible)
    assert ious.tolist() == [1.0, 0.5]  # frame 0 and the absent frame 2 are not scored
    assert gm.got_scores([ious]).ao == pytest.approx(75.0)
    # PyTracking scores frame 0 as 1 and the absent frame as 0 (IoU 0 with the box annotation)
    pt = bm.sequence_errors(pred, anno, dataset="got10k", target_visible=visible)
    assert pt.iou.tolist() == [1.0, 1.0, 0.0, 0.5]


def test_sr75_is_strictly_greater_and_scores_pool_frames_across_sequences():
    scores = gm.got_scores([np.array([0.75, 1.0]), np.array([0.5, 0.2, 0.8, 0.9])])
    assert scores.sr75 == pytest.approx(100 * 3 / 6)
    assert scores.sr50 == pytest.approx(100 * 4 / 6)
    assert scores.ao == pytest.approx(100 * np.mean([0.75, 1.0, 0.5, 0.2, 0.8, 0.9]))


def _write_got10k_val(root: Path, results: Path, names, annos, preds_per_run, covers):
    """A tiny GOT-10k val folder plus toolkit-layout results of tracker 'mine'."""
    val = root / "val"
    atomic_write_text(val / "list.txt", "\n".join(names) + "\n")
    image = np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8)
    for name, anno, cover, runs in zip(names, annos, covers, preds_per_run):
        folder = val / name
        for i in range(len(anno)):
            imwrite_rgb(folder / f"{i + 1:08d}.jpg", image)
        atomic_savetxt(folder / "groundtruth.txt", anno, fmt="%.4f", delimiter=",")
        atomic_savetxt(folder / "cover.label", cover.reshape(-1, 1), fmt="%d")
        atomic_savetxt(folder / "absence.label", (cover == 0).astype(int).reshape(-1, 1), fmt="%d")
        atomic_savetxt(folder / "cut_by_image.label", np.zeros((len(anno), 1)), fmt="%d")
        atomic_write_text(
            folder / "meta_info.ini", f"[METAINFO]\nobject_class: thing\nresolution: ({IMAGE_W}, {IMAGE_H})\n"
        )
        out = results / "GOT-10k" / "mine" / name
        for r, pred in enumerate(runs, 1):
            atomic_savetxt(out / f"{name}_{r:03d}.txt", pred, fmt="%.4f", delimiter=",")
        atomic_savetxt(out / f"{name}_time.txt", np.full((len(anno), 1), 0.01), fmt="%f")


def test_ao_sr_and_success_curve_match_the_got10k_toolkit_report(tmp_path, workspace):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from got10k.experiments import ExperimentGOT10k

    rng = np.random.default_rng(4)
    names = [f"GOT-10k_Val_{i:06d}" for i in range(1, 4)]
    lengths = [12, 9, 15]
    annos = [random_boxes(rng, n) for n in lengths]
    covers = [rng.integers(0, 9, n) for n in lengths]
    runs = [
        [
            np.round(a + rng.normal(0, 4, a.shape) * [1, 1, 0.3, 0.3], 4) if r else random_boxes(rng, len(a), True)
            for r in range(2)
        ]
        for a in annos
    ]
    for per_seq in runs:
        for pred in per_seq:
            pred[:, 2:] = np.abs(pred[:, 2:]) + 0.5
    root, results = tmp_path / "got10k", tmp_path / "toolkit_results"
    _write_got10k_val(root, results, names, annos, runs, covers)
    experiment = ExperimentGOT10k(
        str(root), subset="val", result_dir=str(results), report_dir=str(tmp_path / "toolkit_reports")
    )
    theirs = experiment.report(["mine"])["mine"]

    settings = env_settings()
    specs = trackerlist("mine", "default", range(2))
    for spec, r in zip(specs, range(2)):
        for name, per_seq in zip(names, runs):
            atomic_savetxt(spec.results_dir(settings) / f"{name}.txt", per_seq[r], fmt="%.4f")
    sequences = [
        Sequence(
            name, sorted(str(p) for p in (root / "val" / name).glob("*.jpg")), "got10k", anno, target_visible=cover > 0
        )
        for name, anno, cover in zip(names, annos, covers)
    ]
    ours = evaluate_boxes(sequences, group_specs(specs)[0], settings, got10k=True)

    assert ours.got.ao / 100 == pytest.approx(theirs["overall"]["ao"], abs=1e-6)
    assert ours.got.sr50 / 100 == pytest.approx(theirs["overall"]["sr"], abs=1e-6)
    np.testing.assert_allclose(ours.got.success, theirs["overall"]["succ_curve"], atol=1e-6)
    assert ours.got.sr75 / 100 == pytest.approx(theirs["overall"]["succ_curve"][75], abs=1e-6)
    for name in names:
        assert ours.got_per_sequence[name] / 100 == pytest.approx(theirs["seq_wise"][name]["ao"], abs=1e-6)
