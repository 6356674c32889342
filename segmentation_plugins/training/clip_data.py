"""Training data of the segmentation plugins: clips of CamVid or Cityscapes (plus generated street
clips and camera-motion pseudo-videos) as tensors, and the class weights over their labels.

LMANet's recipe and EVS's ICNet and Refiner recipes share these helpers, so both methods train on
the same frames with the same class weights (and the same cached frequencies).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from ltr_ext.models.loss.class_weights import class_frequencies, log_inverse_weights
from pytracking_ext.registry import Registry
from pytracking_ext.utils.io import atomic_write_text
from segmentation_plugins.data import CameraMotionClips, CamVidClips, CityscapesClips
from segmentation_plugins.synthetic import generate_camvid


class ClipTensors(Dataset):
    """A clip dataset's samples as ``frames`` ``(L, 3, H, W)`` float in [0, 1] and ``label`` ``(H, W)`` int64."""

    def __init__(self, clips: Dataset, augment: Callable | None = None) -> None:
        self.clips, self.augment = clips, augment

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.clips[index]
        if self.augment is not None:
            # torch's generator is reseeded per epoch (and per worker) by the trainer: reproducible and resumable
            sample = self.augment(sample, np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()))))
        frames = torch.from_numpy(np.ascontiguousarray(sample["frames"])).permute(0, 3, 1, 2).float() / 255.0
        return {"frames": frames, "label": torch.from_numpy(np.asarray(sample["label"], dtype=np.int64))}


def _camvid(settings: Any, clip_length: int, training: bool) -> Dataset:
    root = settings.env.require("camvid_dir")
    split = settings.train_split if training else settings.val_split
    step = settings.train_max_frame_step if training else settings.val_max_frame_step
    return CamVidClips(root, split, clip_length=clip_length, max_frame_step=step, size=tuple(settings.input_size))


def _cityscapes(settings: Any, clip_length: int, training: bool) -> Dataset:
    root = settings.env.require("cityscapes_dir")
    split = settings.train_split if training else settings.val_split
    return CityscapesClips(root, split, clip_length=clip_length, size=tuple(settings.input_size))


def _generated_street(settings: Any, clip_length: int, training: bool) -> Dataset | None:
    """Street videos at video rate (written once into the workspace): real short-range motion for the memory."""
    # only clips need them: the single-frame run learns appearance from the real frames alone
    videos = int(settings.generated_videos) if training and clip_length > 1 else 0
    if videos <= 0:
        return None
    width, height = settings.input_size
    root = (
        Path(settings.env.workspace_dir) / "generated" / f"street_camvid_{videos}x{settings.generated_frames}_"
        f"{width}x{height}_seed{settings.generated_seed}"
    )
    if not (root / "frames.csv").is_file():
        generate_camvid(
            root,
            videos=videos,
            frames=int(settings.generated_frames),
            size=(width, height),
            seed=int(settings.generated_seed),
            split="train",
            overwrite=True,
        )
    return CamVidClips(root, "train", clip_length=clip_length, max_frame_step=2)


DATASETS = Registry("LMANet training dataset")  # the name shows in errors ("unknown LMANet training dataset")
DATASETS.add_all({"camvid": _camvid, "cityscapes": _cityscapes})


def _camera_motion(settings: Any, clip_length: int, training: bool) -> Dataset | None:
    """``camera_motion_clips`` pseudo-videos per epoch: each training frame under a moving camera
    (issue 19: CamVid train is labelled at 1 Hz, too far apart for the memory's local window)."""
    # getattr: EVS's presets do not declare the setting (its Refiner then trains without these clips)
    count = int(getattr(settings, "camera_motion_clips", 0)) if training and clip_length > 1 else 0
    if count <= 0:
        return None
    frames = DATASETS.get(settings.dataset)(settings, 1, training)
    return CameraMotionClips(frames, clip_length, clips=count)


def clip_datasets(settings: Any, clip_length: int, training: bool) -> Dataset:
    """The clips of ``settings.dataset`` (plus generated street and camera-motion clips when asked)
    for training or validation."""
    parts = [DATASETS.get(settings.dataset)(settings, clip_length, training)]
    for extra in (_generated_street, _camera_motion):
        dataset = extra(settings, clip_length, training)
        if dataset is not None:
            parts.append(dataset)
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def class_weights(settings: Any, clips: Dataset) -> torch.Tensor:
    """``1 / ln(c + f)`` over the training labels, cached in the workspace (reading them takes a while)."""
    # the folder keeps LMANet's name: caches written before the helpers were shared stay valid
    cache = (
        Path(settings.env.workspace_dir)
        / "cache"
        / "lmanet_class_weights"
        / f"{settings.dataset}_{settings.train_split}_{settings.num_classes}.json"
    )
    if cache.is_file():
        frequencies = json.loads(cache.read_text())["frequencies"]
    else:
        frequencies = class_frequencies((clips[i]["label"] for i in range(len(clips))), settings.num_classes).tolist()
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps({"frequencies": frequencies}, indent=1) + "\n")
    return log_inverse_weights(frequencies, c=settings.class_weight_c)
