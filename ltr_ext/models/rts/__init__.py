"""RTS network (thesis ch. 5): ``build_rts50()``, the CPU-sized ``build_rts_small()`` and their modules."""

from .rts_net import RTSNet, build_rts50, build_rts_small

__all__ = ["RTSNet", "build_rts50", "build_rts_small"]
