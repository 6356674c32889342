"""Re-detection: off in rts50, frame-wide tiling, peak -> image position, accept/refuse by score."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import pytracking_ext.trackers.rts.tracker as tracker_module
from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.trackers.rts.redetection import Detection, search_frame, tile_centres
from pytracking_ext.utils.io import imread_rgb
from seqgen import moving_square_sequence


def _started_tracker(param, tmp_path, monkeypatch, network_dir):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square_sequence(tmp_path, frames=3, size=(240, 320), with_masks=True)
    tracker = get_tracker_class("rts")(get_parameters("rts", param))
    first = imread_rgb(seq.frames[0])
    out = tracker.initialize(first, seq.frame_info(0))
    return tracker, seq, out


def _track_while_lost(tracker, seq, out, frame=1):
    tracker.is_lost_seg, tracker.is_lost_clf = True, True
    tracker.not_found_count = 2  # the both-lost case makes it 3 = redetect_after
    return tracker.track(imread_rgb(seq.frames[frame]), {"previous_output": out})


def test_rts50_never_runs_a_frame_wide_search(workspace, tmp_path, monkeypatch, rts_network_dir):
    tracker, seq, out = _started_tracker("rts50", tmp_path, monkeypatch, rts_network_dir)
    monkeypatch.setattr(tracker_module, "search_frame", lambda *a, **k: pytest.fail("re-detection ran"))
    _track_while_lost(tracker, seq, out)
    assert tracker.diagnostics["update_case"] == "both_lost_rescale_search_area"
    assert "redetect_ran" not in tracker.diagnostics


@pytest.mark.parametrize("image,crop", [((480, 854), (200, 300)), ((240, 320), (300, 500)), ((720, 1280), (90, 160)),
                                        ((100, 100), (40, 40))])
def test_tiles_cover_every_pixel_within_the_tile_budget(image, crop):
    centres = tile_centres(image, crop, max_tiles=16)
    assert len(centres) <= 16
    covered = np.zeros(image, bool)
    for y, x in centres.tolist():
        covered[max(int(np.floor(y - crop[0] / 2)), 0):int(np.ceil(y + crop[0] / 2)),
                max(int(np.floor(x - crop[1] / 2)), 0):int(np.ceil(x + crop[1] / 2))] = True
    needed = np.prod([max(-(-s // c), 1) for s, c in zip(image, crop)])  # ceil(size / crop) per axis
    assert needed > 16 or covered.all()


class _PeakNet:
    """Classification scores with a single peak at ``cell`` in tile ``tile``, zeros elsewhere."""

    def __init__(self, tile: int, cell: tuple[int, int], shape=(6, 10)) -> None:
        self.tile, self.cell, self.shape, self.seen = tile, cell, shape, 0

    def extract_classification_feat(self, layer3):
        return layer3

    def classify(self, kappa, x):
        scores = torch.zeros(x.shape[0], 1, *self.shape)
        for i in range(x.shape[0]):
            if self.seen + i == self.tile:
                scores[i, 0, self.cell[0], self.cell[1]] = 0.9
        self.seen += x.shape[0]
        return scores


def test_the_best_peak_maps_to_its_image_position():
    image = torch.zeros(1, 3, 240, 320)
    img_sample_sz = torch.tensor([80.0, 144.0])  # score map 5 x 9 (+1 for the even kernel)
    ksz_even = torch.tensor([1.0, 1.0])
    net = _PeakNet(tile=2, cell=(4, 7))
    found = search_frame(net, None, lambda patches: {"layer3": patches}, image, 1.0, img_sample_sz, ksz_even)
    centre = tile_centres((240, 320), (80.0, 144.0))[2]
    stride = img_sample_sz / torch.tensor([5.0, 9.0])
    expected = centre + (torch.tensor([4.0, 7.0]) - torch.tensor([2.5, 4.5])) * stride
    assert found.score == pytest.approx(0.9)
    assert torch.allclose(found.pos, expected, atol=1.0)


@pytest.mark.parametrize("score,accepted", [(0.9, True), (0.4, False)])
def test_a_confident_detection_moves_the_search_area_and_a_weak_one_does_not(workspace, tmp_path, monkeypatch,
                                                                              rts_network_dir, score, accepted):
    tracker, seq, out = _started_tracker("rts50_redetect", tmp_path, monkeypatch, rts_network_dir)
    target = torch.tensor([200.0, 280.0])  # far from the square
    monkeypatch.setattr(tracker_module, "search_frame", lambda *a, **k: Detection(target.clone(), score, 4))
    result = _track_while_lost(tracker, seq, out)
    diag = tracker.diagnostics
    assert diag["redetect_ran"] and diag["redetect_score"] == score and diag["redetect_tiles"] == 4
    assert diag["redetect_accepted"] == accepted
    x, y, w, h = result["clf_search_area"]
    centre = torch.tensor([y + h / 2, x + w / 2])
    moved = bool((centre - target).abs().max() < 0.25 * max(w, h))
    assert moved == accepted
    if accepted:
        assert tracker.not_found_count == 0
