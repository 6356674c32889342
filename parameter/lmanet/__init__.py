"""LMANet parameter sets: weights, memory size at inference, working resolution, label set.

Nothing is loaded here. ``net_path`` is absolute or relative to the ``network_path`` setting;
``--set net_path=...`` in ``run_segmentation`` points a set at any checkpoint of
``run_training lmanet`` (window and attention come from the checkpoint's constructor record).
"""

from __future__ import annotations

from ._parameter_set import lmanet_parameters

__all__ = ["lmanet_parameters"]
