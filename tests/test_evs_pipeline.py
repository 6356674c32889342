"""EVS pipeline: frame order, key-frame schedules, warping, adaptive key frames, threads and errors.

Tiny seeded 'small' ICNet / Refiner with random weights on generated 256×128 textured frames.
"""

import dataclasses
import threading
import time

import cv2
import numpy as np
import pytest
import torch

from parameter.evs import OPERATING_POINTS
from segmentation_plugins.evs import flow as flow_module
from segmentation_plugins.evs.errors import EVSConfigError
from segmentation_plugins.evs.models import build_icnet, build_refiner
from segmentation_plugins.evs.models.blocks import resize
from segmentation_plugins.evs.models.icnet import prepare_image
from segmentation_plugins.evs.pipeline import EVSPipeline, EVSPipelineClosed, PipelineConfig
from segmentation_plugins.evs.schedule import KeyframeSchedule
from segmentation_plugins.evs.warp import Warper

W, H, STEP = 256, 128, 8  # frames, and the camera pan per frame in pixels (2 px at the 1/4 propagation grid)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return build_icnet("small").eval(), build_refiner("small").eval()


def canvas(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth multi-scale colour noise: texture for the flow, varied labels from a random ICNet."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for scale in (4, 16, 64):
        noise = rng.random((height // scale + 2, width // scale + 2, 3)).astype(np.float32)
        image += (
            cv2.resize(noise, (width + 2 * scale, height + 2 * scale), interpolation=cv2.INTER_CUBIC)[:height, :width]
            * scale
        )
    image = (image - image.min()) / (image.max() - image.min()) * 255
    return image.astype(np.uint8)


def panning(count: int, seed: int = 0, step: int = STEP) -> list[np.ndarray]:
    """Frames of a camera panning right by ``step`` px per frame (content moves left)."""
    big = canvas(H, W + step * count, seed)
    return [np.ascontiguousarray(big[:, step * t : step * t + W]) for t in range(count)]


def evs_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("evs-") and t.is_alive()]


def point_config(name: str, **overrides) -> PipelineConfig:
    op = OPERATING_POINTS[name]
    blend = op.keyframe_interval == 1 and op.warp and op.refine
    values = dict(
        downscale=op.downscale,
        keyframe_interval=op.keyframe_interval,
        warp=op.warp,
        refine=op.refine,
        keyframe_blend=blend,
    )
    return PipelineConfig(**{**values, **overrides})


def make(nets, config: PipelineConfig) -> EVSPipeline:
    icnet, refiner = nets
    return EVSPipeline(icnet, config, refiner if config.refine else None)


class Counter:
    """Counts the calls of a network (and optionally fails on one)."""

    def __init__(self, module, fail_at: int | None = None):
        self.module, self.calls, self.fail_at = module, 0, fail_at
        self.original = module.forward
        module.forward = self

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError(f"boom in call {self.calls}")
        return self.original(*args, **kwargs)

    def restore(self):
        del self.module.forward


@pytest.fixture
def counted(nets):
    counters = [Counter(nets[0]), Counter(nets[1])]
    yield counters
    for counter in counters:
        counter.restore()


def icnet_labels(icnet, frame: np.ndarray) -> np.ndarray:
    """ICNet alone on one RGB frame, at the frame size (independent of the pipeline code)."""
    with torch.no_grad():
        logits = icnet(prepare_image(frame[..., ::-1]), with_aux=False).logits
        labels = resize(logits, (H // 4, W // 4)).argmax(1)[0].to(torch.uint8).numpy()
    return cv2.resize(labels, (W, H), interpolation=cv2.INTER_NEAREST)


def test_outputs_are_in_order_one_per_frame_and_match_the_serial_run(nets):
    frames = panning(12)
    config = point_config("evs04", refine_every="all", flow_threads=2)
    outputs = list(make(nets, config).run(frames))
    serial = list(make(nets, dataclasses.replace(config, threaded=False)).run(frames))
    assert [o.info["frame_index"] for o in outputs] == list(range(12))
    assert all(o.labels.shape == (H, W) and o.labels.dtype == np.uint8 for o in outputs)
    for threaded_out, serial_out in zip(outputs, serial, strict=True):
        np.testing.assert_array_equal(threaded_out.labels, serial_out.labels)
        assert threaded_out.info["mode"] == serial_out.info["mode"]
    assert not evs_threads()


@pytest.mark.parametrize("name", sorted(OPERATING_POINTS))
def test_keyframes_exactly_every_s_frames(nets, counted, name):
    config = point_config(name, downscale=1.0)  # D only changes the network input size
    interval = config.keyframe_interval
    count = 2 * interval + 2
    outputs = list(make(nets, config).run(panning(count)))
    keys = [o.info["keyframe"] for o in outputs]
    assert keys == [t % interval == 0 for t in range(count)]
    assert counted[0].calls == sum(keys)  # no wasted look-ahead run of ICNet
    modes = {o.info["mode"] for o, key in zip(outputs, keys) if not key}
    if interval > 1:
        expected = {"copy"} if not config.warp else {"warp", "refine"} if config.refine else {"warp"}
        assert modes == (expected - {"warp"} if config.refine and interval == 2 else expected)
    refined = [t for t, o in enumerate(outputs) if o.info["refined"]]
    assert refined == (
        [t for t in range(count) if t % interval == interval - 1] if config.refine and interval > 1 else []
    )
    assert counted[1].calls == len(refined)


@pytest.mark.parametrize("policy, offsets", [("first", [1]), ("last", [4]), ("all", [1, 2, 3, 4])])
def test_refine_every_policies(nets, counted, policy, offsets):
    outputs = list(make(nets, point_config("evs06", refine_every=policy)).run(panning(10)))
    assert [t for t, o in enumerate(outputs) if o.info["refined"]] == [k + o for k in (0, 5) for o in offsets]


def test_s1_with_refine_runs_icnet_on_every_frame(nets, counted):
    frames = panning(4)
    plain = list(make(nets, point_config("evs01", keyframe_blend=False, output_upsampling="nearest")).run(frames))
    for frame, output in zip(frames, plain):
        np.testing.assert_array_equal(output.labels, icnet_labels(nets[0], frame))
    counted[0].calls = 0
    blended = list(
        make(nets, point_config("evs01", output_upsampling="nearest")).run(frames)
    )  # docs/evs.md §9 #13: IAM of ICNet and warped t-1
    assert all(o.info["keyframe"] for o in blended) and counted[0].calls == 4 and counted[1].calls == 0
    np.testing.assert_array_equal(blended[0].labels, plain[0].labels)
    assert "inconsistent_fraction" not in blended[0].info
    assert all(0 < o.info["inconsistent_fraction"] < 0.2 for o in blended[1:])


@pytest.mark.parametrize("refine", [False, True])
def test_warp_only_output_is_the_shifted_keyframe_labels(nets, refine):
    frames = panning(5)
    # refine_every='first' with S=5 leaves frames 2-4 warp-only on top of a refined frame 1
    config = PipelineConfig(
        keyframe_interval=5, warp=True, refine=refine, refine_every="first", output_upsampling="nearest"
    )
    outputs = list(make(nets, config).run(frames))
    key = outputs[0].labels
    assert len(np.unique(key)) > 3  # the test means something only with varied labels
    start = 2 if refine else 1
    for k in range(start, 5):
        labels, base = outputs[k].labels, outputs[start - 1].labels
        shift = STEP * (k - start + 1)
        assert outputs[k].info["mode"] == "warp"
        # interior: the content moved left by `shift`
        np.testing.assert_array_equal(labels[8:-8, 8 : W - shift - 8], base[8:-8, 8 + shift : W - 8])
        # entering strip on the right: the edge label repeated (label_border='replicate'), never a class-0 strip
        np.testing.assert_array_equal(labels[:, W - shift :], np.repeat(base[:, -1:], shift, axis=1))
        assert outputs[k].probabilities[:, :, -1].sum() == 0  # P keeps the constant border (see the docstring)


def test_refined_frame_after_warp_only_steps_fills_every_border_strip(nets):
    # S=5, 'last': frames 1-3 are warp-only (P has zero strips), frame 4 is refined
    frames = panning(5, step=16)
    outputs = list(make(nets, PipelineConfig(keyframe_interval=5, refine=True)).run(frames))
    assert [o.info["mode"] for o in outputs] == ["key", "warp", "warp", "warp", "refine"]
    assert outputs[3].probabilities[:, :, -12:].abs().sum() == 0  # 3 steps of 4 px at the 1/4 grid
    torch.testing.assert_close(outputs[4].probabilities.sum(0), torch.ones(H // 4, W // 4))


def test_bilinear_output_has_no_border_strip_on_warp_only_frames(nets):
    frames = panning(3)
    outputs = list(make(nets, PipelineConfig(keyframe_interval=5, output_upsampling="bilinear")).run(frames))
    nearest = list(make(nets, PipelineConfig(keyframe_interval=5, output_upsampling="nearest")).run(frames))
    np.testing.assert_array_equal(outputs[2].labels[:, W - 2 * STEP :], nearest[2].labels[:, W - 2 * STEP :])
    assert (outputs[2].labels == nearest[2].labels).mean() > 0.85  # they differ only along label edges


def test_adaptive_mode_forces_a_keyframe_on_a_scene_cut_only(nets, counted):
    config = PipelineConfig(keyframe_interval=10, adaptive_threshold=0.05, output_upsampling="nearest")
    cut = panning(4, seed=0) + panning(4, seed=7)
    outputs = list(make(nets, config).run(cut))
    assert [o.info["keyframe"] for o in outputs] == [True, False, False, False, True, False, False, False]
    assert outputs[4].info["forced_keyframe"] and outputs[4].info["inconsistent_fraction"] > 0.05
    assert all(o.info["inconsistent_fraction"] <= 0.05 for o in outputs[1:4] + outputs[5:])
    assert counted[0].calls == 2  # the look-ahead run for frame 10 was never started
    np.testing.assert_array_equal(outputs[4].labels, icnet_labels(nets[0], cut[4]))
    static = [panning(1)[0]] * 12
    outputs = list(make(nets, config).run(static))
    assert [t for t, o in enumerate(outputs) if o.info["keyframe"]] == [0, 10]  # the max interval only
    assert not any(o.info["forced_keyframe"] for o in outputs)
    assert all(o.info["inconsistent_fraction"] == 0 for o in outputs if not o.info["keyframe"])


def test_adaptive_threaded_matches_serial_after_a_forced_keyframe(nets):
    config = PipelineConfig(keyframe_interval=3, adaptive_threshold=0.05, refine=True, refine_every="all")
    frames = panning(4, seed=0) + panning(5, seed=7)
    threaded = list(make(nets, config).run(frames))
    serial = list(make(nets, dataclasses.replace(config, threaded=False)).run(frames))
    assert (
        [o.info["mode"] for o in threaded]
        == [o.info["mode"] for o in serial]
        == ["key", "refine", "refine", "key", "key", "refine", "refine", "key", "refine"]
    )
    for a, b in zip(threaded, serial):
        np.testing.assert_array_equal(a.labels, b.labels)


def test_state_carries_over_between_runs(nets):
    frames = panning(9)
    whole = list(make(nets, PipelineConfig(keyframe_interval=3)).run(frames))
    pipeline = make(nets, PipelineConfig(keyframe_interval=3))
    parts = list(pipeline.run(frames[:4])) + list(pipeline.run(frames[4:]))
    assert [o.info["frame_index"] for o in parts] == list(range(9))
    for a, b in zip(whole, parts):
        assert a.info["keyframe"] == b.info["keyframe"]
        np.testing.assert_array_equal(a.labels, b.labels)
    pipeline.reset()
    assert pipeline.state is None
    restarted = list(pipeline.run(frames[4:6]))
    assert [o.info["frame_index"] for o in restarted] == [0, 1] and restarted[0].info["keyframe"]


def test_flow_and_next_keyframe_overlap_the_current_work(nets, monkeypatch):
    # a slow network (0.15 s) and slow warps (0.1 s per frame), timed from the outside
    icnet = nets[0]
    starts, ends, flows, received = [], [], [], []

    def slow_icnet(*args, **kwargs):
        starts.append(time.perf_counter())
        time.sleep(0.15)
        out = original(*args, **kwargs)
        ends.append(time.perf_counter())
        return out

    original_flow, original_warp = flow_module.FlowEstimator.flow, Warper.tensor

    def timed_flow(self, prev, cur):
        out = original_flow(self, prev, cur)
        flows.append(time.perf_counter())
        return out

    def slow_warp(self, *args, **kwargs):
        time.sleep(0.1)
        return original_warp(self, *args, **kwargs)

    original = icnet.forward
    icnet.forward = slow_icnet
    monkeypatch.setattr(flow_module.FlowEstimator, "flow", timed_flow)
    monkeypatch.setattr(Warper, "tensor", slow_warp)
    try:
        for _ in make(nets, PipelineConfig(keyframe_interval=3)).run(panning(4)):
            received.append(time.perf_counter())
    finally:
        del icnet.forward
    assert len(starts) == 2 and len(flows) == 2  # frames 1 and 2; none for the key frames 0 and 3
    assert max(flows) < ends[0]  # the flow ran ahead while ICNet worked on frame 0
    # ICNet of key frame 3 ran while frames 1 and 2 were warped: it was done ~0.05 s before frame 2
    # was out, where a serial pipeline would finish it 0.15 s after
    assert ends[1] < received[2] + 0.07


def test_lookahead_is_bounded_by_the_queue_size(nets):
    pulled = []

    def frames():
        for t, frame in enumerate(panning(12)):
            pulled.append(t)
            yield frame

    for consumed, _ in enumerate(make(nets, PipelineConfig(keyframe_interval=5, queue_size=3)).run(frames())):
        time.sleep(0.01)  # a slow consumer
        assert len(pulled) <= consumed + 1 + 3


class Boom(Exception):
    pass


def failing_frames(frames, at):
    for t, frame in enumerate(frames):
        if t == at:
            raise Boom("camera unplugged at frame 3")
        yield frame


@pytest.mark.parametrize("where", ["network", "refiner", "flow", "input", "bad frame"])
def test_worker_exception_reaches_the_caller_and_threads_end(nets, monkeypatch, where):
    frames = panning(8)
    config = PipelineConfig(keyframe_interval=2, refine=True)
    counters = []
    expected: tuple[type, str] = (RuntimeError, "boom in call 2")
    if where == "network":
        counters.append(Counter(nets[0], fail_at=2))
    elif where == "refiner":
        counters.append(Counter(nets[1], fail_at=2))
    elif where == "flow":

        def broken(self, prev, cur):
            raise cv2.error("DIS exploded")

        monkeypatch.setattr(flow_module.FlowEstimator, "flow", broken)
        expected = (cv2.error, "DIS exploded")
    elif where == "input":
        frames = failing_frames(frames, 3)
        expected = (Boom, "camera unplugged at frame 3")
    else:
        frames[5] = frames[5][..., 0]
        expected = (ValueError, "EVS frame 5: expected an H x W x 3 uint8 RGB image")
    pipeline = make(nets, config)
    try:
        with pytest.raises(expected[0], match=expected[1]):
            for _ in pipeline.run(frames):
                pass
    finally:
        for counter in counters:
            counter.restore()
    assert not evs_threads()
    monkeypatch.undo()
    # the pipeline still works afterwards
    assert len(list(pipeline.run(panning(3)))) == 3


def test_early_close_of_the_stream_stops_the_threads(nets):
    pipeline = make(nets, PipelineConfig(keyframe_interval=3, queue_size=2))
    stream = pipeline.run(panning(10))
    first = [next(stream), next(stream)]
    assert evs_threads()
    stream.close()
    assert not evs_threads()
    assert pipeline.state.frames == 2  # the state of the last output received, not of frames read ahead
    assert pipeline.last_stats.frames == 2 and first[1].info["frame_index"] == 1


def test_close_and_reset_stop_an_open_stream(nets):
    pipeline = make(nets, PipelineConfig(keyframe_interval=3))
    stream = pipeline.run(panning(10))
    next(stream)
    pipeline.reset()
    assert not evs_threads() and pipeline.state is None
    with pytest.raises(EVSPipelineClosed, match="stopped"):
        next(stream)
    stream = pipeline.run(panning(10))
    next(stream)
    pipeline.close()
    pipeline.close()  # idempotent
    assert not evs_threads()
    with pytest.raises(EVSPipelineClosed):
        next(stream)
    with pytest.raises(EVSPipelineClosed, match="closed"):
        pipeline.run(panning(2))


def test_keyboard_interrupt_in_the_caller_stops_the_threads(nets):
    pipeline = make(nets, PipelineConfig(keyframe_interval=3))
    with pytest.raises(KeyboardInterrupt):
        stream = pipeline.run(panning(10))
        try:
            for t, _ in enumerate(stream):
                if t == 2:
                    raise KeyboardInterrupt
        finally:
            stream.close()  # what `with segmenter:` or dropping the generator does
    assert not evs_threads()


def test_keyboard_interrupt_from_the_input_reaches_the_caller(nets):
    def frames():
        yield from panning(2)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(make(nets, PipelineConfig(keyframe_interval=3)).run(frames()))
    assert not evs_threads()


def test_timing_info_and_throughput(nets):
    pipeline = make(nets, PipelineConfig(keyframe_interval=3, refine=True))
    outputs = list(pipeline.run(panning(6)))
    for output in outputs:
        assert output.info["latency_s"] > 0
        if output.info["mode"] in ("key", "refine"):
            assert output.info["network_s"] > 0
        else:
            assert "network_s" not in output.info
        if not output.info["keyframe"]:
            assert output.info["flow_s"] > 0 and output.info["warp_s"] > 0
    assert outputs[2].info["iam_s"] > 0 and 0 <= outputs[2].info["inconsistent_fraction"] <= 1
    stats = pipeline.last_stats
    assert (stats.frames, stats.keyframes, stats.refined) == (6, 2, 2)
    assert stats.fps > 0 and stats.wall_s > 0 and stats.latency_median_s > 0 and len(stats.ready_s) == 6
    assert stats.fps_after(3) > 0


def test_frame_size_change_is_refused(nets):
    frames = panning(3)
    frames[2] = cv2.resize(frames[2], (W // 2, H // 2))
    with pytest.raises(Exception, match="EVS frame 2 is 128x64 but the video so far is 256x128; call reset"):
        list(make(nets, PipelineConfig(keyframe_interval=3)).run(frames))
    assert not evs_threads()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(refine=True, warp=False), "refine=True needs warp=True"),
        (dict(adaptive_threshold=0.1, warp=False), "adaptive_threshold needs warp=True"),
        (dict(keyframe_blend=True), "keyframe_blend needs warp=True and refine=True"),
        (dict(keyframe_interval=0), "keyframe_interval must be an integer >= 1"),
        (dict(downscale=0), r"downscale must be in \(0, 1\]"),
        (dict(adaptive_threshold=1.5), r"adaptive_threshold must be in \[0, 1\)"),
        (dict(label_border="wrap"), "unknown label_border 'wrap'"),
        (dict(flow_threads=0), "flow_threads must be an integer >= 1"),
    ],
)
def test_invalid_settings_are_refused(kwargs, message):
    with pytest.raises(Exception, match=message) as info:
        PipelineConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_refine_without_a_refiner_is_refused(nets):
    with pytest.raises(EVSConfigError, match="needs a Refiner"):
        EVSPipeline(nets[0], PipelineConfig(keyframe_interval=2, refine=True))


def test_schedule_first_key_continues_a_cycle():
    schedule = KeyframeSchedule(5)
    assert schedule.first_key(None) == 0 and schedule.first_key(4) == 0 and schedule.first_key(1) == 3
    assert not schedule.force_key(0.9)
    assert KeyframeSchedule(5, adaptive_threshold=0.1).force_key(0.11)
