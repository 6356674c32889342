"""RTS target-presence score: the formula's anchor points, the score on a generated video where the
target leaves the view, per-object scores in multi-object use, and the ``presence_threshold`` setting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pytracking_ext.datasets import get_dataset
from pytracking_ext.evaluation.results import write_result_files
from pytracking_ext.evaluation.running import build_tracker, track_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.synthetic import generate
from pytracking_ext.trackers import get_parameters
from pytracking_ext.trackers.rts.presence import classifier_confidence, presence_score, segmentation_confidence
from seqgen import moving_square_sequence

RTS_SETS = (
    "rts50",
    "rts50_fast",
    "rts50_redetect",
    "rts_small",
    "rts_small_fast",
    "rts_small_redetect",
)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_segmentation_confidence_is_one_half_where_both_tracker_tests_flip():
    # logit 0 = probability 0.5 (mask just non-empty); mass = min_mask_area ("too small" border)
    assert segmentation_confidence(0.0, 100.0, 100) == pytest.approx(0.5)
    assert segmentation_confidence(8.0, 5000.0, 100) > 0.95
    assert segmentation_confidence(-4.0, 1.0, 100) < 0.02
    assert segmentation_confidence(-100.0, 0.0, -1) == 0.0  # no pixel at all, no "too small" test


def test_classifier_confidence_maps_the_found_threshold_to_one_half():
    assert classifier_confidence(0.3, 0.3) == pytest.approx(0.5)
    assert classifier_confidence(0.0, 0.3) == 0.0 and classifier_confidence(1.2, 0.3) == 1.0
    assert classifier_confidence(-0.2, 0.3) == 0.0
    assert classifier_confidence(0.65, 0.3) == pytest.approx(0.75)


def test_presence_uses_the_classifier_only_once_it_is_reliable():
    assert presence_score(0.8, None) == 0.8
    assert presence_score(0.8, 0.2) == pytest.approx(0.5)


@pytest.mark.parametrize("param", RTS_SETS)
def test_every_rts_parameter_set_has_a_presence_threshold_in_the_unit_interval(param):
    assert 0.0 < get_parameters("rts", param).presence_threshold < 1.0


def test_presence_drops_while_the_target_is_out_of_view_and_is_high_while_visible(tmp_path, workspace):
    # seed 5, one 40-frame sequence: the target leaves the image on frames 8-12 (out_of_view.txt)
    root = generate("lasot", tmp_path / "lasot", 1, 40, 5, progress=False)
    seq = next(iter(get_dataset("lasot", root=root)))
    out_of_view = np.asarray([int(v) for v in next(root.glob("*/*/out_of_view.txt")).read_text().split(",")], bool)
    assert out_of_view.sum() >= 3
    output = track_sequence(build_tracker(TrackerSpec("rts", "rts_small"), seq), seq, progress=False)
    scores = np.asarray(output.object_presence_score, dtype=np.float64)
    assert scores[0] == 1.0 and ((scores >= 0) & (scores <= 1)).all()
    visible = np.asarray(seq.target_visible, bool)
    steady = visible.copy()
    for shift in (-2, -1, 1, 2):  # leave out the frames next to an absence (target half in view)
        steady &= np.roll(visible, shift)
    steady[0] = False
    assert np.median(scores[out_of_view]) < 0.5 < np.median(scores[steady])
    assert scores[out_of_view].mean() < 0.5 * scores[steady].mean()


def test_multi_object_runs_report_one_presence_score_per_object(tmp_path, workspace):
    seq = moving_square_sequence(tmp_path, frames=4, size=(96, 128), objects=2, with_masks=True)
    output = track_sequence(build_tracker(TrackerSpec("rts", "rts_small"), seq), seq, progress=False)
    for frame_scores in output.object_presence_score:
        assert set(frame_scores) == {"1", "2"}
        assert all(0.0 <= float(v) <= 1.0 for v in frame_scores.values())
    assert all(output.object_presence_score[0][oid] == 1.0 for oid in ("1", "2"))
    written = write_result_files(seq, output, tmp_path)
    assert {"seq_1_object_presence_scores.txt", "seq_2_object_presence_scores.txt"} <= set(written)
