"""The public API (docs/api.md): every registered tracker and segmenter driven through it, lost objects, errors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pytracking_ext import VideoTracker, track_video
from pytracking_ext.errors import OverrideError, PytrackingError, TrackerInputError, UnknownNameError
from pytracking_ext.trackers import TRACKERS, BaseTracker, TrackerParams, parameter_names
from pytracking_ext.utils.boxes import box_to_mask
from pytracking_ext.utils.io import imwrite_rgb
from segmentation_plugins import VideoSegmenter
from segmentation_plugins.registry import SEGMENTERS, segmenter_parameter_names, segmenter_parameters

pytestmark = pytest.mark.usefixtures("one_torch_thread")

H, W = 64, 96
#: the parameter set each tracker runs with here (others: their first); rts_small ships its weights
API_PARAMETER_SET = {"rts": "rts_small", "opencv_mil": "mask"}
FAKE = "api_test_presence"


def scene(frames: int, objects: int = 2, size: tuple[int, int] = (H, W)) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Textured squares moving right on a noisy background: ``(frame, label image)``, a new array each."""
    rng = np.random.default_rng(0)
    h, w = size
    background = rng.integers(0, 80, size=(h, w, 3), dtype=np.uint8)
    textures = [rng.integers(150, 256, size=(16, 16, 3), dtype=np.uint8) for _ in range(objects)]
    for t in range(frames):
        image, label = background.copy(), np.zeros((h, w), np.uint8)
        for i in range(objects):
            x, y = 6 + 2 * t + 40 * i, 12 + 24 * i
            image[y : y + 16, x : x + 16] = textures[i]
            label[y : y + 16, x : x + 16] = i + 1
        yield image, label


