"""Re-detection: off in rts50, frame-wide tiling, peak -> image position, accept/refuse by score."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pytracking_ext.trackers.rts.tracker as tracker_module
from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.trackers.rts.redetection import CropSettings, Detection, frame_tiles, search_due, search_frame
from pytracking_ext.utils.io import imread_rgb
from seqgen import moving_square_sequence

MODES = [CropSettings(), CropSettings("inside_major", None, True), CropSettings("inside")]


@pytest.fixture(scope="module")
def started(rts_network_dir, tmp_path_factory):
    """One rts50_redetect tracker initialised on a moving square, and the video (copied per test).

    The crop is cut to 128x224 and the init optimisers to 2 steps: the re-detection mechanics do not
    depend on them, and the release's 480x832 crop makes a CPU init take 10-20 s.
    """
    params = get_parameters("rts", "rts50_redetect")
    params.net.path = str(rts_network_dir / "rts50.pth")
    params.use_gpu = False
    params.image_sample_size = params.clf_image_sample_size = (128, 224)
    params.net_opt_iter = params.clf_net_opt_iter = 2
    seq = moving_square_sequence(tmp_path_factory.mktemp("redetect"), frames=2, size=(240, 320), with_masks=True)
    tracker = get_tracker_class("rts")(params)
    with torch.no_grad():  # so the stored features carry no autograd graph and the tracker deep-copies
        out = tracker.initialize(imread_rgb(seq.frames[0]), seq.frame_info(0))
    return tracker, seq, out


def _lost_frame(started, redetect=True):
    """Track frame 2 with both branches lost for two frames already (the third makes redetect_after).

    ``redetect=False`` drops the ``redetect*`` settings, which turns rts50_redetect into rts50.
    """
    tracker, seq, out = started
    tracker = copy.deepcopy(tracker, {id(tracker.net): tracker.net})
    if not redetect:
        for key in [k for k in vars(tracker.params) if k.startswith("redetect")]:
            delattr(tracker.params, key)
    tracker.is_lost_seg, tracker.is_lost_clf = True, True
    tracker.not_found_count = 2
    result = tracker.track(imread_rgb(seq.frames[1]), {"previous_output": out})
    return tracker, result


def test_rts50_redetect_is_rts50_plus_the_redetect_settings():
    plain, redetect = vars(get_parameters("rts", "rts50")), vars(get_parameters("rts", "rts50_redetect"))
    added = {k: v for k, v in redetect.items() if k not in plain}
    assert added == {
        "redetect": True,
        "redetect_after": 3,
        "redetect_interval": 2,
        "redetect_threshold": 0.5,
        "redetect_max_tiles": 16,
    }
    assert {k: v for k, v in redetect.items() if k in plain and k != "param_name"} == {
        k: v for k, v in plain.items() if k != "param_name"
    }


def test_rts50_never_runs_a_frame_wide_search_while_lost(started, monkeypatch):
    monkeypatch.setattr(tracker_module, "search_frame", lambda *a, **k: pytest.fail("re-detection ran"))
    tracker, _ = _lost_frame(started, redetect=False)
    assert tracker.diagnostics["update_case"] == "both_lost_rescale_search_area"
    assert tracker.not_found_count == 3
    assert not any(key.startswith("redetect") for key in tracker.diagnostics)


def test_the_search_is_due_after_redetect_after_lost_frames_then_every_interval():
    assert [n for n in range(12) if search_due(n, after=3, every=2)] == [3, 5, 7, 9, 11]
    assert [n for n in range(5) if search_due(n, after=1, every=1)] == [1, 2, 3, 4]


def _covered(image_size, crop, img_sample_sz, scale):
    image = torch.zeros(1, 1, *image_size)
    count, tiles = frame_tiles(image, scale, torch.tensor(img_sample_sz, dtype=torch.float32), 16, crop)
    covered = np.zeros(image_size, bool)
    for _, coords in tiles:
        r0, c0, r1, c1 = coords.tolist()
        covered[max(math.ceil(r0), 0) : math.ceil(r1), max(math.ceil(c0), 0) : math.ceil(c1)] = True
    return count, covered


@pytest.mark.parametrize("crop", MODES, ids=lambda c: f"{c.mode}-half{int(c.half_pixel_corners)}")
@pytest.mark.parametrize(
    "image_size,sample,scale",
    [
        ((480, 854), (200, 300), 1.0),  # half-crop overlap needs 4 x 5 tiles: the stride is enlarged
        ((240, 320), (300, 500), 1.0),  # crop larger than the frame: one tile
        ((240, 320), (200, 173), 1.5),  # larger than the frame in y only ('inside' shrinks both axes)
        ((100, 100), (40, 40), 1.0),
        ((241, 333), (64, 96), 1.25),
    ],
)
def test_tiles_cover_every_pixel_within_the_tile_budget(image_size, sample, scale, crop):
    count, covered = _covered(image_size, crop, sample, scale)
    assert 1 <= count <= 16
    assert covered.all()


@pytest.mark.parametrize("max_tiles", [1, 4, 16])
def test_tiles_never_exceed_the_budget_even_when_it_cannot_cover_the_frame(max_tiles):
    count, tiles = frame_tiles(torch.zeros(1, 1, 720, 1280), 1.0, torch.tensor([90.0, 160.0]), max_tiles)
    assert count == len(list(tiles)) <= max_tiles


class _BlobNet:
    """Scores a tile by its brightness on a 16-pixel grid; a 2x2 box filter with the padding of an
    even kernel gives the score map one more cell per axis, as the real classifier does."""

    @staticmethod
    def backbone(patches):
        return {"layer3": F.avg_pool2d(patches.mean(dim=1, keepdim=True), 16)}

    def extract_classification_feat(self, layer3):
        return layer3

    def classify(self, kappa, x):
        return F.avg_pool2d(F.pad(x[:, 0], (1, 1, 1, 1)), 2, stride=1)


@pytest.mark.parametrize("crop", MODES, ids=lambda c: f"{c.mode}-half{int(c.half_pixel_corners)}")
@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_a_bright_spot_anywhere_in_the_frame_is_found_within_one_feature_stride(scale, crop):
    image = torch.zeros(1, 3, 240, 320)
    image[..., 150:158, 250:258] = 255.0  # blob centre (153.5, 253.5)
    img_sample_sz = torch.tensor([80.0, 144.0])  # 5 x 9 cells, score map 6 x 10
    found = search_frame(
        _BlobNet(), None, _BlobNet.backbone, image, scale, img_sample_sz, torch.tensor([1.0, 1.0]), crop=crop
    )
    assert found.score > 0
    assert (found.pos - torch.tensor([153.5, 253.5])).abs().max() <= 16 * scale


class _PeakNet:
    """Zero scores but for one peak at ``cell`` of tile ``tile`` (tiles counted in search order)."""

    def __init__(self, tile: int, cell: tuple[int, int], shape=(6, 10)) -> None:
        self.tile, self.cell, self.shape, self.seen = tile, cell, shape, 0

    def extract_classification_feat(self, layer3):
        return layer3

    def classify(self, kappa, x):
        scores = torch.zeros(x.shape[0], 1, *self.shape)
        if 0 <= self.tile - self.seen < x.shape[0]:
            scores[self.tile - self.seen, 0, self.cell[0], self.cell[1]] = 0.9
        self.seen += x.shape[0]
        return scores


@pytest.mark.parametrize("crop", MODES, ids=lambda c: f"{c.mode}-half{int(c.half_pixel_corners)}")
@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_a_peak_cell_maps_to_the_image_pixel_its_feature_window_is_centred_on(scale, crop):
    image = torch.zeros(1, 3, 240, 320)
    img_sample_sz = torch.tensor([80.0, 144.0])  # 16-pixel cells: 5 x 9 features, 6 x 10 scores (even kernel)
    tile, cell = 2, torch.tensor([4.0, 7.0])
    found = search_frame(
        _PeakNet(tile, (4, 7)),
        None,
        lambda patches: {"layer3": patches},
        image,
        scale,
        img_sample_sz,
        torch.tensor([1.0, 1.0]),
        crop=crop,
    )
    _, tiles = frame_tiles(image, scale, img_sample_sz, 16, crop)
    coords = [c for _, c in tiles][tile].to(torch.float32)
    pixel = ((coords[2:] - coords[:2]) / img_sample_sz).prod().sqrt()  # image pixels per crop pixel
    # Score cell j sits on feature position j - 0.5 (even kernel): the window centred on crop
    # coordinate 16 j - 0.5, which is image coordinate r0 + (16 j - 0.5 + 0.5) * pixel - 0.5 (pixel
    # centres). Half-pixel corners make a crop one pixel longer than nominal: a sub-pixel difference.
    expected = coords[:2] + 16 * cell * pixel - 0.5
    assert found.score == pytest.approx(0.9)
    assert torch.allclose(found.pos, expected, atol=0.25)


@pytest.mark.parametrize("score,accepted", [(0.9, True), (0.4, False)])
def test_a_confident_detection_moves_the_search_area_and_a_weak_one_does_not(started, monkeypatch, score, accepted):
    target = torch.tensor([200.0, 280.0])  # far from the square (top left)
    monkeypatch.setattr(tracker_module, "search_frame", lambda *a, **k: Detection(target.clone(), score, 4))
    tracker, result = _lost_frame(started)
    diag = tracker.diagnostics
    assert diag["redetect_ran"] and diag["redetect_score"] == score and diag["redetect_tiles"] == 4
    assert diag["redetect_accepted"] == accepted
    x, y, w, h = result["clf_search_area"]
    centre = torch.tensor([y + h / 2, x + w / 2])
    assert bool((centre - target).abs().max() < 0.25 * max(w, h)) == accepted
    if accepted:
        assert tracker.not_found_count == 0
        assert torch.equal(tracker.target_scale, tracker.target_scales[-1])
        assert torch.allclose(tracker.target_sz, tracker.base_target_sz * tracker.target_scales[-1])
    else:
        assert tracker.not_found_count == 3
