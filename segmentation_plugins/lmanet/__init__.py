"""LMANet segmentation plugin (thesis ch. 4): local memory attention over a single-frame network."""
from .models.lmanet import LMANet, build_lmanet

__all__ = ["LMANet", "build_lmanet"]
