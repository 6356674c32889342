"""LMANet segmentation plugin (thesis ch. 4): local memory attention over a single-frame network."""

from .models.backbones import BACKBONES, UnknownBackboneError
from .models.lmanet import LMANet, SingleFrameNet, build_lmanet, build_single_frame

__all__ = ["BACKBONES", "LMANet", "SingleFrameNet", "UnknownBackboneError", "build_lmanet", "build_single_frame"]
