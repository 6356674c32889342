"""PyTracking's per-sequence box rules (docs/metrics.md D.6.1-D.6.3) on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from pytracking_ext.analysis import box_metrics as bm
from pytracking_ext.errors import ResultsError


def boxes(*rows):
    return np.asarray(rows, dtype=np.float64)


def test_thresholds_are_exact_fractions_and_scores_are_picked_by_index():
    assert bm.OVERLAP_THRESHOLDS[bm.OP75_INDEX] == 0.75
    assert bm.OVERLAP_THRESHOLDS[bm.OP50_INDEX] == 0.5
    assert bm.PRECISION_THRESHOLDS[bm.PRECISION_INDEX] == 20
    assert bm.NORM_PRECISION_THRESHOLDS[bm.NORM_PRECISION_INDEX] == 0.2
    assert len(bm.OVERLAP_THRESHOLDS) == 21 and len(bm.PRECISION_THRESHOLDS) == 51


def test_identical_boxes_have_iou_exactly_one():
    rng = np.random.default_rng(0)
    a = np.round(rng.uniform(0.1, 500, (1000, 4)), 4)
    assert np.all(bm.iou_inclusive(a, a.copy()) == 1.0)


def test_inclusive_iou_of_half_overlapping_boxes():
    # x-overlap 5 of 10 pixels: intersection 50, union 150
    assert bm.iou_inclusive(boxes([10, 10, 10, 10]), boxes([15, 10, 10, 10]))[0] == pytest.approx(1 / 3)


def test_disjoint_boxes_have_zero_iou():
    assert bm.iou_inclusive(boxes([0, 0, 5, 5]), boxes([20, 20, 5, 5]))[0] == 0.0


def test_centre_uses_w_minus_one_over_two():
    assert np.array_equal(bm.box_centers(boxes([10, 20, 5, 9])), [[12.0, 24.0]])


def test_success_counts_iou_strictly_greater_than_threshold():
    # IoU exactly 0.5 in frame 1: it is not a success at tau = 0.5
    anno = boxes([10, 10, 10, 10], [10, 10, 10, 10])
    pred = boxes([0, 0, 1, 1], [10, 10, 10, 5])
    curves = bm.sequence_curves(bm.sequence_errors(pred, anno))
    assert curves.success[bm.OP50_INDEX] == 0.5  # only frame 0 (forced to the ground truth)
    assert curves.success[bm.OP50_INDEX - 1] == 1.0
    assert curves.success[-1] == 0.0  # nothing is strictly above 1


def test_first_frame_prediction_is_replaced_by_ground_truth():
    anno = boxes([10, 10, 10, 10], [10, 10, 10, 10])
    pred = boxes([200, 200, 3, 3], [10, 10, 10, 10])
    errors = bm.sequence_errors(pred, anno)
    assert errors.iou[0] == 1.0 and errors.center_error[0] == 0.0


def test_zero_size_prediction_is_replaced_by_previous_one_in_order():
    anno = boxes(*[[10, 10, 10, 10]] * 4)
    pred = boxes([10, 10, 10, 10], [12, 10, 10, 10], [50, 50, 0, 4], [60, 60, 4, 0])
    out = bm.prepare_predictions(pred, anno)
    assert np.array_equal(out[2], [12, 10, 10, 10]) and np.array_equal(out[3], [12, 10, 10, 10])


def test_zero_size_prediction_is_kept_where_annotation_is_nan():
    anno = boxes([10, 10, 10, 10], [10, 10, 10, 10], [np.nan] * 4)
    pred = boxes([10, 10, 10, 10], [12, 10, 10, 10], [5, 5, 0, 0])
    out = bm.prepare_predictions(pred, anno, dataset="uav")
    assert np.array_equal(out[2], [5, 5, 0, 0])


def test_short_predictions_are_padded_with_zero_boxes():
    anno = boxes(*[[10, 10, 10, 10]] * 3)
    out = bm.prepare_predictions(boxes([10, 10, 10, 10]), anno)
    assert out.shape == (3, 4) and np.array_equal(out[1:], np.zeros((2, 4)))


def test_long_predictions_are_cut():
    anno = boxes(*[[10, 10, 10, 10]] * 2)
    out = bm.prepare_predictions(boxes(*[[11, 10, 10, 10]] * 5), anno)
    assert out.shape == (2, 4)


def test_lasot_short_predictions_raise_but_long_ones_are_cut():
    anno = boxes(*[[10, 10, 10, 10]] * 3)
    with pytest.raises(ResultsError, match="2 predicted rows for 3"):
        bm.prepare_predictions(boxes(*[[10, 10, 10, 10]] * 2), anno, dataset="lasot")
    assert bm.prepare_predictions(boxes(*[[10, 10, 10, 10]] * 4), anno, dataset="lasot").shape == (3, 4)


def test_nan_or_negative_predictions_raise():
    anno = boxes(*[[10, 10, 10, 10]] * 2)
    with pytest.raises(ResultsError, match="NaN"):
        bm.prepare_predictions(boxes([1, 1, 1, 1], [np.nan, 1, 1, 1]), anno, source="x.txt")
    with pytest.raises(ResultsError, match="negative"):
        bm.prepare_predictions(boxes([1, 1, 1, 1], [1, 1, -1, 1]), anno)


def test_nan_annotation_raises_except_for_uav():
    anno = boxes([10, 10, 10, 10], [np.nan] * 4)
    pred = boxes(*[[10, 10, 10, 10]] * 2)
    with pytest.raises(ResultsError, match="NaN in row 2"):
        bm.sequence_errors(pred, anno, dataset="otb")
    bm.sequence_errors(pred, anno, dataset="uav")


def test_invalid_frames_get_sentinels_and_count_in_denominator():
    # frame 1 has x == 0: invalid (all four values must be > 0)
    anno = boxes([10, 10, 10, 10], [0, 10, 10, 10], [10, 10, 10, 10])
    pred = boxes(*[[10, 10, 10, 10]] * 3)
    errors = bm.sequence_errors(pred, anno)
    assert errors.iou[1] == -1 and errors.center_error[1] == np.inf and errors.norm_center_error[1] == -1
    curves = bm.sequence_curves(errors)
    assert curves.success[0] == pytest.approx(2 / 3)
    assert curves.precision[20] == pytest.approx(2 / 3)
    assert curves.norm_precision[0] == 1.0  # invalid frames (error -1) count as successes
    assert curves.avg_overlap == 1.0  # mean IoU over valid frames only


def test_uav_absent_frames_count_as_precision_successes():
    anno = boxes([10, 10, 10, 10], [np.nan] * 4)
    pred = boxes(*[[10, 10, 10, 10]] * 2)
    errors = bm.sequence_errors(pred, anno, dataset="uav")
    assert errors.center_error[1] == -1 and errors.iou[1] == -1
    curves = bm.sequence_curves(errors)
    assert curves.precision[0] == 1.0 and curves.success[0] == 0.5


def test_lasot_invisible_frames_are_invalid_with_infinite_errors():
    anno = boxes(*[[10, 10, 10, 10]] * 4)
    pred = boxes(*[[10, 10, 10, 10]] * 4)
    visible = np.array([1, 1, 0, 1], bool)
    errors = bm.sequence_errors(pred, anno, dataset="lasot", target_visible=visible)
    assert errors.iou[2] == -1 and not errors.valid[2]
    assert errors.center_error[2] == np.inf and errors.norm_center_error[2] == np.inf
    curves = bm.sequence_curves(errors)
    assert curves.norm_precision[50] == 0.75 and curves.success[0] == 0.75


def test_got10k_box_metrics_ignore_visibility_like_pytracking():
    anno = boxes(*[[10, 10, 10, 10]] * 3)
    errors = bm.sequence_errors(anno, anno, dataset="got10k", target_visible=np.array([1, 0, 1], bool))
    assert errors.valid.all()


def test_strict_protocol_drops_invalid_frames_from_both_counts():
    anno = boxes([10, 10, 10, 10], [0, 0, 0, 0], [10, 10, 10, 10], [10, 10, 10, 10])
    pred = boxes([10, 10, 10, 10], [10, 10, 10, 10], [10, 10, 10, 10], [100, 100, 10, 10])
    errors = bm.sequence_errors(pred, anno)
    assert bm.sequence_curves(errors, "pytracking").success[0] == 0.5
    strict = bm.sequence_curves(errors, "strict")
    assert strict.success[0] == pytest.approx(2 / 3) and strict.norm_precision[0] == pytest.approx(2 / 3)


def test_strict_protocol_without_valid_frames_gives_no_curves():
    anno = boxes([0, 0, 0, 0], [0, 0, 0, 0])
    assert bm.sequence_curves(bm.sequence_errors(anno, anno), "strict") is None


def test_normalised_error_divides_by_annotation_size():
    anno = boxes([10, 10, 10, 10], [10, 10, 20, 40])
    pred = boxes([10, 10, 10, 10], [14, 10, 20, 40])
    assert bm.sequence_errors(pred, anno).norm_center_error[1] == pytest.approx(0.2)


def test_scores_are_percent_auc_mean_and_indexed_points():
    success = np.linspace(1, 0, 21)
    precision = np.arange(51) / 50
    scores = bm.scores_from_curves(success, precision, precision)
    assert scores.auc == pytest.approx(50.0)
    assert scores.op50 == pytest.approx(50.0) and scores.op75 == pytest.approx(25.0)
    assert scores.precision == pytest.approx(40.0) and scores.norm_precision == pytest.approx(40.0)


def test_runs_are_averaged_per_sequence_curve():
    a = bm.SequenceCurves(np.ones(21), np.ones(51), np.ones(51), 1.0)
    b = bm.SequenceCurves(np.zeros(21), np.zeros(51), np.zeros(51), 0.5)
    mean = bm.average_curves([a, b])
    assert np.all(mean.success == 0.5) and mean.avg_overlap == 0.75


def test_unknown_protocol_names_the_known_ones():
    anno = boxes([10, 10, 10, 10])
    with pytest.raises(KeyError, match="strict"):
        bm.sequence_curves(bm.sequence_errors(anno, anno), "lenient")
