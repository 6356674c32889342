"""Headless visual output: overlays of boxes and masks, and video files."""

from .overlay import VideoSink, draw_overlay

__all__ = ["VideoSink", "draw_overlay"]
