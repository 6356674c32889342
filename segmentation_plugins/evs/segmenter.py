"""EVS as a :class:`VideoSegmenter`: networks loaded from the parameter set, the concurrent pipeline.

Weights (parameter keys):

- ``icnet_weights``: ICNet checkpoint, always needed;
- ``refiner_weights``: Refiner checkpoint, needed when ``refine`` is on; ``"from_icnet"`` starts
  the Refiner from ICNet's layers without fine-tuning (docs/evs.md §5.2's initialisation);
- paths are absolute or relative to the ``network_path`` setting (env ``PYTRACKING_NETWORK_PATH``),
  as for the trackers' networks (both go through ``pytracking_ext.evaluation.network_loading``). A
  checkpoint is a file written by our LTR trainer (its ``net`` state dict), an LTR checkpoint folder
  (its latest epoch) or a bare state dict; loading is strict and names every missing or unexpected key;
- ``random_weights=True`` builds seeded random networks instead (tests and the speed benchmark
  only; the output is meaningless).

Other keys: ``icnet_config`` ('standard', 'small'), ``use_gpu`` (CUDA when present, else CPU),
``precision`` of ICNet and the Refiner ('fp32' default; 'bf16'; 'auto': bf16 where the device
computes it natively, ``pytracking_ext.evaluation.precision``; bf16 networks run channels-last, and
the pipeline casts at their boundary so that P, L, the warps, the IAM and the labels stay fp32),
``cv2_threads`` / ``torch_threads`` (process-wide thread pools, set when not None) and the
pipeline settings of :class:`~segmentation_plugins.evs.pipeline.PipelineConfig`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import cv2
import numpy as np
import torch
import torch.nn as nn

from pytracking_ext.errors import PytrackingError
from pytracking_ext.evaluation.network_loading import NetworkNotFoundError, NetworkSpec, read_network, select_device
from pytracking_ext.evaluation.precision import resolve_precision
from pytracking_ext.trackers.params import TrackerParams

from ..segmenter import SegmentationOutput, VideoSegmenter
from .checkpoint_identity import BUILDERS, identify
from .models import ICNet, Refiner, build_icnet, build_refiner
from .pipeline import EVSPipeline, PipelineConfig, PropagationState, RunStats

REFINER_FROM_ICNET = "from_icnet"


class EVSWeightsError(PytrackingError):
    """EVS network weights are not configured, not found or do not fit the network."""


def load_weights(
    builder: Callable[[], nn.Module], path: str, parameter: str, network_dir: str | None = None
) -> nn.Module:
    """``builder()`` with the weights of checkpoint ``path`` (strict), on the CPU; errors name ``parameter``."""
    from ltr_ext.admin.checkpoint import CheckpointError
    from ltr_ext.admin.loading import StateDictMismatch

    # uncached, in the default memory format and unprepared: each segmenter owns its networks (its pipeline
    # moves them to its device), and the builders are closures over the parameters, no stable cache key
    spec = NetworkSpec(path, constructor=builder, channels_last=False, cpu_inference=False)
    try:
        return read_network(spec, "cpu", network_dir)
    except NetworkNotFoundError:
        raise EVSWeightsError(
            f"{parameter}: {spec.resolve(network_dir)} not found (absolute, or relative to the "
            f"network_path setting / PYTRACKING_NETWORK_PATH)"
        ) from None
    except CheckpointError as error:
        raise EVSWeightsError(f"{parameter}: {error}") from None
    except StateDictMismatch as error:
        raise EVSWeightsError(f"{parameter}: {_mismatch_line(spec.resolve(network_dir), parameter, error)}") from None


#: the network kind each weights parameter must hold
EXPECTED_KIND = {"icnet_weights": "ICNet", "refiner_weights": "Refiner"}


def _mismatch_line(path, parameter: str, error) -> str:
    """One line for a checkpoint that does not fit: which EVS network it is, when it is one we know."""
    from ltr_ext.admin.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(path)
    state_dict = checkpoint.get("net", checkpoint)
    expected = EXPECTED_KIND.get(parameter)
    for kind in BUILDERS:
        found = identify(state_dict, kind)
        if found is None:
            continue
        if expected is not None and kind != expected:
            article = "an" if expected[0] in "AEIOU" else "a"
            return (
                f"{path} is {found.describe()}, not {article} {expected}: "
                f"point {parameter} at {article} {expected} checkpoint"
            )
        return (
            f"{path} is {found.describe()}, but these parameters expect another {kind} "
            f"(size or class count): add {found.settings()}"
        )
    return error.summary()


def _random(builder: Callable[[], nn.Module], seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's random stream
        torch.manual_seed(seed)
        return builder()


def build_networks(params: TrackerParams) -> tuple[ICNet, Refiner | None]:
    """ICNet and (with ``refine``) the Refiner of a parameter set, on the CPU, in eval mode."""
    config = params.get("icnet_config", "standard")
    uses_pwarped = params.get("refiner_uses_pwarped", False)
    classes = params.get("num_classes", 19)
    make_icnet = lambda: build_icnet(config, num_classes=classes)  # noqa: E731
    make_refiner = lambda: build_refiner(config, uses_pwarped=uses_pwarped, num_classes=classes)  # noqa: E731
    refine = params.get("refine", False)
    if params.get("random_weights", False):
        seed = params.get("seed", 0)
        icnet = _random(make_icnet, seed)
        refiner = _random(make_refiner, seed + 1) if refine else None
        return icnet.eval(), refiner.eval() if refiner is not None else None
    icnet_path = params.get("icnet_weights", None)
    if not icnet_path:
        raise EVSWeightsError(
            "EVS needs ICNet weights: set params.icnet_weights to a checkpoint (absolute or relative "
            "to network_path); params.random_weights=True is for tests and benchmarks only"
        )
    icnet = load_weights(make_icnet, icnet_path, "icnet_weights")
    refiner = None
    if refine:
        refiner_path = params.get("refiner_weights", None)
        if not refiner_path:
            raise EVSWeightsError(
                f"operating point {params.get('name', '?')} uses the Refiner: set "
                f"params.refiner_weights to a checkpoint, or to '{REFINER_FROM_ICNET}' for an "
                f"untuned Refiner made of ICNet's layers"
            )
        if refiner_path == REFINER_FROM_ICNET:
            refiner = Refiner.from_icnet(icnet, uses_pwarped=uses_pwarped)
        else:
            refiner = load_weights(make_refiner, refiner_path, "refiner_weights")
    return icnet.eval(), refiner.eval() if refiner is not None else None


def cast_networks(icnet: ICNet, refiner: Refiner | None, dtype: torch.dtype) -> tuple[ICNet, Refiner | None]:
    """The networks in ``dtype`` (unchanged in fp32; else cast and channels-last, in place: the segmenter owns them)."""
    if dtype == torch.float32:
        return icnet, refiner
    nets = [
        net.to(dtype=dtype, memory_format=torch.channels_last) if net is not None else None for net in (icnet, refiner)
    ]
    return nets[0], nets[1]


class EVSSegmenter(VideoSegmenter):
    """EVS (thesis ch. 3) behind the video segmenter contract; frames are H×W×3 uint8 RGB."""

    def __init__(
        self,
        icnet: ICNet,
        config: PipelineConfig,
        refiner: Refiner | None = None,
        device: torch.device | str = "cpu",
        params: TrackerParams | None = None,
    ) -> None:
        self.params = params
        self.num_classes = icnet.cfg.num_classes
        self.pipeline = EVSPipeline(icnet, config, refiner, device)

    @property
    def config(self) -> PipelineConfig:
        return self.pipeline.config

    @property
    def device(self) -> torch.device:
        return self.pipeline.device

    @property
    def stats(self) -> RunStats | None:
        """Throughput and latency of the last :meth:`segment_video` stream (after it ended or was closed)."""
        return self.pipeline.last_stats

    @property
    def state(self) -> PropagationState | None:
        return self.pipeline.state

    def reset(self) -> None:
        self.pipeline.reset()

    def segment_video(self, frames: Iterable[np.ndarray]) -> Iterator[SegmentationOutput]:
        return self.pipeline.run(frames)

    def close(self) -> None:
        self.pipeline.close()


def build_segmenter(params: TrackerParams) -> EVSSegmenter:
    """The EVS segmenter of a parameter set (``parameter/evs/*.py``); see the module docstring."""
    config = PipelineConfig.from_params(params)
    icnet, refiner = build_networks(params)
    if params.get("cv2_threads", None) is not None:
        cv2.setNumThreads(params.cv2_threads)
    if params.get("torch_threads", None) is not None:
        torch.set_num_threads(params.torch_threads)
    device = select_device(params.get("use_gpu", True))
    icnet, refiner = cast_networks(icnet, refiner, resolve_precision(params.get("precision", "fp32"), device))
    return EVSSegmenter(icnet, config, refiner, device, params)
