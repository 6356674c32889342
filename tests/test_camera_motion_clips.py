"""Camera-motion pseudo-videos (issue 19): clips of one labelled frame under a small, smooth camera
motion, and the ``camera_motion_clips`` setting that mixes them into LMANet's training clips."""

import numpy as np
import pytest
from torch.utils.data import ConcatDataset

from ltr_ext.run_training import build_settings
from ltr_ext.run_training import main as run_training
from segmentation_plugins.data import CameraMotion, CameraMotionClips, CamVidClips
from segmentation_plugins.lmanet.training.presets import COMMON, PRESETS
from segmentation_plugins.synthetic import generate_camvid
from segmentation_plugins.training.clip_data import ClipTensors, clip_datasets

WIDTH, HEIGHT = 320, 240
SQUARE = (slice(100, 140), slice(140, 180))  # rows, columns of the bright square (class 3)


def _source(count=2):
    """Clip-length-1 samples: a dim textured frame with a bright square, labelled 3 on it and 1 elsewhere."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(count):
        image = rng.integers(20, 60, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        image[SQUARE] = 250
        label = np.ones((HEIGHT, WIDTH), dtype=np.int64)
        label[SQUARE] = 3
        samples.append({"frames": image[None], "label": label, "name": f"f{i}", "frame_numbers": np.array([30 * i])})
    return samples


def _centroid(frame):
    ys, xs = np.nonzero(frame[..., 0] > 200)
    return np.array([xs.mean(), ys.mean()])


def test_clip_has_the_clip_sample_shapes_and_dtypes():
    sample = CameraMotionClips(_source(), clip_length=4, seed=0)[1]
    assert sample["frames"].shape == (4, HEIGHT, WIDTH, 3) and sample["frames"].dtype == np.uint8
    assert sample["label"].shape == (HEIGHT, WIDTH) and sample["label"].dtype == np.int64
    assert sample["name"] == "f1"
    assert sample["frame_numbers"].tolist() == [27, 28, 29, 30]
    assert sample["motion"].shape == (4, 2, 3)


def test_clips_per_epoch_may_exceed_the_source_frames_reusing_them_in_order():
    clips = CameraMotionClips(_source(2), clip_length=2, clips=5, seed=0)
    assert len(clips) == 5
    assert [clips[i]["name"] for i in range(5)] == ["f0", "f1", "f0", "f1", "f0"]
    with pytest.raises(IndexError):
        clips[5]


def test_consecutive_frames_differ_by_a_small_motion():
    clips = CameraMotionClips(_source(1), clip_length=4, clips=20, seed=1)
    steps = []
    for index in range(len(clips)):
        centres = [_centroid(frame) for frame in clips[index]["frames"]]
        steps += [np.linalg.norm(b - a) for a, b in zip(centres, centres[1:])]
    # pan/tilt 1-6 px per frame (tilt at half rate), plus the zoom and roll around a square near the centre
    assert 0.3 < min(steps) and max(steps) < 7.0


def test_the_pan_turns_smoothly_never_reversing_within_a_clip():
    clips = CameraMotionClips(_source(1), clip_length=5, clips=20, seed=3)
    for index in range(len(clips)):
        centres = [_centroid(frame) for frame in clips[index]["frames"]]
        steps = [b - a for a, b in zip(centres, centres[1:])]
        assert all(np.dot(a, b) > 0 for a, b in zip(steps, steps[1:]))


def test_no_pixel_moves_a_full_stride16_cell_between_frames():
    motion = CameraMotion()
    corners = np.array([[0, 0, 1], [WIDTH - 1, 0, 1], [0, HEIGHT - 1, 1], [WIDTH - 1, HEIGHT - 1, 1]], float).T
    rng = np.random.default_rng(2)
    for _ in range(50):
        path = motion.path(rng, 4, (WIDTH, HEIGHT))
        for a, b in zip(path, path[1:]):
            # a frame pixel of frame t back to the source, then into frame t + 1
            back = np.linalg.inv(np.vstack([a, [0, 0, 1]]))
            moved = b @ back @ corners - corners[:2]
            assert np.linalg.norm(moved, axis=0).max() < 16


def test_label_is_the_last_frame_warped_with_255_outside_the_source():
    # the annotated frame zoomed out to 90 %: a band around it shows no source pixel
    motion = CameraMotion(last_zoom=(0.9, 0.9), last_shift_px=0.0, last_roll_deg=0.0)
    sample = CameraMotionClips(_source(1), clip_length=3, motion=motion, seed=0)[0]
    label, last = sample["label"], sample["frames"][-1]
    assert set(np.unique(label).tolist()) == {1, 3, 255}
    assert label[0, 0] == 255 and label[HEIGHT // 2, 10] == 255 and label[HEIGHT // 2, WIDTH // 2] == 3
    assert abs((label == 255).mean() - (1 - 0.9**2)) < 0.02
    # the label lies on the LAST frame: its class-3 region is that frame's bright square
    square, bright = label == 3, last[..., 0] > 200
    assert (square & bright).sum() / (square | bright).sum() > 0.9
    # images are filled by reflection, never with black
    assert last.min() >= 20


def test_paths_are_deterministic_for_a_seed_and_differ_between_seeds():
    first = CameraMotionClips(_source(1), clip_length=3, seed=5)[0]
    again = CameraMotionClips(_source(1), clip_length=3, seed=5)[0]
    other = CameraMotionClips(_source(1), clip_length=3, seed=6)[0]
    assert np.array_equal(first["frames"], again["frames"]) and np.array_equal(first["label"], again["label"])
    assert not np.array_equal(first["frames"], other["frames"])


def test_without_seed_paths_follow_torchs_generator_as_the_trainer_reseeds_it():
    import torch

    clips = CameraMotionClips(_source(1), clip_length=3)
    torch.manual_seed(11)
    first = clips[0]["motion"]
    torch.manual_seed(11)
    assert np.array_equal(clips[0]["motion"], first)
    assert not np.array_equal(clips[0]["motion"], first)  # the next draw: another path


def test_bad_arguments_raise_one_line_errors():
    with pytest.raises(ValueError, match="clip_length"):
        CameraMotionClips(_source(), clip_length=0)
    with pytest.raises(ValueError, match="clips"):
        CameraMotionClips(_source(), clip_length=2, clips=0)
    with pytest.raises(ValueError, match="zoom"):
        CameraMotion(zoom=(0.02, 0.01))


# ----- the training setting ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid")
    generate_camvid(root, videos=1, frames=5, size=(64, 48), seed=3, split=("train", "val"))
    return root


def _settings(camvid, workspace, **overrides):
    given = {"input_size": (64, 48), "generated_videos": 0, "train_max_frame_step": 2, **overrides}
    settings = build_settings("lmanet", "lite0_camvid", list(given.items()), str(workspace))
    settings.env.camvid_dir = str(camvid)
    settings.defaults(**{**COMMON, **PRESETS["lite0_camvid"]})
    return settings


def test_setting_adds_camera_motion_clips_to_the_training_clips(camvid, workspace):
    plain = clip_datasets(_settings(camvid, workspace), 3, training=True)
    mixed = clip_datasets(_settings(camvid, workspace, camera_motion_clips=7), 3, training=True)
    assert isinstance(mixed, ConcatDataset) and len(mixed) == len(plain) + 7
    extra = mixed.datasets[-1]
    assert isinstance(extra, CameraMotionClips) and extra.clip_length == 3 and len(extra.source) == 5
    sample = ClipTensors(mixed)[len(mixed) - 1]
    assert tuple(sample["frames"].shape) == (3, 3, 48, 64) and tuple(sample["label"].shape) == (48, 64)


def test_default_zero_leaves_the_datasets_unchanged(camvid, workspace):
    assert COMMON["camera_motion_clips"] == 0
    settings = _settings(camvid, workspace)
    clips = clip_datasets(settings, 3, training=True)
    assert isinstance(clips, CamVidClips) and len(clips) == 3  # 5 consecutive frames -> 3 clips of 3


def test_no_camera_motion_clips_for_single_frames_or_validation(camvid, workspace):
    settings = _settings(camvid, workspace, camera_motion_clips=7)
    assert isinstance(clip_datasets(settings, 1, training=True), CamVidClips)
    assert isinstance(clip_datasets(settings, 3, training=False), CamVidClips)


def test_run_training_stage1_accepts_the_setting(camvid, workspace, monkeypatch):
    monkeypatch.setenv("LTR_CAMVID_DIR", str(camvid))
    tiny = ["input_size=(64,48)", "batch_size=2", "max_epochs=1", "num_workers=0", "pretrained_backbone=False"]
    tiny += ["generated_videos=0", "memory_size=2", "window=3", "train_max_frame_step=2"]
    args = ["lmanet", "lite0_camvid", "--workspace", str(workspace), *[a for s in tiny for a in ("--set", s)]]
    assert run_training(args) == 0
    assert run_training([*args, "--set", "stage=1", "--set", "camera_motion_clips=4"]) == 0
