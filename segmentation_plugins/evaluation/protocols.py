"""Evaluation protocols of ``run_segmentation --mode``: which frames a clip holds and which are scored.

``stream``
    every run of consecutive labelled frames is one video, every labelled frame scored.
``clip``
    the official LMANet protocol: a fresh clip of ``--clip-length`` frames ends at every labelled
    frame, and only that frame is scored.
``thesis``
    EVS thesis ch. 3 (docs/evs.md §2.5): a fresh clip of S frames (S = the parameter set's
    ``keyframe_interval``) ends at every labelled frame, so its key frame is the clip's first frame
    (index 19 - (S - 1) of a Cityscapes snippet) and the scored frame lies S - 1 frames after it,
    the last frame of a cycle, where the Refiner of EVS 02/04/06 runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytracking_ext.errors import PytrackingError
from pytracking_ext.registry import Registry


@dataclass(frozen=True)
class Protocol:
    """How :func:`~segmentation_plugins.evaluation.runner.evaluate` cuts and scores a split."""

    name: str
    #: videos are clips ending at a labelled frame, of which only the last is scored
    clips: bool
    #: the clip length is the parameter set's key-frame interval S, not ``--clip-length``
    length_from_keyframe_interval: bool = False
    #: clips are streamed with every output kept (key frames, distances), not run by ``segment_clip``
    keeps_every_output: bool = False


PROTOCOLS = Registry("evaluation protocol")
PROTOCOLS.add_all(
    {
        "stream": Protocol("stream", clips=False),
        "clip": Protocol("clip", clips=True),
        "thesis": Protocol("thesis", clips=True, length_from_keyframe_interval=True, keeps_every_output=True),
    }
)


def get_protocol(mode: str) -> Protocol:
    """The protocol named ``mode``; ValueError naming the known ones otherwise."""
    if mode not in PROTOCOLS:
        raise ValueError(f"mode must be 'stream' or 'clip' or 'thesis', got '{mode}'")
    return PROTOCOLS.get(mode)


def protocol_clip_length(mode: str, clip_length: int, params: Any) -> int:
    """Frames per clip under ``mode``: S of ``params`` for ``thesis``, else ``clip_length``."""
    if not get_protocol(mode).length_from_keyframe_interval:
        return clip_length
    interval = getattr(params, "keyframe_interval", None)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        name = getattr(params, "name", "the parameter set")
        raise PytrackingError(
            f"--mode thesis needs a key-frame method: {name} has no integer keyframe_interval >= 1 "
            f"(got {interval!r}); use --mode clip --clip-length L"
        )
    return interval
