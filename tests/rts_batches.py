"""A frames-first RTS training batch of a bright square on noise, as SegmentationProcessing lays it
out: shared by the RTS training tests (tests/ is on sys.path under pytest's default import mode)."""

from __future__ import annotations

import torch

from ltr_ext.data.processing_utils import gaussian_label_function

H, W = 64, 96  # crop (h, w): multiples of 32


def square_batch(seq: int = 2, n_test: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    """Frames-first batch of a bright square on noise, as SegmentationProcessing lays it out."""
    g = torch.Generator().manual_seed(seed)
    frames = 1 + n_test
    images = torch.rand(frames, seq, 3, H, W, generator=g) - 0.5
    masks = torch.zeros(frames, seq, H, W)
    boxes = torch.zeros(frames, seq, 4)
    for t in range(frames):
        for s in range(seq):
            x, y = 20 + 3 * t + 10 * s, 16 + 2 * t
            images[t, s, :, y : y + 20, x : x + 24] += 1.0
            masks[t, s, y : y + 20, x : x + 24] = 1
            boxes[t, s] = torch.tensor([x, y, 24, 20])
    labels = gaussian_label_function(boxes, 0.05, 4, (W // 32, H // 32), (W, H)).view(
        frames, seq, H // 32 + 1, W // 32 + 1
    )
    return {
        "train_images": images[:1],
        "test_images": images[1:],
        "train_masks": masks[:1],
        "test_masks": masks[1:],
        "train_anno": boxes[:1],
        "test_anno": boxes[1:],
        "train_label": labels[:1],
        "test_label": labels[1:],
    }
