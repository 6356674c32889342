"""Every registered network, tracker and segmenter runs on tiny generated input.

The cases are read from the registries when the tests are collected, so a plugin that registers a
network constructor, a tracker, a segmenter or a parameter set is tested the day it is registered.
A plugin whose component cannot run on this file's generic input gets a failing test whose message
says which table below to extend: it is never skipped silently.

The backbone registries have their own every-entry tests: ``tests/test_backbones.py``
(``ltr_ext.models.backbone.BACKBONES``) and ``tests/test_lmanet_backbones.py``
(``segmentation_plugins.lmanet.models.backbones.BACKBONES``).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn as nn

from ltr_ext.admin.checkpoint import save_checkpoint
from ltr_ext.admin.loading import load_network
from ltr_ext.admin.model_constructor import NETWORK_CONSTRUCTORS, NetConstructor
from pytracking_ext.evaluation.running import build_tracker, track_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.registry import resolve
from pytracking_ext.trackers import TRACKERS, TrackerParams, parameter_names
from segmentation_plugins.registry import SEGMENTERS, build_segmenter, segmenter_parameter_names, segmenter_parameters
from seqgen import moving_square_sequence

pytestmark = pytest.mark.usefixtures("one_torch_thread")

IMAGE_SIZE = (64, 128)  # (h, w): a multiple of 32, which every registered network's strides divide


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor inside a network output (tensors, sequences, dicts, dataclasses)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


@contextmanager
def global_seed(seed: int) -> Iterator[None]:
    """Seed torch's and numpy's global generators for the block, then restore them.

    The two runs of a determinism check use different seeds, so a method that draws from a global
    generator (which the runners never seed) fails the check instead of passing by luck.
    """
    state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


# --- network constructors -------------------------------------------------------------------------

#: keyword arguments that keep a constructor's network small. A name missing here is built with its
#: defaults; a constructor that cannot be built that way (required arguments) fails the test until
#: its plugin adds its tiny arguments here.
TINY_CONSTRUCTOR_KWARGS: dict[str, dict[str, Any]] = {
    "ltr_ext.train_settings.examples.tiny.tiny_segnet": {"channels": 4},
    "segmentation_plugins.evs.models.icnet.build_icnet": {"config": "small"},
    "segmentation_plugins.evs.models.refiner.build_refiner": {"config": "small"},
    "segmentation_plugins.lmanet.models.lmanet.build_lmanet": {"memory_size": 2, "window": 3, "num_classes": 5},
    "segmentation_plugins.lmanet.models.lmanet.build_single_frame": {"num_classes": 5},
    # the official STA record's own defaults are a ResNet-50 size the tiny test need not build
    "ltr.models.lwl.sta_net.steepest_descent_resnet50": {
        "filter_size": 3,
        "num_filters": 16,
        "label_encoder_dims": [16, 32, 64, 128],
        "use_bn_in_label_enc": False,
        "clf_feat_blocks": 0,
        "final_conv": True,
        "backbone_type": "mrcnn",
    },
}


def _record(name: str, kwargs: dict[str, Any]) -> NetConstructor:
    """The constructor record a checkpoint of the network registered as ``name`` carries."""
    module, _, function = name.rpartition(".")
    return NetConstructor(function, module, (), dict(kwargs))


def _build(name: str) -> nn.Module:
    kwargs = TINY_CONSTRUCTOR_KWARGS.get(name, {})
    try:
        with torch.random.fork_rng(devices=[]):  # seeded, without moving the other tests' random stream
            torch.manual_seed(0)
            return NETWORK_CONSTRUCTORS.get(name)(**kwargs)
    except TypeError as err:
        problem = err
    pytest.fail(
        f"network constructor '{name}' cannot be built with {kwargs or 'its defaults'} ({problem}); "
        f"its plugin must add tiny keyword arguments to TINY_CONSTRUCTOR_KWARGS in {Path(__file__).name}"
    )


def _generic_forward(net: nn.Module) -> Callable[[torch.Tensor], Any] | None:
    """What a tiny image batch can be run through: a clip forward, a one-image forward, or the backbone."""
    if hasattr(net, "forward_clip"):
        return lambda image: net.forward_clip(torch.stack([image, image.flip(-1)], dim=1))
    if type(net).forward is not nn.Module.forward:
        required = [
            p
            for p in inspect.signature(net.forward).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if len(required) == 1:
            return net
    if hasattr(net, "extract_backbone_features"):  # trackers' networks: their forward is a training episode
        return net.extract_backbone_features
    return None  # e.g. the EVS Refiner needs ICNet's warped features: covered by tests/test_evs_models.py


@pytest.mark.parametrize("name", NETWORK_CONSTRUCTORS.names())
def test_every_registered_network_builds_runs_and_round_trips(tmp_path, name):
    net = _build(name)
    net = net[0] if isinstance(net, (tuple, list)) else net
    assert isinstance(net, nn.Module) and sum(p.numel() for p in net.parameters()) > 0
    forward = _generic_forward(net.eval())
    if forward is not None:
        with torch.no_grad():
            outputs = _tensors(forward(torch.rand(1, 3, *IMAGE_SIZE, generator=torch.Generator().manual_seed(0))))
        assert outputs and all(torch.isfinite(t).all() for t in outputs if t.is_floating_point()), name

    record = _record(name, TINY_CONSTRUCTOR_KWARGS.get(name, {}))
    path = save_checkpoint(tmp_path / "net.safetensors", {"net": net.state_dict(), "constructor": record.to_dict()})
    loaded, _ = load_network(path)
    assert type(loaded) is type(net) and loaded.constructor.name == name
    original, restored = net.state_dict(), loaded.state_dict()
    assert list(restored) == list(original)
    same = [k for k in original if restored[k].dtype == original[k].dtype and torch.equal(restored[k], original[k])]
    assert len(same) == len(original), f"{name}: {sorted(set(original) - set(same))[:5]} changed on the way"


# --- trackers -------------------------------------------------------------------------------------

#: tracker name -> fixture giving the network folder of its parameter sets (random weights)
NETWORK_FIXTURES = {"rts": "rts_network_dir"}
#: trackers whose two runs on one sequence may differ, and why
NOT_DETERMINISTIC = {
    # OpenCV's MIL draws its samples from OpenCV's own generator, which Python cannot seed per tracker
    "opencv_mil": "OpenCV MIL samples with an unseedable generator",
}
ALL_TRACKER_PARAMS = [(t, p) for t in TRACKERS.names() for p in parameter_names(t)]
TRACKED_FRAMES = 3  # rts50 (ResNet-50) costs about 1.5 s a frame on one thread: keep the sequences short


def _track(tracker: str, param: str, seq, seed: int):
    with global_seed(seed):
        return track_sequence(build_tracker(TrackerSpec(tracker, param), seq), seq, progress=False)


@pytest.mark.parametrize("tracker", TRACKERS.names())
def test_every_registered_tracker_has_a_parameter_set(tracker):
    # a tracker without one would have no case below: untested without anyone noticing
    assert parameter_names(tracker), f"tracker '{tracker}' is registered but no parameter package has {tracker}/*.py"


@pytest.mark.parametrize("tracker,param", ALL_TRACKER_PARAMS)
def test_every_registered_tracker_tracks_a_tiny_sequence(workspace, tmp_path, monkeypatch, request, tracker, param):
    if tracker in NETWORK_FIXTURES:  # trackers with a network get one with random weights
        monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(request.getfixturevalue(NETWORK_FIXTURES[tracker])))
    seq = moving_square_sequence(tmp_path, frames=TRACKED_FRAMES, objects=1, with_masks=True)
    out = _track(tracker, param, seq, seed=1)
    boxes = np.asarray(out.target_bbox, dtype=float)
    assert boxes.shape == (TRACKED_FRAMES, 4) and np.isfinite(boxes).all()
    for mask in out.segmentation:
        assert mask is None or (mask.shape == (64, 80) and np.isfinite(mask).all())
    if tracker in NOT_DETERMINISTIC:
        return
    again = _track(tracker, param, seq, seed=2)
    assert np.array_equal(np.asarray(again.target_bbox, dtype=float), boxes), (
        f"{tracker}/{param} gave other boxes on a second run; if that is by design, list it in NOT_DETERMINISTIC"
    )
    for first, second in zip(out.segmentation, again.segmentation):
        assert (first is None) == (second is None) and (first is None or np.array_equal(first, second))


# --- segmenters -----------------------------------------------------------------------------------


def _evs_random_weights(params: TrackerParams, folder: Path) -> TrackerParams:
    params.random_weights = True  # seeded random ICNet and Refiner (segmentation_plugins/evs/segmenter.py)
    return params


def _lmanet_random_weights(params: TrackerParams, folder: Path) -> TrackerParams:
    from ltr_ext.admin.model_constructor import model_constructor
    from segmentation_plugins.lmanet.models.lmanet import build_lmanet, build_single_frame  # this plugin's only

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if params.get("constructor", None):  # a bare state dict plus the constructor named by the set
            net = resolve(params.constructor)(**params.constructor_kwargs)
            state = {"net": net.state_dict()}
        else:  # a checkpoint of run_training lmanet; memory_size None is the single-frame baseline's set
            tiny = {"backbone": "erfnet", "num_classes": params.num_classes}
            net = (
                model_constructor(build_single_frame)(**tiny)
                if params.memory_size is None
                else model_constructor(build_lmanet)(memory_size=2, window=3, **tiny)
            )
            state = {"net": net.state_dict(), "constructor": net.constructor.to_dict()}
    params.net_path = str(save_checkpoint(folder / "lmanet.safetensors", state))
    params.input_size = None  # the frames' own tiny size, not the set's working resolution
    return params


#: segmenter name -> how to point its parameter set at random weights written into a folder
RANDOM_WEIGHTS: dict[str, Callable[[TrackerParams, Path], TrackerParams]] = {
    "evs": _evs_random_weights,
    "lmanet": _lmanet_random_weights,
}
ALL_SEGMENTER_PARAMS = [(s, p) for s in SEGMENTERS.names() for p in segmenter_parameter_names(s)]
SEGMENTED_FRAMES = 3


def _frames(count: int) -> list[np.ndarray]:
    """A textured scene panning right (flow-based segmenters see real motion)."""
    rng = np.random.default_rng(0)
    h, w = IMAGE_SIZE
    scene = rng.integers(0, 256, size=(h // 4, w // 4 + count, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    return [np.ascontiguousarray(scene[:, 4 * t : 4 * t + w]) for t in range(count)]


def _segment(name: str, param: str, folder: Path, seed: int) -> tuple[int, list]:
    if name not in RANDOM_WEIGHTS:
        pytest.fail(
            f"segmenter '{name}' has no way to get random weights here: its plugin must add one to "
            f"RANDOM_WEIGHTS in {Path(__file__).name}"
        )
    params = RANDOM_WEIGHTS[name](segmenter_parameters(name, param), folder)
    params.use_gpu = False
    with global_seed(seed), build_segmenter(name, params) as segmenter:
        return segmenter.num_classes, list(segmenter.segment_video(_frames(SEGMENTED_FRAMES)))


@pytest.mark.parametrize("name", SEGMENTERS.names())
def test_every_registered_segmenter_has_a_parameter_set(name):
    assert segmenter_parameter_names(name), f"segmenter '{name}' is registered but no parameter package has {name}/*.py"


@pytest.mark.parametrize("name,param", ALL_SEGMENTER_PARAMS)
def test_every_registered_segmenter_segments_tiny_frames(workspace, tmp_path, name, param):
    classes, outputs = _segment(name, param, tmp_path, seed=1)
    assert len(outputs) == SEGMENTED_FRAMES
    for output in outputs:
        assert output.labels.shape == IMAGE_SIZE and output.labels.dtype == np.uint8
        assert output.labels.max() < classes, f"{name}/{param}: label {output.labels.max()} of {classes} classes"
        assert output.probabilities is None or torch.isfinite(output.probabilities).all()
    _, again = _segment(name, param, tmp_path, seed=2)
    assert all(np.array_equal(a.labels, b.labels) for a, b in zip(outputs, again)), (
        f"{name}/{param} gave other labels on a second run"
    )


# --- the tables above -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table,registered",
    [
        ("TINY_CONSTRUCTOR_KWARGS", NETWORK_CONSTRUCTORS.names()),
        ("NETWORK_FIXTURES", TRACKERS.names()),
        ("NOT_DETERMINISTIC", TRACKERS.names()),
        ("RANDOM_WEIGHTS", SEGMENTERS.names()),
    ],
)
def test_tables_name_only_registered_components(table, registered):
    # a renamed component would otherwise lose its tiny arguments or exemption without a word
    stale = sorted(set(globals()[table]) - set(registered))
    assert not stale, f"{table} in {Path(__file__).name} names unregistered components {stale}: rename or remove them"
