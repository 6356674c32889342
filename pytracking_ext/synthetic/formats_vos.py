"""Writers for the video object segmentation benchmarks: DAVIS 2016/2017 and YouTube-VOS 2019."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..utils.io import atomic_open, imwrite_indexed, imwrite_rgb
from .common import GeneratedDataset, GenerationSpec, TrackRecorder, progress, render_frames, write_json, write_lines
from .formats_sot import JPEG_QUALITY
from .names import DAVIS2016_VAL, DAVIS2017_TRAIN, DAVIS2017_VAL, YTVOS_SEEN, YTVOS_UNSEEN, take_names
from .scene import Scene, SceneConfig, make_scene

YTVOS_FRAME_STEP = 5  # train/valid JPEGImages hold every 5th frame of the 30 fps video


def imwrite_binary(path: Path, mask: np.ndarray) -> None:
    """DAVIS 2016 style mask: 8-bit grayscale ('L') PNG with 0 = background, 255 = object."""
    from PIL import Image

    image = Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L")
    with atomic_open(path, "wb") as f:
        image.save(f, format="PNG")


def _davis_sequence(
    spec: GenerationSpec, key: tuple[int, ...], root: Path, name: str, num_objects: int, variant: int, binary: bool
) -> None:
    config = SceneConfig(
        spec.width, spec.height, spec.num_frames, num_objects, True, frozenset({0}), False, variant, spec.distractors
    )
    scene = make_scene(spec.rng(*key), config)
    for f, frame in enumerate(render_frames(scene, range(spec.num_frames), TrackRecorder())):
        imwrite_rgb(root / "JPEGImages" / "480p" / name / f"{f:05d}.jpg", frame.image, quality=JPEG_QUALITY)
        mask_path = root / "Annotations" / "480p" / name / f"{f:05d}.png"
        if binary:
            imwrite_binary(mask_path, frame.label == 1)
        else:
            imwrite_indexed(mask_path, frame.label)


def write_davis(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """DAVIS 2017 (palette PNGs with ids 1..K, train and val) or, with ``davis_version=2016``, DAVIS 2016 val."""
    if spec.davis_version == 2016:
        names = take_names(DAVIS2016_VAL, spec.num_sequences, lambda i: f"synthetic-{i + 1}")
        for index, name in enumerate(progress(names, "davis2016 val", spec)):
            _davis_sequence(spec, (8, 16, index), out, name, 1, index, binary=True)
        write_lines(out / "ImageSets" / "2016" / "val.txt", names)
        write_lines(
            out / "ImageSets" / "480p" / "val.txt",
            [
                f"/JPEGImages/480p/{name}/{f:05d}.jpg /Annotations/480p/{name}/{f:05d}.png"
                for name in names
                for f in range(spec.num_frames)
            ],
        )
        return GeneratedDataset(out, "davis16_dir", out)
    for split_index, (split, table) in enumerate((("train", DAVIS2017_TRAIN), ("val", DAVIS2017_VAL))):
        names = take_names(table, spec.num_sequences, lambda i, s=split: f"synthetic-{s}-{i + 1}")
        for index, name in enumerate(progress(names, f"davis2017 {split}", spec)):
            _davis_sequence(spec, (8, 17, split_index, index), out, name, spec.num_objects, index, binary=False)
        write_lines(out / "ImageSets" / "2017" / f"{split}.txt", names)
    return GeneratedDataset(out, "davis_dir", out)


def _video_id(rng: np.random.Generator) -> str:
    return "".join(f"{v:x}" for v in rng.integers(0, 16, size=10))


def _ytvos_scene(spec: GenerationSpec, key: tuple[int, ...], variant: int) -> Scene:
    config = SceneConfig(
        spec.width,
        spec.height,
        spec.num_frames,
        spec.num_objects,
        True,
        frozenset({0}),
        True,
        variant,
        distractors=spec.distractors,
    )
    return make_scene(spec.rng(*key), config)


def _categories(rng: np.random.Generator, count: int, unseen_first: bool) -> list[str]:
    picked = [str(c) for c in rng.choice(YTVOS_SEEN, size=count)]
    if unseen_first:
        picked[0] = str(rng.choice(YTVOS_UNSEEN))
    return picked


def _write_ytvos_train(out: Path, spec: GenerationSpec) -> dict:
    split = out / "2019" / "train"
    id_rng = spec.rng(9, 0, 1_000_000)
    videos = {}
    for index in progress(range(spec.num_sequences), "youtubevos train", spec):
        video = _video_id(id_rng)
        offset = YTVOS_FRAME_STEP * int(id_rng.integers(0, 4)) if index % 2 else 0
        names = [f"{offset + YTVOS_FRAME_STEP * k:05d}" for k in range(spec.num_frames)]
        scene = _ytvos_scene(spec, (9, 0, index), index)
        visible = np.zeros((spec.num_objects, spec.num_frames), bool)
        for f, frame in enumerate(render_frames(scene, range(spec.num_frames), TrackRecorder())):
            imwrite_rgb(split / "JPEGImages" / video / f"{names[f]}.jpg", frame.image, quality=JPEG_QUALITY)
            imwrite_indexed(split / "Annotations" / video / f"{names[f]}.png", frame.label)
            visible[:, f] = frame.visible_pixels > 0
        categories = _categories(id_rng, spec.num_objects, unseen_first=False)
        videos[video] = {
            "objects": {
                str(i + 1): {"category": categories[i], "frames": [n for n, v in zip(names, visible[i]) if v]}
                for i in range(spec.num_objects)
            }
        }
    return videos


def _write_ytvos_valid(out: Path, spec: GenerationSpec) -> dict:
    year = out / "2019"
    id_rng = spec.rng(9, 1, 1_000_000)
    videos = {}
    for index in progress(range(spec.num_sequences), "youtubevos valid", spec):
        video = _video_id(id_rng)
        offset = YTVOS_FRAME_STEP * int(id_rng.integers(1, 4)) if index % 2 else 0
        scene = _ytvos_scene(spec, (9, 1, index), index)
        starts = [layer.start for layer in scene.objects]
        dense = YTVOS_FRAME_STEP * (spec.num_frames - 1) + 1
        for k, frame in enumerate(render_frames(scene, (k / YTVOS_FRAME_STEP for k in range(dense)), TrackRecorder())):
            name = f"{offset + k:05d}"
            imwrite_rgb(
                year / "valid_all_frames" / "JPEGImages" / video / f"{name}.jpg", frame.image, quality=JPEG_QUALITY
            )
            if k % YTVOS_FRAME_STEP:
                continue
            f = k // YTVOS_FRAME_STEP
            imwrite_rgb(year / "valid" / "JPEGImages" / video / f"{name}.jpg", frame.image, quality=JPEG_QUALITY)
            imwrite_indexed(year / "valid_gt" / "Annotations" / video / f"{name}.png", frame.label)
            new_ids = [i + 1 for i, s in enumerate(starts) if s == f]
            if new_ids:
                first = np.where(np.isin(frame.label, new_ids), frame.label, 0)
                imwrite_indexed(year / "valid" / "Annotations" / video / f"{name}.png", first)
        names = [f"{offset + YTVOS_FRAME_STEP * k:05d}" for k in range(spec.num_frames)]
        categories = _categories(id_rng, spec.num_objects, unseen_first=index % 2 == 0)
        videos[video] = {
            "objects": {
                str(i + 1): {"category": categories[i], "frames": names[starts[i] :]} for i in range(spec.num_objects)
            }
        }
    return videos


def write_youtubevos(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """``2019/{train,valid}`` with ``meta.json``, sparse valid annotations, ``valid_all_frames``, ``valid_gt``."""
    for split, writer in (("train", _write_ytvos_train), ("valid", _write_ytvos_valid)):
        videos = writer(out, spec)
        write_json(out / "2019" / split / "meta.json", {"videos": dict(sorted(videos.items()))})
    return GeneratedDataset(out, "youtubevos_dir", out)
