"""Video semantic segmentation plugins (LMANet, EVS) on top of the cores.

The public API (docs/api.md) is imported on first use, so ``import segmentation_plugins`` stays
light: ``from segmentation_plugins import VideoSegmenter, segment_video``.
"""

_API = ("VideoSegmenter", "segment_video")

__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'segmentation_plugins' has no attribute '{name}'")
