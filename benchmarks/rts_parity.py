"""Parity errors of our RTS against the official implementation's fixtures (``../shared/fixtures/rts``).

    python benchmarks/rts_parity.py [--shared ../shared] [--threads 2]

Prints what ``tests/test_rts_network.py`` and ``tests/test_rts_tracker.py`` assert, as numbers:
the training-style forward's relative errors (max absolute error / max |reference|) for the mask
logits and all classifier iterates, and, for the tracker on ``tracker_ref`` with seed-0 synthetic
weights, the largest box difference and the share of mask pixels that differ per frame.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from ltr_ext.admin.loading import load_state_dict_strict
from ltr_ext.models.rts import build_rts50
from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.utils.io import imread_rgb
from rts_speed import reference_sequence, seed0_weights  # a sibling script: python puts benchmarks/ on the path

ROOT = Path(__file__).resolve().parents[1]

INPUTS = ("train_imgs", "test_imgs", "train_masks", "test_masks", "train_bb", "train_label", "test_label")


def relative_error(ours: torch.Tensor, reference: np.ndarray) -> float:
    return float((ours.detach() - torch.from_numpy(reference)).abs().max()) / float(np.abs(reference).max())


def network_errors(weights: Path, outputs: dict[str, np.ndarray]) -> dict[str, float]:
    net = build_rts50()
    load_state_dict_strict(net, torch.load(weights, weights_only=True))
    net.eval()
    with torch.no_grad():
        masks, scores = net(*(torch.from_numpy(outputs[f"in_{name}"]) for name in INPUTS), num_refinement_iter=2)
    return {
        "out_mask_pred": relative_error(masks, outputs["out_mask_pred"]),
        "out_clf_scores_all_iters": relative_error(torch.stack(scores), outputs["out_clf_scores_all_iters"]),
    }


def tracker_errors(weights: Path, shared: Path, scratch: Path) -> tuple[int, float, list[float]]:
    """Frames, the largest box difference (pixels) and the differing mask share of each tracked frame."""
    images, box, mask, boxes = reference_sequence(shared, None, scratch)
    params = get_parameters("rts", "rts50")
    params.net.path, params.device = str(weights), "cpu"
    tracker = get_tracker_class("rts")(params)
    out = tracker.initialize(images[0], {"init_bbox": box, "init_mask": mask})
    box_error, mask_shares = 0.0, []
    for index, image in enumerate(images[1:], start=1):
        out = tracker.track(image, {"previous_output": out})
        box_error = max(box_error, float(np.abs(np.asarray(out["target_bbox"]) - boxes[index]).max()))
        expected = (
            imread_rgb(shared / "fixtures" / "rts" / "tracker_ref" / "masks" / f"{index + 1:05d}.png")[..., 0] > 127
        )
        mask_shares.append(float(((out["segmentation"] > 0) != expected).mean()))
    return len(images), box_error, mask_shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    folder = args.shared / "fixtures" / "rts"
    if not (folder / "outputs.npz").is_file():
        print(f"rts_parity: no official fixtures under {folder} (outputs.npz missing)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        weights = seed0_weights(args.shared, Path(tmp) / "rts50_seed0.pth")
        for key, error in network_errors(weights, dict(np.load(folder / "outputs.npz"))).items():
            print(f"network {key}: relative error {error:.2e}")
        frames, box_error, shares = tracker_errors(weights, args.shared, Path(tmp))
    print(
        f"tracker on {frames} frames: largest box difference {box_error:.2e} px; mask pixels differing "
        f"per frame: max {max(shares) * 100:.4f} %, mean {np.mean(shares) * 100:.5f} %"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
