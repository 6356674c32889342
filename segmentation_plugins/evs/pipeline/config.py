"""The EVS pipeline's settings, declared once: :class:`PipelineConfig`.

Every pipeline setting is a field here, with its default, its group and a one-line doc. The EVS
parameter sets (``parameter/evs``) take their pipeline keys and defaults from these fields, and
the Refiner recipe derives its propagation settings from them (:func:`settings_class`), so a
setting added here reaches every parameter set and every user of its group.

Groups: ``schedule`` (D, S, W, R and when ICNet / the Refiner run), ``flow``, ``warp`` (how P, L
and F travel between frames), ``iam``, ``labels``, ``output``, ``runtime`` (threads and queues).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import EVSConfigError
from ..flow import FLOW_METHODS
from ..schedule import KeyframeSchedule
from ..warp import BORDERS, IGNORE_LABEL, INTERPOLATIONS
from .keyframe_blend import blend_name
from .upsampling import OUTPUT_UPSAMPLING

GROUPS = ("schedule", "flow", "warp", "iam", "labels", "output", "runtime")


def setting(default: Any, group: str, doc: str) -> Any:
    """A :class:`PipelineConfig` field: its default, its group (one of ``GROUPS``) and its doc."""
    if group not in GROUPS:
        raise ValueError(f"unknown pipeline settings group '{group}'; known: {', '.join(GROUPS)}")
    return field(default=default, metadata={"group": group, "doc": doc})


@dataclass(frozen=True)
class PipelineConfig:
    """Pipeline settings; :meth:`from_params` reads them from an EVS parameter set."""

    downscale: float = setting(1.0, "schedule", "D: input downscaling of ICNet and the Refiner, in (0, 1]")
    keyframe_interval: int = setting(1, "schedule", "S: ICNet on every S-th frame (the maximum interval when adaptive)")
    warp: bool = setting(True, "schedule", "W: warp the last prediction with the flow (else copy it)")
    refine: bool = setting(False, "schedule", "R: Refiner + IAM on propagated frames (needs W)")
    refine_every: str = setting(
        "last",
        "schedule",
        "propagated frames of a cycle the Refiner runs on: 'last' (the scored frame, docs/evs.md §2.3 [D]), "
        "'first' or 'all'",
    )
    adaptive_threshold: float | None = setting(
        None,
        "schedule",
        "adaptive key frames (thesis future work): a propagated frame whose eq. 3.3 inconsistent fraction "
        "exceeds it becomes a key frame; None: off",
    )
    keyframe_blend: bool | str = setting(
        "off",
        "schedule",
        "at key frames the IAM blends ICNet's P with P warped from t-1 (EVS 01: S = 1 with W and R, "
        "docs/evs.md §9 #13): False/'off'; True/'fresh' (ICNet's own P, L are the state); 'chain' (the "
        "blend is the state); 'fresh_mean' (consistent regions: mean of ICNet(t) and warped ICNet(t-1))",
    )
    flow_method: str = setting("dis", "flow", "optical flow method (DIS with the thesis setting = ULTRAFAST)")
    flow_scale: float = setting(1.0, "flow", "flow resolution as a fraction of the full-resolution gray frame")
    flow_threads: int = setting(
        1, "runtime", "flow worker threads (the flow of frame t needs only t-1 and t, so it runs ahead)"
    )
    propagation_stride: int = setting(
        4, "warp", "P and L at 1/stride of the frame (512×256 for 2048×1024); F stays at 1/16 of the network input"
    )
    warp_interpolation: str = setting("nearest", "warp", "eq. 3.2 interpolation of P and F; labels are always nearest")
    label_border: str = setting(
        "replicate",
        "warp",
        "warped labels outside frame t-1: the nearest edge label, never 255 (the IAM check uses 255 regardless)",
    )
    probability_border: str = setting(
        "constant", "warp", "warped P outside frame t-1: 0, so the IAM marks those pixels inconsistent"
    )
    feature_border: str = setting("constant", "warp", "warped low-level features F outside frame t-1")
    iam_dilation: int = setting(7, "iam", "IAM: dilation of the inconsistency mask (docs/evs.md §3, §9 #4)")
    iam_smoothing: int = setting(7, "iam", "IAM: smoothing window of the mask (docs/evs.md §3, §9 #4)")
    iam_smoothing_mode: str = setting("box", "iam", "IAM: smoothing filter of the mask")
    ignore_label: int = setting(IGNORE_LABEL, "labels", "label of pixels without a class")
    queue_size: int | None = setting(
        None, "runtime", "frames in flight; None: max(4, S + 2), so ICNet of the next key frame overlaps a cycle"
    )
    output_upsampling: str = setting(
        "bilinear",
        "output",
        "labels to the frame size: 'bilinear' (default, the evaluation rule of docs/evs.md §2.5): P bilinear + "
        "argmax; 'nearest': the labels resized, cheaper on a CPU",
    )
    threaded: bool = setting(
        True, "runtime", "False: every step in the caller's thread (reference results, serial timings)"
    )
    schedule: KeyframeSchedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "schedule",
            KeyframeSchedule(self.keyframe_interval, self.refine, self.refine_every, self.adaptive_threshold),
        )
        if not 0 < self.downscale <= 1:
            raise EVSConfigError(f"downscale must be in (0, 1], got {self.downscale}")
        if self.refine and not self.warp:
            raise EVSConfigError("refine=True needs warp=True (the Refiner works on warped features)")
        if self.adaptive_threshold is not None and not self.warp:
            raise EVSConfigError("adaptive_threshold needs warp=True (the check uses the flow)")
        if self.blend_reading is not None and not (self.warp and self.refine):
            raise EVSConfigError("keyframe_blend needs warp=True and refine=True (the IAM blends at key frames)")
        for name, value in (("flow_threads", self.flow_threads), ("propagation_stride", self.propagation_stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EVSConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if self.queue_size is not None and (not isinstance(self.queue_size, int) or self.queue_size < 1):
            raise EVSConfigError(f"queue_size must be an integer >= 1 or None (automatic), got {self.queue_size!r}")
        FLOW_METHODS.get(self.flow_method)
        OUTPUT_UPSAMPLING.get(self.output_upsampling)
        for name, table in (
            ("warp_interpolation", INTERPOLATIONS),
            ("label_border", BORDERS),
            ("probability_border", BORDERS),
            ("feature_border", BORDERS),
        ):
            if getattr(self, name) not in table:
                raise EVSConfigError(f"unknown {name} '{getattr(self, name)}'; known: {', '.join(sorted(table))}")

    @property
    def blend_reading(self) -> str | None:
        """The ``keyframe_blend`` reading's registry name (keyframe_blend.py), None when off."""
        return blend_name(self.keyframe_blend)

    @property
    def frames_in_flight(self) -> int:
        """``queue_size``, or by default enough for ICNet of the next key frame to start a cycle ahead."""
        return self.queue_size or max(4, self.keyframe_interval + 2)

    @classmethod
    def setting_fields(cls, *groups: str) -> list[dataclasses.Field]:
        """The settings (init fields) of ``groups``, in declaration order; all of them without groups."""
        unknown = [g for g in groups if g not in GROUPS]
        if unknown:
            raise ValueError(f"unknown pipeline settings group '{unknown[0]}'; known: {', '.join(GROUPS)}")
        return [f for f in dataclasses.fields(cls) if f.init and (not groups or f.metadata["group"] in groups)]

    @classmethod
    def defaults(cls, *groups: str) -> dict[str, Any]:
        """``{name: default}`` of the settings of ``groups`` (all without groups)."""
        return {f.name: f.default for f in cls.setting_fields(*groups)}

    @classmethod
    def docs(cls, *groups: str) -> dict[str, str]:
        """``{name: one-line doc}`` of the settings of ``groups`` (all without groups)."""
        return {f.name: f.metadata["doc"] for f in cls.setting_fields(*groups)}

    def settings(self) -> dict[str, Any]:
        """``{name: value}`` of every setting (the keys a parameter set carries)."""
        return {f.name: getattr(self, f.name) for f in self.setting_fields()}

    @classmethod
    def from_params(cls, params: Any, **overrides: Any) -> PipelineConfig:
        """The fields found on ``params`` (a TrackerParams); missing ones keep their defaults."""
        names = [f.name for f in cls.setting_fields()]
        values = {name: getattr(params, name) for name in names if hasattr(params, name)}
        return cls(**{**values, **overrides})


def settings_class(
    name: str,
    groups: Iterable[str],
    extra: Mapping[str, tuple[Any, Any]] | None = None,
    module: str | None = None,
    doc: str | None = None,
) -> type:
    """A frozen dataclass with the :class:`PipelineConfig` settings of ``groups`` (same names, types,
    defaults and docs) followed by ``extra`` (``{name: (type, default)}``, settings of the caller only).

    ``module``: the ``__module__`` of the class (the module that binds it to ``name``, so that its
    instances pickle).
    """
    groups = tuple(groups)
    inherited = [
        (f.name, f.type, field(default=f.default, metadata=f.metadata)) for f in PipelineConfig.setting_fields(*groups)
    ]
    taken = {item[0] for item in inherited}
    clashes = sorted(taken & set(extra or {}))
    if clashes:
        raise ValueError(f"{name}: extra setting '{clashes[0]}' is already a pipeline setting")
    own = [(key, kind, field(default=default)) for key, (kind, default) in (extra or {}).items()]
    cls = dataclasses.make_dataclass(name, inherited + own, frozen=True)
    cls.__doc__ = doc or f"{name}: the pipeline settings of {', '.join(groups)} (see PipelineConfig)."
    if module is not None:
        cls.__module__ = module
    return cls
