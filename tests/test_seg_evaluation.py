"""Benchmark evaluation of video segmenters (stream and clip protocols) and own-video output."""

import hashlib
import json

import numpy as np
import pytest

from segmentation_plugins.data import CAMVID, camvid_sequences
from segmentation_plugins.evaluation import ConfusionMatrix
from segmentation_plugins.evaluation.runner import evaluate
from segmentation_plugins.segmenter import FrameSegmenter, SegmentationOutput
from segmentation_plugins.synthetic import generate_camvid


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid")
    generate_camvid(root, videos=2, frames=6, size=(64, 48), seed=0, split="val")
    return root


def _key(frame):
    return hashlib.sha1(frame.tobytes()).hexdigest()


class _Oracle(FrameSegmenter):
    """Answers the ground truth of each frame it has been shown before; counts resets."""

    num_classes = CAMVID.num_classes

    def __init__(self, root):
        self.truth = {_key(item["image"]): item["label"] for seq in camvid_sequences(root, "val") for item in seq}
        self.resets = 0
        self.frames = 0

    def reset(self):
        self.resets += 1

    def segment(self, frame):
        self.frames += 1
        label = self.truth[_key(frame)]
        return SegmentationOutput(np.where(label == 255, 0, label).astype(np.uint8), info={"keyframe": True})


class _Constant(_Oracle):
    def segment(self, frame):
        self.frames += 1
        return SegmentationOutput(np.full(frame.shape[:2], 3, np.uint8))


def test_oracle_scores_full_miou_and_no_unexplained_flips(camvid_root):
    report = evaluate(_Oracle(camvid_root), CAMVID, "camvid", str(camvid_root), progress=False)
    result = report.as_dict()
    assert result["miou"] == pytest.approx(100.0)
    assert result["temporal_flip_rate"] == pytest.approx(0.0)
    assert result["scored_frames"] == result["frames"] == 12 == result["keyframes"]


def test_scores_equal_the_confusion_matrix_of_all_labelled_frames(camvid_root):
    report = evaluate(_Constant(camvid_root), CAMVID, "camvid", str(camvid_root), progress=False)
    expected = ConfusionMatrix(CAMVID.num_classes)
    for sequence in camvid_sequences(camvid_root, "val"):
        for item in sequence:
            expected.update(np.full(item["label"].shape, 3), item["label"])
    assert report.as_dict()["miou"] == pytest.approx(100 * expected.miou())


def test_stream_mode_resets_once_per_run_and_sees_every_frame(camvid_root):
    segmenter = _Oracle(camvid_root)
    evaluate(segmenter, CAMVID, "camvid", str(camvid_root), mode="stream", progress=False)
    assert (segmenter.resets, segmenter.frames) == (2, 12)


def test_clip_mode_runs_one_fresh_clip_per_labelled_frame(camvid_root):
    segmenter = _Oracle(camvid_root)
    report = evaluate(segmenter, CAMVID, "camvid", str(camvid_root), mode="clip", clip_length=3, progress=False)
    clips = 2 * (6 - 2)
    assert (report.scored, segmenter.resets, segmenter.frames) == (clips, clips, 3 * clips)


def test_unknown_protocol_is_refused(camvid_root):
    with pytest.raises(ValueError, match="mode must be 'stream' or 'clip'"):
        evaluate(_Oracle(camvid_root), CAMVID, "camvid", str(camvid_root), mode="online", progress=False)


def test_own_video_writes_label_pngs_and_an_overlay_video(camvid_root, tmp_path):
    from pytracking_ext.utils.io import imread_indexed
    from segmentation_plugins.own_video import segment_own_video

    summary = segment_own_video(_Oracle(camvid_root), CAMVID, camvid_root / "val", tmp_path / "out", progress=False)
    assert summary["frames"] == 12
    labels = sorted((tmp_path / "out" / "labels").glob("*.png"))
    assert len(labels) == 12 and imread_indexed(labels[0]).shape == (48, 64)
    assert (tmp_path / "out" / "overlay.mp4").stat().st_size > 0
    assert not (tmp_path / "out" / "overlay.partial.mp4").exists()


def test_own_video_missing_source_is_one_line_error(tmp_path):
    from pytracking_ext.errors import DatasetError
    from segmentation_plugins.own_video import read_video

    with pytest.raises(DatasetError, match="not found"):
        read_video(tmp_path / "nope.mp4")


def test_results_are_json_without_nan(camvid_root):
    report = evaluate(
        _Constant(camvid_root), CAMVID, "camvid", str(camvid_root), mode="clip", clip_length=2, progress=False
    )
    text = json.dumps(report.as_dict(), allow_nan=False)
    assert '"temporal_flip_rate": null' in text
