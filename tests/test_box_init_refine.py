"""Box-only init refined by the tracker's own first-frame segmentation (trackers/rts/box_init.refine_box_mask)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.trackers.rts import tracker as rts_tracker
from pytracking_ext.trackers.rts.box_init import refine_box_mask
from pytracking_ext.utils.io import imread_rgb
from seqgen import moving_square_sequence

BOX = [10, 10, 20, 20]  # x, y, w, h in a 48 x 64 image


def _seed() -> np.ndarray:
    seed = np.zeros((48, 64), np.uint8)
    seed[10:30, 10:30] = 1
    return seed


def _object() -> np.ndarray:
    logits = np.full((48, 64), -5.0)
    logits[14:26, 5:26] = 5.0  # the object, sticking out of the box on the left
    return logits


class FakeLearner:
    """Predicts the fitted mask shrunk towards a fixed object (a stand-in for the network)."""

    def __init__(self, target: np.ndarray):
        self.target = target
        self.fits: list[np.ndarray] = []
        self.predictions = 0

    def predict(self) -> np.ndarray:
        self.predictions += 1
        return self.target

    def fit(self, mask: np.ndarray) -> None:
        self.fits.append(mask.copy())


def test_refinement_keeps_the_prediction_inside_the_box():
    learner = FakeLearner(_object())
    mask = refine_box_mask(_seed(), BOX, learner.predict, learner.fit, iterations=3)
    expected = np.zeros((48, 64), np.uint8)
    expected[14:26, 10:26] = 1
    np.testing.assert_array_equal(mask, expected)
    assert mask.dtype == np.uint8


def test_refinement_stops_once_the_mask_no_longer_changes_and_leaves_the_learner_fitted_to_it():
    learner = FakeLearner(_object())
    mask = refine_box_mask(_seed(), BOX, learner.predict, learner.fit, iterations=5)
    assert learner.predictions == 2 and len(learner.fits) == 1
    np.testing.assert_array_equal(learner.fits[-1], mask)


def test_a_collapsed_prediction_keeps_the_seed():
    learner = FakeLearner(np.full((48, 64), -3.0))
    mask = refine_box_mask(_seed(), BOX, learner.predict, learner.fit, iterations=3)
    np.testing.assert_array_equal(mask, _seed())
    assert learner.fits == []


def test_zero_iterations_return_the_seed_without_predicting():
    learner = FakeLearner(_object())
    np.testing.assert_array_equal(refine_box_mask(_seed(), BOX, learner.predict, learner.fit, 0), _seed())
    assert learner.predictions == 0


def test_a_prediction_of_another_size_is_an_error():
    with pytest.raises(ValueError, match="prediction has shape"):
        refine_box_mask(_seed(), BOX, lambda: np.zeros((5, 5)), lambda m: None, iterations=1)


def _first_frame(tmp_path):
    seq = moving_square_sequence(tmp_path, frames=1, size=(96, 128))
    return imread_rgb(seq.frames[0]), [float(v) for v in seq.ground_truth_rect[0]]


def test_rts_box_only_start_runs_the_refinement_and_outputs_its_mask(tmp_path, workspace, monkeypatch):
    torch.set_num_threads(1)
    image, box = _first_frame(tmp_path)
    calls = []

    def spy(seed, box, predict, fit, iterations):
        calls.append(iterations)
        logits = predict()
        assert logits.shape == image.shape[:2]
        return refine_box_mask(seed, box, lambda: logits, fit, iterations)

    monkeypatch.setattr(rts_tracker, "refine_box_mask", spy)
    params = get_parameters("rts", "rts_small")
    out = get_tracker_class("rts")(params).initialize(image, {"init_bbox": box})
    assert calls == [params.box_init_refine_iter] and params.box_init_refine_iter > 0
    mask = out["segmentation"]
    assert mask.shape == image.shape[:2] and mask.any()
    x, y, w, h = (int(v) for v in box)
    assert not mask[:, :x].any() and not mask[:y].any()  # stays inside the box
    np.testing.assert_array_equal(out["segmentation_raw"] > 0, mask > 0)


def test_rts_mask_start_does_not_refine(tmp_path, workspace, monkeypatch):
    torch.set_num_threads(1)
    image, box = _first_frame(tmp_path)

    def fail(*args, **kwargs):
        raise AssertionError("refinement ran on a mask start")

    monkeypatch.setattr(rts_tracker, "refine_box_mask", fail)
    mask = np.zeros(image.shape[:2], np.uint8)
    x, y, w, h = (int(v) for v in box)
    mask[y : y + h, x : x + w] = 1
    out = get_tracker_class("rts")(get_parameters("rts", "rts_small")).initialize(
        image, {"init_bbox": box, "init_mask": mask}
    )
    assert "segmentation" not in out


def test_rts_box_only_start_gives_the_box_init_method_the_trackers_parameters(tmp_path, workspace, monkeypatch):
    # a method that loads a network ('sta') reads its file and crop settings from the parameters
    torch.set_num_threads(1)
    image, box = _first_frame(tmp_path)
    seen = {}

    def method(image, box, method, params):
        seen.update(method=method, sta_net=params.get("sta_net"))
        x, y, w, h = (int(v) for v in box)
        mask = np.zeros(image.shape[:2], np.uint8)
        mask[y : y + h, x : x + w] = 1
        return mask

    monkeypatch.setattr(rts_tracker, "box_to_mask", method)
    params = get_parameters("rts", "rts_small")
    params.box_init_method, params.sta_net = "sta", "my_sta.safetensors"
    get_tracker_class("rts")(params).initialize(image, {"init_bbox": box})
    assert seen == {"method": "sta", "sta_net": "my_sta.safetensors"}
