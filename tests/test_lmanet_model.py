"""LMANet with ERFNet: official key names, strict loading, tied keys, fixture parity."""

import numpy as np
import pytest
import torch

from ltr_ext.admin.loading import StateDictMismatch, load_state_dict_strict
from segmentation_plugins.lmanet import build_lmanet
from segmentation_plugins.lmanet.models.attention import local_attention, local_logits


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """On a shared, busy machine two OpenMP threads waiting for each other make these small
    steps several times slower; one thread gives the same numbers (fixture README)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fixture(shared_dir):
    folder = shared_dir / "fixtures" / "lmanet"
    model = build_lmanet(backbone="erfnet", memory_size=3, window=21, num_classes=20)
    load_state_dict_strict(model, torch.load(folder / "weights.pt"), source="weights.pt")
    model.eval()
    return model, dict(np.load(folder / "outputs.npz"))


def _close(ours: torch.Tensor, ref: np.ndarray) -> float:
    error = float((ours.detach().double() - torch.from_numpy(ref).double()).abs().max())
    assert error <= 1e-3 * np.abs(ref).max(), error
    return error


def test_state_dict_names_match_the_official_model(shared_dir):
    official = torch.load(shared_dir / "fixtures" / "lmanet" / "weights.pt")
    ours = build_lmanet().state_dict()
    assert list(ours) == list(official)
    assert all(ours[k].shape == official[k].shape for k in ours)


def test_query_and_memory_keys_share_one_convolution():
    model = build_lmanet()
    assert model.kv_Q_r4.Key.weight is model.kv_M_r4.Key.weight
    assert model.kv_Q_r4.Value.weight is not model.kv_M_r4.Value.weight


def test_loading_names_every_missing_and_unexpected_key():
    state = build_lmanet().state_dict()
    state.pop("decoder.output_conv.bias")
    state["decoder.output_conv_new.bias"] = torch.zeros(20)
    with pytest.raises(StateDictMismatch, match="decoder.output_conv.bias.*decoder.output_conv_new.bias"):
        load_state_dict_strict(build_lmanet(), state)


def test_forward_clip_reproduces_the_official_logits(fixture):
    model, ref = fixture
    with torch.inference_mode():
        _close(model.forward_clip(torch.from_numpy(ref["frames"])), ref["logits"])


def test_intermediates_match_the_official_run(fixture):
    model, ref = fixture
    frames = torch.from_numpy(ref["frames"])
    with torch.inference_mode():
        features = [model.encode(frames[:, t]) for t in range(4)]
        _close(torch.stack(features, 1), ref["encoder_features"])
        keys, values = zip(*(model.memorize(f) for f in features[:3]))
        mk, mv = torch.stack(keys, 2), torch.stack(values, 2)
        _close(mk, ref["memory_keys"])
        _close(mv, ref["memory_values"])
        qk, qv = model.query(features[3])
        _close(qk, ref["query_key"])
        _close(qv, ref["query_value"])
        _close(local_logits(qk, mk, 21)[..., :8, :8], ref["corr_logits_crop"])
        _close(local_attention(qk, mk, 21)[..., :8, :8], ref["attention_crop"])
        read = model.read(qk, mk, mv)
        _close(read, ref["memory_read"])
        _close(model.fuse(qv, read), ref["fused"])


def test_global_attention_variant_reproduces_the_official_logits(fixture):
    model, ref = fixture
    model.attention = "global"
    try:
        with torch.inference_mode():
            _close(model.forward_clip(torch.from_numpy(ref["frames"])), ref["logits_global"])
    finally:
        model.attention = "local"


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="odd"):
        build_lmanet(window=4)
    with pytest.raises(ValueError, match="unknown LMANet backbone"):
        build_lmanet(backbone="resnet")
    with pytest.raises(ValueError, match="B x L x 3 x H x W"):
        build_lmanet().forward_clip(torch.zeros(1, 3, 8, 8))


def test_streaming_with_a_full_memory_equals_the_clip_protocol(fixture):
    from segmentation_plugins.lmanet.inference import LMANetStreamer

    model, ref = fixture
    frames = torch.from_numpy(ref["frames"])
    streamer = LMANetStreamer(model, memory_size=3)
    outputs = [streamer.step(frames[:, t]) for t in range(4)]
    _close(outputs[-1], ref["logits"])
    assert len(streamer.keys) == 3


def test_streaming_memory_is_a_rolling_window_of_the_last_frames():
    from segmentation_plugins.lmanet.inference import LMANetStreamer

    model = build_lmanet(window=3).eval()
    frames = torch.rand(5, 1, 3, 32, 32)
    streamer = LMANetStreamer(model, memory_size=2)
    for frame in frames:
        streamer.step(frame)
    with torch.inference_mode():
        expected = model.memorize(model.encode(frames[3]))[0]
    assert len(streamer.keys) == 2 and torch.equal(streamer.keys[0], expected)
    streamer.reset()
    assert not streamer.keys