class PresenceTracker(BaseTracker):
    """Keeps its init box and mask; ``params.scores[k]`` is its presence score on its k-th frame (none without)."""

    multiobj_mode = "parallel"

    def predicts_segmentation_mask(self) -> bool:
        return bool(self.params.get("predict_mask", True))

    def initialize(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        self.frame = 0
        self.box = list(info["init_bbox"])
        mask = info.get("init_mask")
        self.mask = box_to_mask(self.box, image.shape[:2]) if mask is None else np.asarray(mask, np.uint8)
        self.params.calls.append(("initialize", info["object_ids"][0]))
        return self._output()

    def track(self, image: np.ndarray, info: dict[str, Any] | None = None) -> dict[str, Any]:
        self.frame += 1
        assert "previous_output" in info
        self.params.calls.append(("track", self.frame))
        return self._output()

    def _output(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target_bbox": self.box}
        if self.predicts_segmentation_mask():
            out["segmentation"] = self.mask
        scores = self.params.get("scores", None)
        if scores is not None:
            out["object_presence_score"] = scores[min(self.frame, len(scores) - 1)]
        return out


@pytest.fixture
def fake(monkeypatch):
    """Register :class:`PresenceTracker` as ``FAKE`` for the test; returns a params factory."""
    TRACKERS.names()  # read the entry points first, so the test's entry is not overwritten
    monkeypatch.setitem(TRACKERS._items, FAKE, PresenceTracker)

    def params(**values: Any) -> TrackerParams:
        return TrackerParams(calls=[], **values)

    return params


# --- every registered tracker and segmenter --------------------------------------------------------


@pytest.mark.parametrize("tracker", TRACKERS.names())
def test_every_registered_tracker_tracks_objects_added_late_and_removed(workspace, tracker):
    param = API_PARAMETER_SET.get(tracker) or parameter_names(tracker)[0]
    video = VideoTracker(tracker, param)
    seen = []
    for index, (frame, label) in enumerate(scene(6)):
        if index == 0:
            assert video.add_object(frame, mask=label == 1, box=None) == 1
        if index == 2:
            assert video.add_object(frame, box=[6 + 2 * index + 40, 36, 16, 16]) == 2
        if index == 4:
            video.remove_object(1)
        # frame 3: every object with a presence score is lost, frame 4: found again (the threshold decides)
        video.presence_threshold = {3: float("inf"), 4: -float("inf")}.get(index, 0.5)
        result = video.track(frame)
        assert result.frame_index == index
        seen.append(list(result))
        for obj in result.values():
            if index == 3:
                assert obj.lost == (obj.score is not None)
            if index == 4:
                assert not obj.lost
            if obj.lost:
                assert obj.box is None and (obj.mask is None or not obj.mask.any())
            assert obj.score is None or np.isfinite(obj.score)
            if video.predicts_mask:
                assert obj.mask.shape == (H, W) and obj.mask.dtype == bool
            else:
                assert obj.mask is None
            assert obj.box is None or (len(obj.box) == 4 and np.isfinite(obj.box).all())
    assert seen == [[1], [1], [1, 2], [1, 2], [2], [2]]
    assert video.object_ids == [2]


def _segmenter_params(name: str, param: str, folder) -> TrackerParams:
    from test_every_registered_component import RANDOM_WEIGHTS  # the plugins' own random-weights table

    params = RANDOM_WEIGHTS[name](segmenter_parameters(name, param), folder)
    params.use_gpu = False
    return params


@pytest.mark.parametrize("name", SEGMENTERS.names())
def test_every_registered_segmenter_segments_frame_by_frame_and_as_a_stream(workspace, tmp_path, name):
    params = _segmenter_params(name, segmenter_parameter_names(name)[0], tmp_path)
    frames = [frame for frame, _ in scene(4, size=(64, 128))]
    with VideoSegmenter(name, params) as segmenter:
        first = [segmenter.segment(frame) for frame in frames[:2]]
        rest = list(segmenter.segment_video(iter(frames[2:])))
        for labels in first + rest:
            assert labels.shape == (64, 128) and labels.dtype == np.uint8
            assert labels.max() < segmenter.num_classes
        with pytest.raises(TrackerInputError, match="differs from the video's"):
            segmenter.segment(np.zeros((32, 32, 3), np.uint8))
        segmenter.reset()
        assert segmenter.segment(np.zeros((32, 32, 3), np.uint8)).shape == (32, 32)


# --- lost and found --------------------------------------------------------------------------------


def test_lost_object_has_an_empty_mask_and_no_box_then_is_found_again(fake):
    video = VideoTracker(FAKE, fake(scores=[1.0, 0.9, 0.2, 0.1, 0.8, 0.9]))
    frames = list(scene(6))
    video.add_object(frames[0][0], mask=frames[0][1] == 1)
    lost, boxes, masks = [], [], []
    for frame, _ in frames[1:]:
        obj = video.track(frame)[1]
        lost.append(obj.lost)
        boxes.append(obj.box)
        masks.append(int(obj.mask.sum()))
        if obj.lost:  # the tracker's own output keeps its guess; only the reported result is blanked
            assert video.last_output["target_bbox"]["1"] == [6, 12, 16, 16]
    assert lost == [False, True, True, False, False]
    assert boxes[1] is None and boxes[2] is None and boxes[3] == (6.0, 12.0, 16.0, 16.0)
    assert masks == [256, 0, 0, 256, 256]


def test_presence_threshold_comes_from_the_parameters_or_an_override(fake):
    frames = list(scene(2))
    for overrides, expected in (({}, True), ({"presence_threshold": 0.25}, False)):
        video = VideoTracker(FAKE, fake(scores=[1.0, 0.3]), **overrides)
        video.add_object(frames[0][0], mask=frames[0][1] == 1)
        assert video.track(frames[1][0])[1].lost is expected
    params = fake(scores=[1.0, 0.3], presence_threshold=0.2)
    video = VideoTracker(FAKE, params)
    video.add_object(frames[0][0], mask=frames[0][1] == 1)
    assert video.track(frames[1][0])[1].lost is False


def test_tracker_without_presence_score_is_never_lost(fake):
    video = VideoTracker(FAKE, fake(predict_mask=False))
    frames = list(scene(3))
    video.add_object(frames[0][0], box=(6, 12, 16, 16))
    for frame, _ in frames[1:]:
        obj = video.track(frame)[1]
        assert obj.score is None and obj.lost is False and obj.mask is None and obj.box == (6.0, 12.0, 16.0, 16.0)


# --- adding on the current frame, replay, reset ----------------------------------------------------


def test_object_added_on_the_frame_just_tracked_joins_it_without_tracking_it_again(fake):
    params = fake()
    video = VideoTracker(FAKE, params)
    (frame0, label0), (frame1, label1) = scene(2)
    video.add_object(frame0, mask=label0 == 1)
    video.track(frame0)  # the frame add_object processed: no second tracking
    video.track(frame1)
    video.add_object(frame1, mask=label1 == 2)
    assert params.calls == [("initialize", "1"), ("track", 1), ("initialize", "2")]
    assert video.object_ids == [1, 2]


def test_a_reused_buffer_with_new_content_is_tracked_not_replayed(fake):
    params = fake()
    video = VideoTracker(FAKE, params)
    (frame0, label0), (frame1, _) = scene(2)
    buffer = frame0.copy()
    video.add_object(buffer, mask=label0 == 1)
    buffer[:] = frame1  # a reader that fills the same array with the next frame
    assert video.track(buffer).frame_index == 1
    assert params.calls == [("initialize", "1"), ("track", 1)]


def test_reset_forgets_objects_and_accepts_another_frame_size(fake):
    video = VideoTracker(FAKE, fake())
    frame, label = next(scene(1))
    video.add_object(frame, mask=label == 1)
    video.reset()
    assert video.object_ids == [] and video.frame_index == -1
    small_frame, small_label = next(scene(1, size=(56, 70)))
    assert video.add_object(small_frame, mask=small_label == 1) == 1
    assert list(video.track(small_frame)) == [1]


def test_frames_without_objects_give_empty_results(fake):
    video = VideoTracker(FAKE, fake())
    frames = list(scene(3))
    assert len(video.track(frames[0][0])) == 0
    video.add_object(frames[1][0], mask=frames[1][1] == 1)
    video.remove_object(1)
    assert len(video.track(frames[2][0])) == 0


# --- track_video -----------------------------------------------------------------------------------


def test_track_video_reads_an_image_folder_and_starts_objects_on_later_frames(fake, tmp_path):
    folder = tmp_path / "frames"
    frames = list(scene(4))
    for index, (frame, _) in enumerate(frames):
        imwrite_rgb(folder / f"{index:05d}.png", frame)
    results = list(
        track_video(folder, init=frames[0][1] == 1, tracker=FAKE, parameters=fake(), later={2: {5: (46, 36, 16, 16)}})
    )
    assert [list(r) for r in results] == [[1], [1], [1, 5], [1, 5]]
    assert results[-1][5].box == (46.0, 36.0, 16.0, 16.0) and results[-1][1].mask.sum() == 256


def test_track_video_takes_a_generator_and_a_label_image(fake):
    frames = list(scene(3))
    results = list(track_video((f for f, _ in frames), init=frames[0][1], tracker=FAKE, parameters=fake()))
    assert [sorted(r) for r in results] == [[1, 2]] * 3
    assert np.array_equal(results[0].label_map(), frames[0][1])


# --- errors ----------------------------------------------------------------------------------------


def _started(fake) -> tuple[VideoTracker, np.ndarray, np.ndarray]:
    video = VideoTracker(FAKE, fake())
    frame, label = next(scene(1))
    video.add_object(frame, mask=label == 1)
    return video, frame, label


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda v, f, m: v.track(f.astype(np.float32)), "dtype uint8"),
        (lambda v, f, m: v.track(f[..., 0]), r"\(H, W, 3\)"),
        (lambda v, f, m: v.track(f.tolist()), "numpy array"),
        (lambda v, f, m: v.track(np.zeros((32, 32, 3), np.uint8)), "differs from the video's"),
        (lambda v, f, m: v.add_object(f), "give mask"),
        (lambda v, f, m: v.add_object(f, mask=np.zeros_like(m)), "the mask is empty"),
        (lambda v, f, m: v.add_object(f, mask=m[:10]), "mask shape"),
        (lambda v, f, m: v.add_object(f, box=(1, 2, 3)), "box"),
        (lambda v, f, m: v.add_object(f, box=(500, 500, 5, 5)), "box"),
        (lambda v, f, m: v.add_object(f, box=(1, 1, 5, 5), obj_id=1), "already tracked"),
        (lambda v, f, m: v.add_object(f, box=(1, 1, 5, 5), obj_id=300), "1..255"),
        (lambda v, f, m: v.remove_object(7), "unknown object id 7"),
    ],
)
def test_wrong_input_is_a_one_line_error(fake, call, message):
    video, frame, label = _started(fake)
    with pytest.raises(PytrackingError, match=message) as caught:
        call(video, frame, label == 1)
    assert "\n" not in str(caught.value)


