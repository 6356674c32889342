"""Segmentation metrics: confusion matrix, IoU/mIoU as cityscapesscripts computes them, temporal consistency."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from segmentation_plugins.data.labels import (
    CITYSCAPES,
    CITYSCAPES_ID_TO_TRAINID,
    cityscapes_to_train_ids,
    cityscapes_train_to_label_ids,
)
from segmentation_plugins.evaluation import ConfusionMatrix, TemporalConsistency, confusion_matrix, temporal_flip_rate

IGNORE = 255


def random_pair(rng: np.random.Generator, num_classes: int, shape=(20, 30)) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth with ignore pixels, prediction with some invalid ids (255 and num_classes)."""
    gt = rng.integers(0, num_classes, size=shape)
    gt[rng.random(shape) < 0.15] = IGNORE
    pred = np.where(rng.random(shape) < 0.5, gt, rng.integers(0, num_classes, size=shape))
    pred[rng.random(shape) < 0.05] = IGNORE
    pred[rng.random(shape) < 0.05] = num_classes
    return pred, gt


def brute_force_iou(preds, gts, num_classes: int) -> np.ndarray:
    ious = []
    for c in range(num_classes):
        tp = fp = fn = 0
        for pred, gt in zip(preds, gts):
            valid = gt != IGNORE
            tp += np.sum((gt == c) & (pred == c))
            fp += np.sum(valid & (gt != c) & (pred == c))
            fn += np.sum((gt == c) & (pred != c))
        ious.append(tp / (tp + fp + fn) if tp + fp + fn else math.nan)
    return np.array(ious)


def test_confusion_matrix_counts_match_brute_force():
    rng = np.random.default_rng(0)
    matrix = ConfusionMatrix(5)
    expected = np.zeros((5, 5), np.int64)
    missed = np.zeros(5, np.int64)
    for _ in range(3):
        pred, gt = random_pair(rng, 5)
        matrix.update(pred, gt)
        for p, g in zip(pred.ravel(), gt.ravel()):
            if g == IGNORE:
                continue
            if 0 <= p < 5:
                expected[g, p] += 1
            else:
                missed[g] += 1
    np.testing.assert_array_equal(matrix.matrix, expected)
    np.testing.assert_array_equal(matrix.missed, missed)
    assert matrix.total == expected.sum() + missed.sum()


def test_iou_and_miou_match_brute_force():
    rng = np.random.default_rng(1)
    pairs = [random_pair(rng, 6) for _ in range(3)]
    matrix = ConfusionMatrix(6)
    for pred, gt in pairs:
        matrix.update(pred, gt)
    expected = brute_force_iou(*zip(*[(p, g) for p, g in pairs]), 6)
    np.testing.assert_allclose(matrix.iou(), expected, rtol=0, atol=1e-12)
    assert matrix.miou() == pytest.approx(np.nanmean(expected), abs=1e-12)


def test_class_absent_from_gt_and_prediction_is_nan_and_left_out_of_miou():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    matrix = confusion_matrix(pred, gt, num_classes=3)
    iou = matrix.iou()
    assert math.isnan(iou[2])
    assert iou[0] == pytest.approx(1 / 2) and iou[1] == pytest.approx(2 / 3)
    assert matrix.miou() == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_class_predicted_but_absent_from_gt_has_zero_iou_and_counts_in_miou():
    matrix = confusion_matrix(np.array([[0, 2]]), np.array([[0, 0]]), num_classes=3)
    np.testing.assert_allclose(matrix.iou(), [0.5, math.nan, 0.0])
    assert matrix.miou() == pytest.approx(0.25)


def test_invalid_prediction_is_a_miss_for_the_true_class_only():
    matrix = confusion_matrix(np.array([[255, 19, 0]]), np.array([[0, 0, 0]]), num_classes=19)
    assert matrix.iou()[0] == pytest.approx(1 / 3)
    assert np.isnan(matrix.iou()[1:]).all()
    assert matrix.pixel_accuracy() == pytest.approx(1 / 3)


def test_ignored_ground_truth_pixels_are_not_counted():
    matrix = confusion_matrix(np.array([[1, 2, 0]]), np.array([[255, 255, 0]]), num_classes=3)
    assert matrix.total == 1
    assert matrix.pixel_accuracy() == 1.0
    assert np.isnan(matrix.iou()[1:]).all()


def test_ground_truth_outside_the_classes_raises():
    with pytest.raises(ValueError, match="ground-truth value 7"):
        confusion_matrix(np.zeros((1, 2)), np.array([[0, 7]]), num_classes=3)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        ConfusionMatrix(3).update(np.zeros((2, 2)), np.zeros((2, 3)))


def test_merge_equals_single_accumulation():
    rng = np.random.default_rng(2)
    pairs = [random_pair(rng, 4) for _ in range(4)]
    whole, first, second = ConfusionMatrix(4), ConfusionMatrix(4), ConfusionMatrix(4)
    for i, (pred, gt) in enumerate(pairs):
        whole.update(pred, gt)
        (first if i % 2 else second).update(pred, gt)
    np.testing.assert_array_equal(first.merge(second).matrix, whole.matrix)


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    matrix = ConfusionMatrix(3)
    matrix.update(torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 1]]))
    assert matrix.pixel_accuracy() == pytest.approx(2 / 3)


