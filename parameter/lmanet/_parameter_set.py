"""The fields every LMANet parameter set holds (a module, not a set: its ``_`` keeps it out of the listing)."""

from __future__ import annotations

from pytracking_ext.trackers.params import TrackerParams


def lmanet_parameters(
    net_path: str,
    label_set: str,
    num_classes: int,
    input_size: tuple[int, int] | None,
    memory_size: int | None = 3,
    **extra,
) -> TrackerParams:
    """A parameter set; ``input_size`` is (height, width) or None for the frame's own size.

    ``window`` / ``attention`` (None: the checkpoint's own), ``constructor`` / ``constructor_kwargs``
    and ``precision`` ('fp32', 'bf16', or 'auto': bf16 where the device computes it natively; the
    memory read stays fp32, see ``segmentation_plugins.lmanet.segmenter``) are listed so that
    ``--set`` can change them (run_segmentation checks every ``--set`` name against the set's fields).
    """
    fields = dict(
        net_path=net_path,
        label_set=label_set,
        num_classes=num_classes,
        input_size=input_size,
        memory_size=memory_size,
        empty_memory="available",
        use_gpu=True,
        window=None,
        attention=None,
        constructor=None,
        constructor_kwargs={},
        precision="fp32",
    )
    return TrackerParams(**{**fields, **extra})
