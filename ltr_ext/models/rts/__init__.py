"""RTS network (thesis ch. 5): ``build_rts50()`` and its modules."""
from .rts_net import RTSNet, build_rts50

__all__ = ["RTSNet", "build_rts50"]
