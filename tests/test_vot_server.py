"""The TraX server loop, driven by a fake handle with real vot-trax regions and by vot-trax's own client."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

trax = pytest.importorskip("trax", reason="vot-trax is not installed (pip install vot-trax)")
from trax import FileImage, Mask, Polygon, Rectangle  # noqa: E402
from trax.server import Request  # noqa: E402

from pytracking_ext.errors import TrackerInputError  # noqa: E402
from pytracking_ext.trackers.base import BaseTracker  # noqa: E402
from pytracking_ext.trackers.multiobject import MultiObjectWrapper  # noqa: E402
from pytracking_ext.trackers.params import TrackerParams  # noqa: E402
from pytracking_ext.utils.io import imwrite_rgb  # noqa: E402
from pytracking_ext.vot import server as vot_server  # noqa: E402
from pytracking_ext.vot.regions import preserve_area_box  # noqa: E402
from pytracking_ext.vot.server import VotSession, serve_requests  # noqa: E402

WIDTH, HEIGHT = 64, 48


class RecordingTracker(BaseTracker):
    """Echoes its init box and mask on every frame and records what it was given."""

    def __init__(self, params: TrackerParams) -> None:
        super().__init__(params)
        self.calls: list[tuple[str, dict]] = []

    def predicts_segmentation_mask(self) -> bool:
        return bool(self.params.get("predict_mask", False))

    def initialize(self, image, info):
        self.calls.append(("initialize", info))
        self.box = list(info["init_bbox"])
        mask = info.get("init_mask")
        self.mask = np.zeros(image.shape[:2], np.uint8) if mask is None else np.asarray(mask)
        return {"target_bbox": self.box, "segmentation": self.mask, "step": 0}

    def track(self, image, info=None):
        self.calls.append(("track", info))
        step = info["previous_output"]["step"]
        # Behind the multi-object wrapper 'step' is merged into a per-object dict.
        step = step + 1 if isinstance(step, int) else 0
        return {"target_bbox": self.box, "segmentation": self.mask, "step": step}


class FakeHandle:
    """Plays a list of requests like ``trax.Server.wait`` and records the ``status`` replies."""

    def __init__(self, requests: list[Request]) -> None:
        self.requests = list(requests)
        self.replies: list[list] = []

    def wait(self) -> Request:
        return self.requests.pop(0)

    def status(self, objects, properties=None) -> bool:
        self.replies.append(objects)
        return True


@pytest.fixture
def frames(tmp_path) -> list[str]:
    paths = []
    for i in range(3):
        image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        image[10:30, 10 + i : 30 + i] = 200
        path = tmp_path / f"{i + 1:08d}.png"
        imwrite_rgb(path, image)
        paths.append(str(path))
    return paths


def _init(path: str, *regions) -> Request:
    return Request("initialize", {"color": FileImage.create(path)}, [(r, {}) for r in regions], {})


def _frame(path: str, *regions) -> Request:
    return Request("frame", {"color": FileImage.create(path)}, [(r, {}) for r in regions] or None, {})


QUIT = Request("quit", None, None, {})


def _recording(predict_mask: bool = False, **extra) -> RecordingTracker:
    return RecordingTracker(TrackerParams(predict_mask=predict_mask, **extra))


def _play(session: VotSession, requests: list[Request]) -> FakeHandle:
    handle = FakeHandle(requests + [QUIT])
    serve_requests(handle, session)
    return handle


def test_rectangle_init_passes_the_box_and_no_mask(frames):
    tracker = _recording()
    _play(VotSession(tracker), [_init(frames[0], Rectangle.create(10, 12, 20, 18))])
    kind, info = tracker.calls[0]
    assert kind == "initialize"
    assert info["init_bbox"] == [10, 12, 20, 18]
    assert info["init_mask"] is None


def test_box_tracker_reports_one_rectangle_per_frame(frames):
    handle = _play(
        VotSession(_recording()),
        [_init(frames[0], Rectangle.create(10, 12, 20, 18)), _frame(frames[1]), _frame(frames[2])],
    )
    assert len(handle.replies) == 3
    for reply in handle.replies:
        ((region, properties),) = reply
        assert region.type == "rectangle"
        assert region.bounds() == (10, 12, 20, 18)
        assert float(properties["confidence"]) == 1.0


def test_polygon_init_becomes_its_bounding_box(frames):
    tracker = _recording()
    polygon = Polygon.create([(12.0, 10.0), (30.0, 14.0), (26.0, 32.0), (8.0, 28.0)])
    handle = _play(VotSession(tracker), [_init(frames[0], polygon)])
    assert tracker.calls[0][1]["init_bbox"] == [8.0, 10.0, 22.0, 22.0]
    ((region, _),) = handle.replies[0]
    assert region.type == "rectangle"


def test_polygon_preserve_area_conversion_follows_the_params(frames):
    tracker = _recording(vot_anno_conversion_type="preserve_area")
    corners = [(12.0, 10.0), (30.0, 14.0), (26.0, 32.0), (8.0, 28.0)]
    _play(VotSession(tracker), [_init(frames[0], Polygon.create(corners))])
    assert tracker.calls[0][1]["init_bbox"] == pytest.approx(preserve_area_box(np.array(corners)))


def test_preserve_area_box_keeps_the_rotated_area_plus_one_pixel():
    # A square of side 10 rotated by 45 degrees: min/max box ~14.14 wide, area 100.
    s = 10 / np.sqrt(2)
    corners = np.array([[0, s], [s, 0], [2 * s, s], [s, 2 * s]]) + 5
    x, y, w, h = preserve_area_box(corners)
    assert (w - 1) * (h - 1) == pytest.approx(100)
    assert (x + w / 2, y + h / 2) == pytest.approx((5 + s, 5 + s))


def test_mask_init_is_padded_to_the_image_and_boxed_inclusively(frames):
    tracker = _recording(predict_mask=True)
    patch = np.ones((5, 7), np.uint8)  # toolkit masks may end before the image does
    _play(VotSession(tracker), [_init(frames[0], Mask.create(patch, x=10, y=20))])
    info = tracker.calls[0][1]
    assert info["init_mask"].shape == (HEIGHT, WIDTH)
    assert info["init_mask"].sum() == 35
    assert info["init_bbox"] == [10.0, 20.0, 7.0, 5.0]


def test_mask_init_larger_than_the_image_is_cropped(frames):
    tracker = _recording(predict_mask=True)
    big = np.zeros((HEIGHT + 10, WIDTH + 10), np.uint8)
    big[HEIGHT - 4 :, WIDTH - 6 :] = 1
    _play(VotSession(tracker), [_init(frames[0], Mask.create(big))])
    info = tracker.calls[0][1]
    assert info["init_mask"].shape == (HEIGHT, WIDTH)
    assert info["init_bbox"] == [WIDTH - 6.0, HEIGHT - 4.0, 6.0, 4.0]


def test_empty_init_mask_is_refused(frames):
    with pytest.raises(TrackerInputError, match="empty"):
        _play(VotSession(_recording(predict_mask=True)), [_init(frames[0], Mask.create(np.zeros((4, 4), np.uint8)))])


def test_mask_tracker_reports_full_size_uint8_masks(frames):
    patch = np.ones((5, 7), np.uint8)
    handle = _play(
        VotSession(_recording(predict_mask=True)), [_init(frames[0], Mask.create(patch, x=10, y=20)), _frame(frames[1])]
    )
    for reply in handle.replies:
        ((region, _),) = reply
        assert region.type == "mask"
        assert region.offset() == (0, 0)
        array = region.array()
        assert array.shape == (HEIGHT, WIDTH) and array.dtype == np.uint8
        assert array[20:25, 10:17].all() and array.sum() == 35


def test_track_receives_the_previous_output(frames):
    tracker = _recording()
    _play(
        VotSession(tracker), [_init(frames[0], Rectangle.create(10, 12, 20, 18)), _frame(frames[1]), _frame(frames[2])]
    )
    steps = [info["previous_output"]["step"] for kind, info in tracker.calls if kind == "track"]
    assert steps == [0, 1]


def test_images_reach_the_tracker_as_rgb(frames, tmp_path):
    seen = []

    class ImageSpy(RecordingTracker):
        def initialize(self, image, info):
            seen.append(image)
            return super().initialize(image, info)

    path = tmp_path / "red.png"
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[..., 0] = 255
    imwrite_rgb(path, image)
    _play(VotSession(ImageSpy(TrackerParams())), [_init(str(path), Rectangle.create(1, 1, 5, 5))])
    assert seen[0].shape == (HEIGHT, WIDTH, 3) and seen[0][0, 0].tolist() == [255, 0, 0]


def test_single_object_session_refuses_several_objects(frames):
    with pytest.raises(TrackerInputError, match="--multiobject"):
        _play(VotSession(_recording()), [_init(frames[0], Rectangle.create(1, 1, 5, 5), Rectangle.create(9, 9, 5, 5))])


def test_frame_before_initialisation_is_refused(frames):
    with pytest.raises(TrackerInputError, match="before any initialisation"):
        _play(VotSession(_recording()), [_frame(frames[0])])


def test_repeated_initialisation_restarts_the_tracker(frames):
    tracker = _recording()
    handle = _play(
        VotSession(tracker),
        [
            _init(frames[0], Rectangle.create(1, 1, 5, 5)),
            _frame(frames[1]),
            _init(frames[0], Rectangle.create(9, 9, 6, 6)),
        ],
    )
    assert [kind for kind, _ in tracker.calls] == ["initialize", "track", "initialize"]
    assert handle.replies[-1][0][0].bounds() == (9, 9, 6, 6)


def _wrapper(predict_mask: bool) -> MultiObjectWrapper:
    return MultiObjectWrapper(RecordingTracker, TrackerParams(predict_mask=predict_mask))


def test_multiobject_masks_get_ids_in_order_and_one_region_each(frames):
    first, second = np.zeros((HEIGHT, WIDTH), np.uint8), np.zeros((HEIGHT, WIDTH), np.uint8)
    first[5:10, 5:12] = 1
    second[30:40, 40:44] = 1
    handle = _play(
        VotSession(_wrapper(True), multiobject=True),
        [_init(frames[0], Mask.create(first), Mask.create(second)), _frame(frames[1])],
    )
    for reply in handle.replies:
        assert [region.type for region, _ in reply] == ["mask", "mask"]
        assert np.array_equal(reply[0][0].array(), first)
        assert np.array_equal(reply[1][0].array(), second)


def test_multiobject_rectangles_report_one_box_per_object(frames):
    wrapper = _wrapper(False)
    handle = _play(
        VotSession(wrapper, multiobject=True),
        [_init(frames[0], Rectangle.create(1, 2, 5, 6), Rectangle.create(20, 10, 8, 9)), _frame(frames[1])],
    )
    assert list(wrapper.trackers) == ["1", "2"]
    assert [region.bounds() for region, _ in handle.replies[-1]] == [(1, 2, 5, 6), (20, 10, 8, 9)]


def test_multiobject_object_added_on_a_later_frame_gets_the_next_id(frames):
    wrapper = _wrapper(False)
    handle = _play(
        VotSession(wrapper, multiobject=True),
        [_init(frames[0], Rectangle.create(1, 2, 5, 6)), _frame(frames[1], Rectangle.create(20, 10, 8, 9))],
    )
    assert list(wrapper.trackers) == ["1", "2"]
    assert len(handle.replies[-1]) == 2


def test_networks_are_loaded_before_the_handshake(monkeypatch):
    events: list[str] = []

    class FakeServer:
        def __init__(self, region_formats, image_formats, image_channels, **kwargs):
            events.append(f"handshake {region_formats} multiobject={kwargs['multiobject']}")

        def __enter__(self):
            return FakeHandle([QUIT])

        def __exit__(self, *exc):
            return False

    from pytracking_ext.trackers.opencv_baselines import OpenCVMILTracker

    monkeypatch.setattr(OpenCVMILTracker, "initialize_features", lambda self: events.append("features"))
    monkeypatch.setattr(trax, "Server", FakeServer)
    vot_server.serve("opencv_mil", "mask")
    assert events == ["features", "handshake ['mask'] multiobject=False"]


def test_box_trackers_ask_for_rectangles_and_polygons():
    assert vot_server.region_formats(_recording(False)) == ["rectangle", "polygon"]
    assert vot_server.region_formats(_recording(True)) == ["mask"]


def _client(param: str, *extra: str):
    from trax.client import Client

    process = subprocess.Popen(
        [sys.executable, "-m", "pytracking_ext.vot", "serve", "opencv_mil", param, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
    )
    # vot-trax 4.0.2's Client needs a callable logger (log=False crashes in ctypes).
    return process, Client(stream=(process.stdin.fileno(), process.stdout.fileno()), log=lambda message: None)


def _close(process, client) -> None:
    client.quit()
    process.stdin.close()
    assert process.wait(timeout=30) == 0


def test_trax_client_drives_the_mask_server(frames):
    process, client = _client("mask")
    try:
        assert client.region_formats == ["mask"] and client.get("multiobject") is False
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        mask[10:30, 10:30] = 1
        replies = [client.initialize({"color": FileImage.create(frames[0])}, [(Mask.create(mask), {})], {})[0]]
        replies += [client.frame({"color": FileImage.create(path)}, {}, [])[0] for path in frames[1:]]
    finally:
        _close(process, client)
    assert len(replies) == 3
    for reply in replies:
        ((region, _),) = reply
        assert region.type == "mask" and region.array().shape == (HEIGHT, WIDTH)
    assert np.array_equal(replies[0][0][0].array(), mask)


def test_trax_client_drives_the_multiobject_box_server(frames):
    process, client = _client("default", "--multiobject")
    try:
        assert client.region_formats == ["rectangle", "polygon"] and client.get("multiobject") is True
        objects = [(Rectangle.create(10, 10, 20, 20), {}), (Rectangle.create(40, 5, 10, 10), {})]
        init = client.initialize({"color": FileImage.create(frames[0])}, objects, {})[0]
        later = client.frame({"color": FileImage.create(frames[1])}, {}, [])[0]
    finally:
        _close(process, client)
    assert [region.bounds() for region, _ in init] == [(10, 10, 20, 20), (40, 5, 10, 10)]
    assert [region.type for region, _ in later] == ["rectangle", "rectangle"]
