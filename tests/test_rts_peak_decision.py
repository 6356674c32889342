"""The instance branch's peak decision with DiMP's distractor tests (pytracking_ext.trackers.rts.peak_decision)."""

import pytest
import torch

from pytracking_ext.trackers.rts.memory import SampleMemory
from pytracking_ext.trackers.rts.peak_decision import PeakThresholds, decide_peak

RELEASE = PeakThresholds(not_found=0.3)
DIMP = PeakThresholds(not_found=0.3, distractor=0.8, hard_negative=0.5)
TARGET = torch.tensor([2.0, 2.0])  # target size in cells


def _map(*peaks: tuple[int, int, float]) -> torch.Tensor:
    scores = torch.zeros(16, 27)
    for y, x, value in peaks:
        scores[y, x] = value
    return scores


def test_with_the_release_thresholds_the_decision_is_the_plain_argmax():
    scores = _map((4, 5, 0.9), (10, 20, 0.85))
    decision = decide_peak(scores, TARGET, previous_cell=torch.tensor([10.0, 20.0]), thresholds=RELEASE)
    assert (
        decision.flag == "normal" and decision.cell.tolist() == [4.0, 5.0] and decision.max_score == pytest.approx(0.9)
    )


def test_a_peak_under_the_threshold_is_not_found():
    decision = decide_peak(_map((4, 5, 0.2)), TARGET, torch.tensor([4.0, 5.0]), DIMP)
    assert decision.flag == "not_found"


def test_a_look_alike_far_away_with_the_target_in_place_is_a_hard_negative_keeping_the_target():
    scores = _map((4, 5, 0.9), (12, 24, 0.8))
    decision = decide_peak(scores, TARGET, previous_cell=torch.tensor([4.0, 6.0]), thresholds=DIMP)
    assert decision.flag == "hard_negative" and decision.cell.tolist() == [4.0, 5.0]


def test_when_the_higher_peak_jumped_away_the_peak_near_the_previous_position_is_taken():
    scores = _map((12, 24, 0.9), (4, 5, 0.8))
    decision = decide_peak(scores, TARGET, previous_cell=torch.tensor([4.0, 6.0]), thresholds=DIMP)
    assert decision.flag == "hard_negative" and decision.cell.tolist() == [4.0, 5.0]
    assert decision.max_score == pytest.approx(0.9)


def test_two_equal_peaks_both_near_the_previous_position_are_uncertain():
    scores = _map((6, 8, 0.9), (6, 14, 0.85))
    decision = decide_peak(scores, TARGET, previous_cell=torch.tensor([6.0, 11.0]), thresholds=DIMP)
    assert decision.flag == "uncertain" and decision.cell.tolist() == [6.0, 8.0]


def test_a_moderate_second_peak_is_a_hard_negative_and_a_lone_peak_is_normal():
    moderate = decide_peak(_map((4, 5, 0.9), (12, 24, 0.6)), TARGET, torch.tensor([4.0, 5.0]), DIMP)
    assert moderate.flag == "hard_negative"
    alone = decide_peak(_map((4, 5, 0.9), (12, 24, 0.2)), TARGET, torch.tensor([4.0, 5.0]), DIMP)
    assert alone.flag == "normal"


def test_the_target_neighbourhood_is_not_a_second_peak():
    scores = _map((4, 5, 0.9), (4, 6, 0.88))  # the same blob, one cell over
    decision = decide_peak(scores, TARGET, torch.tensor([4.0, 5.0]), DIMP)
    assert decision.flag == "normal"


def test_a_sample_added_with_a_higher_learning_rate_weighs_more():
    def newest_weight(rate):
        memory = SampleMemory(size=5, learning_rate=0.01)
        memory.initialize(x=torch.zeros(1, 2))
        index = memory.add(x=torch.ones(2), learning_rate=rate)
        return float(memory.weights[index] / memory.weights.sum())

    assert newest_weight(0.02) > newest_weight(None) > 0
    assert newest_weight(None) == newest_weight(0.01)
