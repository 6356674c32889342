"""Re-detection (beyond the release): search the whole frame with the instance model.

The release only widens its search area while both branches have lost the target (C.8), so a
target that leaves the view and returns elsewhere stays lost. Here the frame is tiled with search
crops at the scale the instance model was learned at (the last valid target scale), every tile is
classified with the current filter kappa, and the best peak over all tiles is the candidate. The
tracker accepts it above a threshold and moves its search area there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .geometry import sample_geometry, sample_patch
from .instance_branch import peak_translation


@dataclass
class Detection:
    pos: torch.Tensor  # (y, x) image pixels
    score: float
    tiles: int


def _axis_centres(size: float, crop: float, count: int) -> torch.Tensor:
    if crop >= size or count == 1:
        return torch.tensor([size / 2])
    return torch.linspace(crop / 2, size - crop / 2, count)


def tile_centres(image_size: tuple[int, int], crop_size: tuple[float, float], max_tiles: int = 16) -> torch.Tensor:
    """Centres ``(n, 2)`` (y, x) of crops that cover the image, overlapping by half a crop when the
    budget allows; over ``max_tiles`` the overlap shrinks first (never below full coverage, which
    needs ``ceil(size / crop)`` crops per axis), then the per-axis counts are capped."""
    counts = [1 if c >= s else math.ceil((s - c) / (c / 2)) + 1 for s, c in zip(image_size, crop_size)]
    minimum = [1 if c >= s else math.ceil(s / c) for s, c in zip(image_size, crop_size)]
    while counts[0] * counts[1] > max_tiles and (counts[0] > minimum[0] or counts[1] > minimum[1]):
        axis = 0 if counts[0] - minimum[0] >= counts[1] - minimum[1] else 1
        counts[axis] -= 1
    while counts[0] * counts[1] > max_tiles:  # the budget is below full coverage: cap the larger axis
        counts[0 if counts[0] >= counts[1] else 1] -= 1
    ys = _axis_centres(image_size[0], crop_size[0], counts[0])
    xs = _axis_centres(image_size[1], crop_size[1], counts[1])
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(-1, 2)


def search_frame(net, kappa: torch.Tensor, backbone: Callable[[torch.Tensor], dict], image: torch.Tensor,
                 scale: float, img_sample_sz: torch.Tensor, ksz_even: torch.Tensor, max_tiles: int = 16,
                 batch: int = 4, mode: str = "replicate") -> Detection:
    """Best instance-model peak over tiles covering ``image`` ``(1, 3, H, W)`` at search ``scale``."""
    crop = scale * img_sample_sz
    centres = tile_centres(tuple(image.shape[-2:]), tuple(float(v) for v in crop), max_tiles)
    out_size = img_sample_sz.long().tolist()
    best: Detection | None = None
    for start in range(0, len(centres), batch):
        chunk = centres[start:start + batch]
        crops = [sample_patch(image, c, crop, out_size, mode=mode) for c in chunk]
        with torch.no_grad():
            layer3 = backbone(torch.cat([patch for patch, _ in crops]))["layer3"]
            scores = net.classify(kappa, net.extract_classification_feat(layer3)[:, None])
        for tile_scores, (_, coords) in zip(scores, crops):
            sample_pos, sample_scale = sample_geometry(coords, out_size)
            offset, score = peak_translation(tile_scores.cpu(), img_sample_sz, ksz_even,
                                             torch.tensor(sample_scale, dtype=torch.float32))
            if best is None or score > best.score:
                best = Detection(sample_pos + offset, score, len(centres))
    assert best is not None
    return best
