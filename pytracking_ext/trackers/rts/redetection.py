"""Re-detection (beyond the release): search the whole frame with the instance model.

The release only widens its search area while both branches have lost the target (C.8), so a
target that leaves the view and returns elsewhere stays lost. Here the frame is tiled with search
crops at the scale the instance model was learned at (the last valid target scale), every tile is
classified with the current filter kappa, and the best peak over all tiles is the candidate. The
tracker accepts it above a threshold and moves its search area there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import torch

from ..params import TrackerParams
from .geometry import fitted_sample_size, sample_geometry, sample_patch
from .instance_branch import peak_translation


@dataclass(frozen=True)
class CropSettings:
    """How the tracker cuts its search crops (border mode, shrink limit, corner convention)."""

    mode: str = "replicate"
    max_scale_change: float | None = None
    half_pixel_corners: bool = False

    @classmethod
    def from_params(cls, params: TrackerParams) -> CropSettings:
        """The settings the tracker's per-frame search crop uses."""
        return cls(
            params.get("border_mode", "replicate"),
            params.get("patch_max_scale_change", None),
            params.get("crop_half_pixel_corners", False),
        )


@dataclass
class Detection:
    """Best peak of a frame-wide search."""

    pos: torch.Tensor  # (y, x) image pixels
    score: float
    tiles: int


def search_due(lost_frames: int, after: int = 3, every: int = 2) -> bool:
    """Whether a lost spell of ``lost_frames`` consecutive frames calls for a frame-wide search:
    first at ``after`` frames, then every ``every`` frames."""
    return lost_frames >= after and (lost_frames - after) % max(every, 1) == 0


def _axis_centres(size: int, crop: float, count: int) -> torch.Tensor:
    # Pixel-centre convention (C.2): a crop of n pixels centred at c spans c - (n-1)/2 .. c + (n-1)/2,
    # so the outer tiles touch pixels 0 and size - 1 even after sample_patch truncates c.
    if crop >= size or count == 1:
        return torch.tensor([(size - 1) / 2])
    return torch.linspace((crop - 1) / 2, size - 1 - (crop - 1) / 2, count)


def tile_centres(image_size: Sequence[int], crop_size: Sequence[float], max_tiles: int = 16) -> torch.Tensor:
    """Centres ``(n, 2)`` (y, x) of crops of ``crop_size`` that cover an image of ``image_size``.

    Neighbouring crops overlap by half a crop when ``max_tiles`` allows it. Over the budget the
    stride is enlarged (fewer, evenly spread crops per axis, the axis with the most spare crops
    first) down to the fewest crops that still cover the image (``ceil(size / crop)`` per axis).
    Only if even that exceeds the budget is coverage given up: the larger count is cut further.
    """
    if max_tiles < 1:
        raise ValueError(f"redetect_max_tiles must be at least 1, got {max_tiles}")
    counts = [1 if c >= s else math.ceil((s - c) / (c / 2)) + 1 for s, c in zip(image_size, crop_size)]
    minimum = [1 if c >= s else math.ceil(s / c) for s, c in zip(image_size, crop_size)]
    while counts[0] * counts[1] > max_tiles and (counts[0] > minimum[0] or counts[1] > minimum[1]):
        axis = 0 if counts[0] - minimum[0] >= counts[1] - minimum[1] else 1
        counts[axis] -= 1
    while counts[0] * counts[1] > max_tiles:
        counts[0 if counts[0] >= counts[1] else 1] -= 1
    ys = _axis_centres(int(image_size[0]), float(crop_size[0]), counts[0])
    xs = _axis_centres(int(image_size[1]), float(crop_size[1]), counts[1])
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(-1, 2)


def frame_tiles(
    image: torch.Tensor,
    scale: float,
    img_sample_sz: torch.Tensor,
    max_tiles: int = 16,
    crop: CropSettings = CropSettings(),
) -> tuple[int, Iterator[tuple[torch.Tensor, torch.Tensor]]]:
    """Number of tiles and a lazy stream of ``(patch, corners)`` search crops covering ``image``.

    Each crop is ``scale * img_sample_sz`` image pixels resized to ``img_sample_sz``, cut as the
    tracker cuts its search area; the tiling uses the size the border mode actually cuts.
    """
    sample_sz = scale * img_sample_sz
    fitted = fitted_sample_size(sample_sz, image.shape[-2:], crop.mode, crop.max_scale_change)
    centres = tile_centres(tuple(image.shape[-2:]), fitted.tolist(), max_tiles)
    out_size = img_sample_sz.long().tolist()
    stream = (
        sample_patch(
            image,
            c,
            sample_sz,
            out_size,
            mode=crop.mode,
            max_scale_change=crop.max_scale_change,
            half_pixel_corners=crop.half_pixel_corners,
        )
        for c in centres
    )
    return len(centres), stream


def search_frame(
    net,
    kappa: torch.Tensor,
    backbone: Callable[[torch.Tensor], dict],
    image: torch.Tensor,
    scale: float,
    img_sample_sz: torch.Tensor,
    ksz_even: torch.Tensor,
    max_tiles: int = 16,
    crop: CropSettings = CropSettings(),
    batch: int = 4,
) -> Detection:
    """Best instance-model peak over tiles covering ``image`` ``(1, 3, H, W)`` at search ``scale``.

    ``backbone`` normalises and runs the backbone (the tracker's ``_backbone``); tiles go through
    it ``batch`` at a time.
    """
    count, tiles = frame_tiles(image, scale, img_sample_sz, max_tiles, crop)
    out_size = img_sample_sz.long().tolist()
    best: Detection | None = None
    while chunk := list(islice(tiles, batch)):
        with torch.no_grad():
            layer3 = backbone(torch.cat([patch for patch, _ in chunk]))["layer3"]
            scores = net.classify(kappa, net.extract_classification_feat(layer3)[:, None])
        for tile_scores, (_, coords) in zip(scores, chunk):
            sample_pos, sample_scale = sample_geometry(coords, out_size)
            offset, score = peak_translation(
                tile_scores.cpu(), img_sample_sz, ksz_even, torch.tensor(sample_scale, dtype=torch.float32)
            )
            if best is None or score > best.score:
                best = Detection(sample_pos + offset, score, count)
    if best is None:
        raise RuntimeError("frame-wide search produced no tile")  # tile_centres always yields >= 1
    return best
