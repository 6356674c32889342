"""Segmentation methods by name, with their parameter modules in ``parameter/<name>/``.

``SEGMENTERS`` maps a method name to a factory ``build(params) -> VideoSegmenter``, read from the
entry-point group ``segmentation_plugins.segmenters`` (``lmanet`` and ``evs`` are declared in
``pyproject.toml`` as any installed plugin declares its own).
"""

from __future__ import annotations

from pytracking_ext.registry import Registry
from pytracking_ext.trackers import TrackerParams, get_parameters, parameter_names

from .segmenter import VideoSegmenter

SEGMENTERS = Registry("segmenter", "segmentation_plugins.segmenters")


def segmenter_parameters(name: str, param: str) -> TrackerParams:
    """``parameters()`` of ``parameter/<name>/<param>.py``; unknown names list the known ones."""
    return get_parameters(name, param, registry=SEGMENTERS)


def segmenter_parameter_names(name: str) -> list[str]:
    """The parameter sets of segmenter ``name`` (its implementation is not imported)."""
    if name not in SEGMENTERS:
        SEGMENTERS.get(name)  # raises, listing the known segmenters
    return parameter_names(name)


def build_segmenter(name: str, params: TrackerParams | str) -> VideoSegmenter:
    """The segmenter ``name`` with ``params`` (an object, or a parameter-module name)."""
    if isinstance(params, str):
        params = segmenter_parameters(name, params)
    return SEGMENTERS.get(name)(params)
