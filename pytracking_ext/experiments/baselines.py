"""Experiments with the OpenCV baseline trackers."""

from __future__ import annotations

from ..datasets import get_dataset
from ..evaluation.tracker_spec import trackerlist


def mil_lasot():
    """OpenCV MIL (boxes) on LaSOT."""
    return trackerlist("opencv_mil", "default"), get_dataset("lasot")


def mil_davis():
    """OpenCV MIL with moved masks on DAVIS 2017 val."""
    return trackerlist("opencv_mil", "mask"), get_dataset("dv2017_val")