def test_unknown_names_and_overrides_are_one_line_errors(fake):
    with pytest.raises(UnknownNameError, match="unknown tracker"):
        VideoTracker("no_such_tracker", "default")
    with pytest.raises(UnknownNameError, match="unknown parameter"):
        VideoTracker("opencv_mil", "no_such_set")
    with pytest.raises(OverrideError, match="presence_treshold"):
        VideoTracker(FAKE, fake(), presence_treshold=0.3)
    with pytest.raises(UnknownNameError, match="unknown segmenter"):
        VideoSegmenter("no_such_segmenter", "x")


def test_importing_the_package_stays_light():
    code = "import sys, pytracking_ext; pytracking_ext.VideoTracker; print('torch' in sys.modules)"
    light = "import sys, pytracking_ext, segmentation_plugins; print('torch' in sys.modules, 'cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", light], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "False"]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() in ("True", "False")  # resolves lazily without error


# --- the call sites moved onto the API -------------------------------------------------------------


def test_run_video_writes_nan_boxes_and_empty_masks_on_lost_frames(fake, monkeypatch, workspace, tmp_path):
    from pytracking_ext import run_video
    from pytracking_ext.api import tracker as api_tracker
    from pytracking_ext.utils.io import imread_indexed, imwrite_indexed

    monkeypatch.setattr(api_tracker, "get_parameters", lambda name, param: fake(scores=[1.0, 0.9, 0.1, 0.9]))
    folder = tmp_path / "frames"
    frames = list(scene(4))
    for index, (frame, _) in enumerate(frames):
        imwrite_rgb(folder / f"{index:05d}.png", frame)
    imwrite_indexed(tmp_path / "init.png", (frames[0][1] == 1).astype(np.uint8))
    args = [FAKE, "any", "--input", str(folder), "--init-mask", str(tmp_path / "init.png"), "--no-video"]
    assert run_video.main(args + ["--out", str(tmp_path / "out")]) == 0
    boxes = np.loadtxt(tmp_path / "out" / "boxes.txt", delimiter="\t")
    assert np.isnan(boxes[2]).all() and not np.isnan(boxes[[0, 1, 3]]).any()
    assert [int(imread_indexed(tmp_path / "out" / "masks" / f"{i:05d}.png").sum()) for i in range(4)] == [
        256,
        256,
        0,
        256,
    ]


def test_vot_session_reports_a_lost_object_as_an_empty_region(fake, tmp_path):
    pytest.importorskip("trax", reason="vot-trax is not installed")
    from trax import Mask

    from pytracking_ext.trackers.multiobject import MultiObjectWrapper
    from pytracking_ext.vot.server import VotSession

    paths = []
    frames = list(scene(3))
    for index, (frame, _) in enumerate(frames):
        paths.append(str(tmp_path / f"{index:08d}.png"))
        imwrite_rgb(paths[-1], frame)
    wrapper = MultiObjectWrapper(PresenceTracker, fake(scores=[1.0, 0.1, 0.9]))
    session = VotSession(wrapper, multiobject=True)
    masks = [(frames[0][1] == oid).astype(np.uint8) for oid in (1, 2)]
    session.initialize(paths[0], [(Mask.create(m), {}) for m in masks])
    lost = session.frame(paths[1])
    found = session.frame(paths[2])
    assert [int(region.array().sum()) for region, _ in lost] == [0, 0]
    assert [props["confidence"] for _, props in lost] == ["0.100000", "0.100000"]
    assert [int(region.array().sum()) for region, _ in found] == [256, 256]
