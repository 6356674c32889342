"""Pseudo-videos from single annotated frames (ltr_ext.dataset.pseudo_videos) and the real-clip
filters of the rts_small train settings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from ltr_ext.dataset import davis
from ltr_ext.dataset.pseudo_videos import PseudoVideoSpec, annotated_frames, render_video, write_pseudo_videos
from ltr_ext.train_settings.rts import rts_small
from ltr_ext.train_settings.rts.rts_small import pseudo_video_plan, real_clip_weights, real_clips
from pytracking_ext.errors import DatasetError
from pytracking_ext.utils.io import atomic_write_text, imread_indexed, imwrite_indexed

OBJECT_RGB = (200, 30, 30)  # a saturated red no background pixel has


def _source(root: Path, sequences=("a", "b"), frames: int = 3) -> Path:
    """A DAVIS-2016-layout folder: a red rectangle on grey noise, annotated."""
    rng = np.random.default_rng(0)
    for name in sequences:
        (root / "JPEGImages" / "480p" / name).mkdir(parents=True)
        (root / "Annotations" / "480p" / name).mkdir(parents=True)
        for t in range(frames):
            image = rng.integers(90, 140, (120, 160, 3)).astype(np.uint8)
            mask = np.zeros((120, 160), np.uint8)
            mask[40:80, 50:110] = 1
            image[mask > 0] = OBJECT_RGB
            cv2.imwrite(str(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg"), image[..., ::-1])
            imwrite_indexed(root / "Annotations" / "480p" / name / f"{t:05d}.png", mask)
    atomic_write_text(root / "ImageSets" / "2016" / "train.txt", "\n".join(sequences) + "\n")
    return root


def _is_object_colour(frame: np.ndarray) -> np.ndarray:
    return (frame[..., 0] > 150) & (frame[..., 1] < 80) & (frame[..., 2] < 80)


def test_pseudo_videos_are_a_davis_folder_the_training_reads(tmp_path):
    spec = PseudoVideoSpec(num_videos=3, num_frames=5, size=(96, 64))
    out = write_pseudo_videos(tmp_path / "pv", [_source(tmp_path / "src")], spec)
    dataset = davis(out, "2017", "train")
    assert sorted(e.sequence.name for e in dataset.entries) == ["pseudo0000", "pseudo0001", "pseudo0002"]
    assert len(list((out / "JPEGImages" / "480p" / "pseudo0001").glob("*.jpg"))) == 5
    assert not list(tmp_path.glob("pv.partial*"))


def test_same_arguments_give_the_same_pseudo_videos(tmp_path):
    source = _source(tmp_path / "src")
    spec = PseudoVideoSpec(num_videos=2, num_frames=4, size=(96, 64), seed=3)
    first = write_pseudo_videos(tmp_path / "one", [source], spec)
    second = write_pseudo_videos(tmp_path / "two", [source], spec)
    for path in sorted(first.rglob("*.*")):
        assert path.read_bytes() == (second / path.relative_to(first)).read_bytes(), path


def test_the_mask_is_the_target_only_and_distractors_look_alike(tmp_path):
    items = annotated_frames([_source(tmp_path / "src")])
    alone = PseudoVideoSpec(num_frames=4, size=(160, 120), occluder_probability=0.0, max_distractors=0)
    frames, masks = render_video(0, items, alone)
    for frame, mask in zip(frames, masks, strict=True):
        inside = _is_object_colour(frame)[mask]
        assert mask.any() and inside.mean() > 0.9
    crowded = PseudoVideoSpec(num_frames=4, size=(160, 120), occluder_probability=0.0, max_distractors=2)
    with_distractors = []
    for index in range(20):
        frames, masks = render_video(index, items, crowded)
        if _is_object_colour(frames[0]).sum() > 1.3 * masks[0].sum():
            with_distractors.append(index)
    assert with_distractors, "no video had an unannotated look-alike of the target"


def test_a_source_without_annotations_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="has no Annotations/480p folder"):
        annotated_frames([tmp_path / "empty"])


def test_real_clips_read_davis_2016_train_lists_and_leave_out_excluded_clips(tmp_path):
    root = _source(tmp_path / "src", sequences=("a", "b", "c"))
    (datasets,) = real_clips([root], exclude=["b"])
    assert sorted({e.sequence.name for e in datasets.entries}) == ["a", "c"]


def test_a_misspelt_excluded_clip_is_an_error_not_silent_training_on_it(tmp_path):
    root = _source(tmp_path / "src")
    with pytest.raises(FileNotFoundError, match="real_clip_exclude"):
        real_clips([root], exclude=["kite_surf"])


def test_one_real_clip_weight_per_folder_or_one_for_all():
    assert real_clip_weights(0.5, None, 2) == [0.5, 0.5]
    assert real_clip_weights(1.0, [2.0, 0.5], 2) == [2.0, 0.5]
    with pytest.raises(ValueError, match="real_clip_weights: 1 weights for 2"):
        real_clip_weights(1.0, [2.0], 2)


def test_masks_are_written_as_indexed_pngs(tmp_path):
    out = write_pseudo_videos(tmp_path / "pv", [_source(tmp_path / "src")], PseudoVideoSpec(num_videos=1, num_frames=2))
    values = np.unique(imread_indexed(out / "Annotations" / "480p" / "pseudo0000" / "00000.png"))
    assert set(values.tolist()) <= {0, 1}


def _target_areas(items, spec: PseudoVideoSpec, videos: int) -> list[float]:
    """Last-frame over first-frame target area of each video (alone, nothing in front)."""
    ratios = []
    for index in range(videos):
        _, masks = render_video(index, items, spec)
        ratios.append(masks[-1].sum() / max(masks[0].sum(), 1))
    return ratios


def test_a_larger_scale_drift_makes_targets_grow_and_shrink_more(tmp_path):
    items = annotated_frames([_source(tmp_path / "src")])
    common = dict(num_frames=20, size=(320, 240), occluder_probability=0.0, max_distractors=0)
    calm = _target_areas(items, PseudoVideoSpec(**common), 12)
    drifting = _target_areas(items, PseudoVideoSpec(**common, scale_drift=0.05), 12)
    spread = lambda ratios: float(np.std(np.log(np.maximum(ratios, 1e-3))))  # noqa: E731
    assert spread(drifting) > 2 * spread(calm)
    assert max(max(drifting), 1 / min(drifting)) > 2.0  # some target changes size more than 2x


def _pseudo_video_settings(**changes) -> SimpleNamespace:
    """The pseudo-video settings of rts_small at their defaults (2 videos of 3 frames), with ``changes``."""
    settings = dict(
        pseudo_video_sources=["x"],
        pseudo_videos=2,
        pseudo_video_frames=3,
        seed=0,
        pseudo_video_sequences=None,
        pseudo_video_scale_drift=PseudoVideoSpec.scale_drift,
        pseudo_video_max_distractors=PseudoVideoSpec.max_distractors,
        pseudo_video_distractor_spread=PseudoVideoSpec.distractor_spread,
        env=SimpleNamespace(workspace_dir="ws"),
    )
    return SimpleNamespace(**{**settings, **changes})


def test_the_default_scale_drift_keeps_the_folder_name_of_earlier_runs():
    settings = _pseudo_video_settings()
    assert pseudo_video_plan(settings)[0].name == "rts_small_pseudo_2x3_seed0_1src"
    settings.pseudo_video_scale_drift = 0.04
    root, spec = pseudo_video_plan(settings)
    assert root.name == "rts_small_pseudo_2x3_seed0_1src_drift0.04" and spec.scale_drift == 0.04


def test_distractor_settings_name_their_own_pseudo_video_folder():
    settings = _pseudo_video_settings(pseudo_video_max_distractors=3, pseudo_video_distractor_spread=1.5)
    root, spec = pseudo_video_plan(settings)
    assert root.name == "rts_small_pseudo_2x3_seed0_1src_d3_near1.5"
    assert (spec.max_distractors, spec.distractor_spread) == (3, 1.5)


def _first_frame_look_alike_distances(items, spec: PseudoVideoSpec, videos: int) -> list[float]:
    """Per video with a look-alike: distance from the target's centre to the centre of the nearest
    other object-coloured blob (at least a third of the target's area) in the first frame, in
    target sizes."""
    distances = []
    for index in range(videos):
        frames, masks = render_video(index, items, spec)
        target = masks[0]
        others = (_is_object_colour(frames[0]) & ~target).astype(np.uint8)
        count, _, stats, centres = cv2.connectedComponentsWithStats(others)
        blobs = [centres[i] for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] > target.sum() / 3]
        if target.sum() < 50 or not blobs:
            continue
        ty, tx = np.argwhere(target).mean(axis=0)
        distances.append(min(float(np.hypot(cx - tx, cy - ty)) for cx, cy in blobs) / np.sqrt(target.sum()))
    return distances


def test_near_distractors_start_close_to_the_target(tmp_path):
    items = annotated_frames([_source(tmp_path / "src")])
    # small targets, so that "anywhere in the frame" is several target sizes away on average
    common = dict(num_frames=1, size=(320, 240), occluder_probability=0.0, max_distractors=2)
    common.update(min_area_fraction=0.005, max_area_fraction=0.01)
    anywhere = _first_frame_look_alike_distances(items, PseudoVideoSpec(**common), 30)
    near = _first_frame_look_alike_distances(items, PseudoVideoSpec(**common, distractor_spread=1.0), 30)
    assert anywhere and near
    assert np.median(near) < 0.7 * np.median(anywhere)


def test_generated_look_alikes_are_passed_to_the_generator_and_name_their_folder(tmp_path, monkeypatch):
    calls = []

    def fake_generate(fmt, out, n, frames, seed, **options):
        calls.append(options)
        atomic_write_text(Path(out) / "ImageSets" / "2017" / "val.txt", "x\n")
        return out

    monkeypatch.setattr(rts_small, "generate", fake_generate)
    settings = SimpleNamespace(
        generated_sequences=2,
        generated_frames=3,
        generated_seed=0,
        generated_size=(64, 48),
        generated_distractors=None,
        env=SimpleNamespace(workspace_dir=str(tmp_path)),
    )
    assert rts_small.generated_videos(settings).name == "rts_small_davis_2x3_seed0"
    assert calls[-1]["distractors"] is None  # the generator's own default
    settings.generated_distractors = 2
    assert rts_small.generated_videos(settings).name == "rts_small_davis_2x3_seed0_d2"
    assert calls[-1]["distractors"] == 2
