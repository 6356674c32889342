"""Debug views of a running tracker: in visdom when a server is reachable, else as PNG files.

Trackers call ``self.debug_views.register(data, kind, title, level)`` (when the attribute is set)
with one of the kinds of :data:`VIEW_KINDS`: ``'image'`` (RGB ``uint8``), ``'heatmap'`` (2-D
float, e.g. classifier scores), ``'info'`` (a dict of numbers and strings) or ``'tracking'``
(``(image, boxes, mask)``, drawn as an overlay). Views above the run's debug level are dropped,
as in PyTracking (level 1: the frame and status; level 2: score maps).

The runner calls :meth:`DebugViews.end_frame` after every frame; in visdom, space in the
"Controls" window pauses/resumes and the right arrow steps one frame while paused. Without a
display or a visdom server everything lands in ``<results_dir>/debug/<sequence>/``.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.io import atomic_write_text, imwrite_rgb
from .overlay import draw_overlay


def _render_tracking(data: Any) -> np.ndarray:
    image, boxes, mask = data
    return draw_overlay(image, boxes, mask)


def _render_heatmap(data: Any) -> np.ndarray:
    from matplotlib import colormaps

    values = np.asarray(data, dtype=np.float32)
    values = np.squeeze(values)
    if values.ndim != 2:
        raise ValueError(f"heatmap view needs a 2-D array, got shape {values.shape}")
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    return (colormaps["viridis"](scaled)[:, :, :3] * 255).astype(np.uint8)


def _render_image(data: Any) -> np.ndarray:
    image = np.asarray(data)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image.astype(np.uint8)


#: kind -> function turning the registered data into an RGB image (None: not an image).
VIEW_KINDS: dict[str, Callable[[Any], np.ndarray] | None] = {
    "tracking": _render_tracking,
    "heatmap": _render_heatmap,
    "image": _render_image,
    "info": None,
}


class DebugViews(ABC):
    """Collects a tracker's debug views for the current frame."""

    def __init__(self, debug_level: int) -> None:
        self.debug_level = debug_level
        self.sequence = ""
        self.frame = 0

    def start_sequence(self, name: str) -> None:
        self.sequence, self.frame = name, 0

    def register(self, data: Any, kind: str, title: str, level: int = 1) -> None:
        """Show ``data`` as a view named ``title`` when ``level`` is within the debug level."""
        if kind not in VIEW_KINDS:
            raise ValueError(f"unknown debug view kind '{kind}'; known kinds: {', '.join(VIEW_KINDS)}")
        if level > self.debug_level:
            return
        render = VIEW_KINDS[kind]
        if render is None:
            self._show_info(title, dict(data))
        else:
            self._show_image(title, render(data))

    def end_frame(self, image: np.ndarray, out: dict[str, Any], show_mask: bool) -> None:
        """Show the frame with the tracker's output, wait if paused, move to the next frame."""
        mask = out.get("segmentation") if show_mask else None
        self.register((image, out.get("target_bbox"), mask), "tracking", "Tracking", level=1)
        self.wait()
        self.frame += 1

    def wait(self) -> None:
        """Block while the user has paused (visdom only)."""

    def close(self) -> None:
        """Flush anything buffered."""

    @abstractmethod
    def _show_image(self, title: str, image: np.ndarray) -> None: ...

    @abstractmethod
    def _show_info(self, title: str, info: dict[str, Any]) -> None: ...


def _slug(title: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in title).strip("_").lower() or "view"


class PngDebugViews(DebugViews):
    """Writes ``<folder>/<sequence>/<frame>_<title>.png`` and ``info.jsonl`` per sequence (headless)."""

    def __init__(self, debug_level: int, folder: str | Path) -> None:
        super().__init__(debug_level)
        self.folder = Path(folder)
        self._info: dict[str, list[dict[str, Any]]] = {}

    def _show_image(self, title: str, image: np.ndarray) -> None:
        imwrite_rgb(self.folder / self.sequence / f"{self.frame:05d}_{_slug(title)}.png", image)

    def _show_info(self, title: str, info: dict[str, Any]) -> None:
        rows = self._info.setdefault(self.sequence, [])
        rows.append({"frame": self.frame, "view": title, **{k: _jsonable(v) for k, v in info.items()}})
        atomic_write_text(self.folder / self.sequence / "info.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value if isinstance(value, (int, float, str, bool, type(None), list, dict)) else str(value)


class VisdomDebugViews(DebugViews):
    """Sends views to a visdom server; a "Controls" window handles pause (space) and step (right arrow)."""

    def __init__(
        self, debug_level: int, server: str = "127.0.0.1", port: int = 8097, env: str = "pytracking_ext"
    ) -> None:
        super().__init__(debug_level)
        import socket

        import visdom

        host = server.split("://", 1)[-1].split("/", 1)[0]
        # Probe first: a Visdom client starts a reconnecting socket thread even when nobody answers.
        with socket.socket() as probe:
            probe.settimeout(3)
            if probe.connect_ex((host, port)) != 0:
                raise ConnectionError(f"no visdom server at {host}:{port}")
        url = server if server.startswith("http") else f"http://{server}"
        self.vis = visdom.Visdom(server=url, port=port, env=env, raise_exceptions=True)
        if not self.vis.check_connection(timeout_seconds=3):
            raise ConnectionError(f"no visdom server at {url}:{port}")
        self.paused = False
        self._steps = 0
        self.vis.text(
            "space: pause/resume, right arrow: next frame while paused", win="Controls", opts={"title": "Controls"}
        )
        self.vis.register_event_handler(self.handle_event, "Controls")

    def handle_event(self, event: dict[str, Any]) -> None:
        """Visdom key events from the Controls window."""
        if event.get("event_type") != "KeyPress":
            return
        if event.get("key") == " ":
            self.paused = not self.paused
        elif event.get("key") == "ArrowRight" and self.paused:
            self._steps += 1

    def wait(self) -> None:
        while self.paused and self._steps == 0:
            time.sleep(0.05)
        if self._steps:
            self._steps -= 1

    def close(self) -> None:
        """Stop visdom's event-socket thread (it would otherwise keep reconnecting after the run)."""
        self.vis.use_socket = False
        socket = getattr(self.vis, "socket_thread", None)
        if socket is not None and socket.is_alive():
            socket.join(timeout=0.1)

    def _show_image(self, title: str, image: np.ndarray) -> None:
        self.vis.image(
            np.ascontiguousarray(image.transpose(2, 0, 1)),
            win=title,
            opts={"title": f"{title} ({self.sequence} #{self.frame})"},
        )

    def _show_info(self, title: str, info: dict[str, Any]) -> None:
        rows = "".join(f"<tr><td>{k}</td><td>{_jsonable(v)}</td></tr>" for k, v in info.items())
        self.vis.text(f"<table>{rows}</table>", win=title, opts={"title": title})


def open_debug_views(
    debug_level: int, folder: str | Path, use_visdom: bool = False, server: str = "127.0.0.1", port: int = 8097
) -> DebugViews | None:
    """Visdom views when asked for and reachable, else PNG files in ``folder``; None when debug is off."""
    if debug_level <= 0:
        return None
    if use_visdom:
        try:
            return VisdomDebugViews(debug_level, server, port)
        except Exception as err:  # noqa: BLE001 - optional visdom: ImportError or any connection failure
            # stay headless
            print(f"visdom unavailable ({type(err).__name__}: {err}); writing debug views to {folder}")
    return PngDebugViews(debug_level, folder)