def _cityscapes_label_images(rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random labelId ground truths (every id 0..33 except 'bus' and 'train') and labelId predictions."""
    absent = {28, 31}  # bus, train: absent from gt and prediction -> NaN in both implementations
    gt_ids = np.array([i for i in range(34) if i not in absent])
    pairs = []
    for _ in range(count):
        gt = gt_ids[rng.integers(0, len(gt_ids), size=(24, 48))]
        gt[:4, :4] = 27  # truck present in gt ...
        pred = np.where(rng.random(gt.shape) < 0.6, gt, gt_ids[rng.integers(0, len(gt_ids), size=gt.shape)])
        pred[pred == 27] = 26  # ... but never predicted: IoU 0
        gt[gt == 25] = 24  # rider never in gt, but predicted: IoU 0 as well
        pairs.append((gt.astype(np.uint8), pred.astype(np.uint8)))
    return pairs


def test_iou_equals_cityscapesscripts_on_label_id_pngs(tmp_path, monkeypatch):
    pytest.importorskip("cityscapesscripts")
    from PIL import Image

    monkeypatch.setenv("CITYSCAPES_DATASET", str(tmp_path))
    monkeypatch.setenv("CITYSCAPES_RESULTS", str(tmp_path / "results"))
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval

    rng = np.random.default_rng(3)
    matrix = ConfusionMatrix(CITYSCAPES.num_classes)
    gt_files, pred_files = [], []
    for index, (gt, pred) in enumerate(_cityscapes_label_images(rng, 3)):
        stem = f"frankfurt_000000_{index:06d}"
        gt_path = tmp_path / "gtFine" / "val" / "frankfurt" / f"{stem}_gtFine_labelIds.png"
        pred_path = tmp_path / "results" / f"{stem}_pred.png"
        for path, image in ((gt_path, gt), (pred_path, pred)):
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image, mode="L").save(path)
        gt_files.append(str(gt_path))
        # Our side works on train ids: the prediction goes through the table (non-train ids -> 255).
        matrix.update(CITYSCAPES_ID_TO_TRAINID[pred], cityscapes_to_train_ids(gt))
    args = copy.copy(cs_eval.args)
    args.evalInstLevelScore = False  # no instanceIds files: only class IoU is compared
    args.JSONOutput = False
    args.quiet = True
    args.predictionPath, args.predictionWalk = None, None
    pred_files = [cs_eval.getPrediction(args, gt) for gt in gt_files]  # their file matching finds our PNGs
    result = cs_eval.evaluateImgLists(pred_files, gt_files, args)

    theirs = np.array([result["classScores"][name] for name in CITYSCAPES.names], dtype=np.float64)
    ours = matrix.iou()
    assert np.isnan(theirs).sum() == 2  # bus and train
    assert (theirs == 0).sum() >= 2  # truck (never predicted), rider (never in gt)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert matrix.miou() == pytest.approx(result["averageScoreClasses"], abs=1e-6)


def test_prediction_train_ids_convert_to_label_ids_for_official_files():
    train = np.arange(19)
    ids = cityscapes_train_to_label_ids(np.append(train, 255))
    np.testing.assert_array_equal(CITYSCAPES_ID_TO_TRAINID[ids[:-1]], train)
    assert ids[-1] == 0  # ignore -> 'unlabeled', which the official evaluation skips


def test_temporal_consistency_on_hand_made_frames():
    gts = np.array([[[0, 0, 1, 255]], [[0, 0, 2, 255]], [[0, 1, 2, 2]]])
    preds = np.array([[[0, 1, 1, 0]], [[0, 0, 2, 1]], [[1, 0, 0, 1]]])
    # pair 0->1: stable pixels 0, 1 (pixel 2: gt changes, pixel 3: ignore); pixel 1 flips -> 1 of 2
    # pair 1->2: stable pixels 0, 2 (pixel 1 changes, pixel 3 was ignore); both flip -> 2 of 2
    meter = TemporalConsistency()
    for pred, gt in zip(preds, gts):
        meter.update(pred, gt)
    assert (meter.flips, meter.stable) == (3, 4)
    assert meter.flip_rate() == pytest.approx(0.75)
    assert meter.consistency() == pytest.approx(0.25)
    assert temporal_flip_rate(preds, gts) == pytest.approx(0.75)


def test_temporal_consistency_does_not_pair_frames_across_sequences():
    meter = TemporalConsistency()
    meter.update(np.array([[0, 0]]), np.array([[1, 1]]))
    meter.end_sequence()
    meter.update(np.array([[1, 1]]), np.array([[1, 1]]))
    assert meter.stable == 0 and math.isnan(meter.flip_rate())
    meter.update(np.array([[1, 0]]), np.array([[1, 1]]))
    assert (meter.flips, meter.stable) == (1, 2)


def test_temporal_consistency_is_perfect_for_static_predictions():
    gts = np.zeros((4, 3, 3), np.int64)
    preds = np.ones((4, 3, 3), np.int64)  # wrong but stable: consistency is about change, not accuracy
    assert temporal_flip_rate(preds, gts) == 0.0
