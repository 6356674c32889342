"""Box-only initialisation (RTS): filled box vs GrabCut on generated images."""

from __future__ import annotations

import numpy as np
import pytest

from pytracking_ext.trackers.rts.box_init import BOX_INIT_METHODS, box_to_mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / max((a | b).sum(), 1))


def _ellipse_scene(scale: float = 1.0, seed: int = 0):
    """A textured reddish ellipse on a textured bluish background (320x240 times ``scale``), its mask and tight box."""
    rng = np.random.default_rng(seed)
    height, width = round(240 * scale), round(320 * scale)
    yy, xx = np.mgrid[0:height, 0:width]
    cx, cy, ax, ay = 170.0 * scale, 115.0 * scale, 70.0 * scale, 45.0 * scale
    inside = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0

    background = np.stack([40 + 20 * np.sin(xx / 7.0), 90 + 25 * np.cos(yy / 5.0), np.full(xx.shape, 170.0)], -1)
    stripes = 30 * (((xx + yy) // 6) % 2)
    foreground = np.stack([200.0 + stripes, 80.0 + 0.5 * stripes, np.full(xx.shape, 50.0)], -1)
    image = np.where(inside[..., None], foreground, background) + rng.normal(0, 8, (height, width, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)

    ys, xs = np.nonzero(inside)
    box = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
    return image, inside.astype(np.uint8), box


def test_grabcut_beats_filled_box_on_ellipse():
    image, truth, box = _ellipse_scene()
    box_iou = _iou(box_to_mask(image, box, "box"), truth)
    grabcut_iou = _iou(box_to_mask(image, box, "grabcut"), truth)
    assert box_iou == pytest.approx(np.pi / 4, abs=0.03)  # an ellipse fills pi/4 of its box
    assert grabcut_iou > box_iou + 0.05
    assert grabcut_iou > 0.9


def test_grabcut_on_large_box_uses_downscaled_crop_and_still_segments():
    image, truth, box = _ellipse_scene(scale=3.0)
    assert box[2] > 400  # the crop's longer side exceeds the processing size, so it is downscaled
    grabcut_iou = _iou(box_to_mask(image, box, "grabcut"), truth)
    assert grabcut_iou > _iou(box_to_mask(image, box, "box"), truth) + 0.05
    assert grabcut_iou > 0.9


@pytest.mark.parametrize("method", sorted(BOX_INIT_METHODS))
def test_output_dtype_shape_and_values(method):
    image, _, box = _ellipse_scene()
    mask = box_to_mask(image, box, method)
    assert mask.dtype == np.uint8
    assert mask.shape == image.shape[:2]
    assert set(np.unique(mask).tolist()) <= {0, 1}


@pytest.mark.parametrize("method", sorted(BOX_INIT_METHODS))
@pytest.mark.parametrize("box", [[101.4, 70.0, 140.0, 90.0], [-20.0, -10.0, 120.0, 80.0], [250.0, 190.0, 200.0, 200.0]])
def test_masks_stay_inside_the_box(method, box):
    image, _, _ = _ellipse_scene()
    mask = box_to_mask(image, box, method)
    x0, y0 = int(np.floor(box[0] + 0.5)), int(np.floor(box[1] + 0.5))
    x1, y1 = x0 + int(np.floor(box[2] + 0.5)) - 1, y0 + int(np.floor(box[3] + 0.5)) - 1
    outside = np.ones_like(mask, dtype=bool)
    outside[max(y0, 0) : y1 + 1, max(x0, 0) : x1 + 1] = False
    assert not mask[outside].any()
    assert mask.any()


def test_filled_box_follows_the_inclusive_convention():
    image = np.zeros((20, 30, 3), dtype=np.uint8)
    mask = box_to_mask(image, [3.0, 4.0, 5.0, 2.0], "box")
    ys, xs = np.nonzero(mask)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (3, 7, 4, 5)
    assert mask.sum() == 10
    assert not box_to_mask(image, [40.0, 4.0, 5.0, 2.0], "box").any()  # fully outside: empty


def test_tiny_box_falls_back_to_filled_box():
    image, _, _ = _ellipse_scene()
    box = [160.0, 110.0, 4.0, 5.0]
    np.testing.assert_array_equal(box_to_mask(image, box, "grabcut"), box_to_mask(image, box, "box"))


def test_uniform_image_falls_back_to_filled_box():
    # No colour difference at all: GrabCut has nothing to separate and must not return an empty mask.
    image = np.full((120, 160, 3), 128, dtype=np.uint8)
    box = [40.0, 30.0, 60.0, 50.0]
    np.testing.assert_array_equal(box_to_mask(image, box, "grabcut"), box_to_mask(image, box, "box"))


def test_box_covering_whole_image_falls_back_to_filled_box():
    image, _, _ = _ellipse_scene()
    box = [0.0, 0.0, float(image.shape[1]), float(image.shape[0])]
    np.testing.assert_array_equal(box_to_mask(image, box, "grabcut"), np.ones(image.shape[:2], np.uint8))


def test_unknown_method_raises_naming_known_ones():
    image, _, box = _ellipse_scene()
    with pytest.raises(ValueError) as info:
        box_to_mask(image, box, "snake")
    message = str(info.value)
    assert "snake" in message
    for name in BOX_INIT_METHODS:
        assert name in message


def test_grabcut_is_deterministic():
    image, _, box = _ellipse_scene(seed=3)
    first = box_to_mask(image, box, "grabcut")
    second = box_to_mask(image, box, "grabcut")
    np.testing.assert_array_equal(first, second)


def test_default_method_is_grabcut():
    image, _, box = _ellipse_scene()
    np.testing.assert_array_equal(box_to_mask(image, box), box_to_mask(image, box, "grabcut"))
