"""The Gradio page: open a video, mark objects on the first frame, track, watch and download.

Gradio (docs/app.md says why) draws the page; every action is a method of
:class:`~pytracking_ext.app.session.Selection`, so the logic is tested without a browser
(tests/test_app_page.py) and in one (tests/test_app_browser.py). Errors the user can fix (a bad
file, a file over the size limit, no object marked) become a message in the page, never a traceback.
Further tabs (the segmenters' tab) come from the entry-point group ``pytracking_ext.app_tabs``: a
core module never imports the segmentation plugins (docs/architecture.md).
"""

import sys
import traceback
from pathlib import Path
from typing import Any

from ..errors import PytrackingError
from ..registry import Registry
from ..trackers.registry import TRACKERS, parameter_names
from .media import DEFAULT_MAX_UPLOAD_MB
from .session import Selection

DEFAULT_TRACKER = ("rts", "rts_small")

#: Extra tabs: name -> ``build_tab(config: PageConfig) -> None``, called inside ``gr.Tab(name)``.
APP_TABS = Registry("app tab", "pytracking_ext.app_tabs")


class PageConfig:
    """What the page's actions need to know: the upload limit and where job folders go."""

    def __init__(self, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, work_root: Path | None = None) -> None:
        self.max_upload_mb = max_upload_mb
        self.work_root = work_root


def tracker_choices() -> tuple[list[str], str]:
    """Registered tracker names and the default (``rts`` when registered)."""
    names = TRACKERS.names()
    return names, DEFAULT_TRACKER[0] if DEFAULT_TRACKER[0] in names else names[0]


def param_choices(tracker: str) -> tuple[list[str], str | None]:
    """Parameter sets of ``tracker`` and the default (``rts_small`` for RTS, else ``default`` or the first)."""
    names = parameter_names(tracker)
    for preferred in (DEFAULT_TRACKER[1], "default"):
        if preferred in names:
            return names, preferred
    return names, names[0] if names else None


def message(text: str, error: bool = False) -> str:
    """The status line's Markdown (errors stand out; the browser test reads this text)."""
    return f"**Error:** {text}" if error else text


def do_open(selection: Selection, upload: Any, server_path: str, config: PageConfig) -> tuple[Selection, Any, str]:
    """Open the uploaded file, or else the path on the server."""
    path = _upload_path(upload) or (server_path or "").strip()
    if not path:
        return selection, None, message("choose a video file to upload, or type a path on the server", True)
    try:
        text = selection.open(path, config.max_upload_mb)
    except PytrackingError as err:
        selection.video = None
        return selection, None, message(str(err), True)
    return selection, selection.annotated_first_frame(), message(text)


def _upload_path(upload: Any) -> str | None:
    if upload is None:
        return None
    return str(getattr(upload, "name", upload))


def do_track(selection: Selection, tracker: str, param: str, config: PageConfig, progress: Any = None):
    """Track; returns (preview video, zip, status). Every failure is a message in the page."""

    def report(done: int, total: int | None) -> None:
        if progress is not None:
            progress((done, total) if total else done, desc="tracking", unit="frames")

    try:
        job = selection.track(tracker, param, config.work_root, on_progress=report)
    except PytrackingError as err:
        return None, None, message(str(err), True)
    except Exception as err:  # noqa: BLE001 - a tracker's own failure is shown in the page; the log keeps the traceback
        traceback.print_exc(file=sys.stderr)
        return None, None, message(f"{type(err).__name__}: {err}", True)
    preview = str(job.preview) if job.preview is not None else None
    boxes = ", ".join(f"{v:.1f}" for v in _first_box(job.boxes[-1]))
    done = f"Tracked {job.frames} frames with {tracker} {param}; last box {boxes}. Download: results.zip."
    return preview, str(job.zip_path), message(done)


def _first_box(boxes: Any) -> list[float]:
    return list(next(iter(boxes.values()))) if isinstance(boxes, dict) else list(boxes)


def build_page(config: PageConfig | None = None):
    """The page as a ``gradio.Blocks`` (not launched)."""
    import gradio as gr

    config = config or PageConfig()
    trackers, default_tracker = tracker_choices()
    params, default_param = param_choices(default_tracker)
    with gr.Blocks(title="pytracking_ext") as page:
        gr.Markdown("## Track objects in your video")
        with gr.Tab("Track"):
            selection = gr.State(lambda: Selection())  # a factory: one Selection per browser session
            with gr.Row():
                upload = gr.File(label=f"Video (at most {config.max_upload_mb:g} MB)", elem_id="upload")
                with gr.Column():
                    server_path = gr.Textbox(label="…or a path on the server (video or image folder)")
                    open_button = gr.Button("Open", elem_id="open")
            status = gr.Markdown("Open a video to start.", elem_id="status")
            with gr.Row():
                mode = gr.Radio(
                    ["box", "points"],
                    value="box",
                    label="Click mode: box = two opposite corners; points = clicks on the object",
                    elem_id="mode",
                )
                add_button = gr.Button("New object")
                clear_button = gr.Button("Clear objects")
            first_frame = gr.Image(label="First frame: mark the objects", interactive=False, elem_id="first-frame")
            with gr.Row():
                tracker = gr.Dropdown(trackers, value=default_tracker, label="Tracker", elem_id="tracker")
                param = gr.Dropdown(params, value=default_param, label="Parameter set", elem_id="param")
                track_button = gr.Button("Track", variant="primary", elem_id="track")
            overlay = gr.Video(label="Overlay", elem_id="overlay")
            download = gr.File(label="Boxes, masks and overlay (zip)", elem_id="download")

            def on_tracker(name: str):
                names, default = param_choices(name)
                return gr.Dropdown(choices=names, value=default)

            def on_click(sel: Selection, how: str, evt: gr.SelectData):
                x, y = evt.index[0], evt.index[1]
                text = sel.click(x, y, how)
                return sel, sel.annotated_first_frame(), message(text)

            def on_add(sel: Selection):
                return sel, sel.annotated_first_frame(), message(sel.add_object())

            def on_clear(sel: Selection):
                return sel, sel.annotated_first_frame(), message(sel.clear())

            def on_track(sel: Selection, name: str, param_name: str, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
                return do_track(sel, name, param_name, config, progress)

            open_args = dict(inputs=[selection, upload, server_path], outputs=[selection, first_frame, status])
            upload.upload(lambda s, u, p: do_open(s, u, p, config), **open_args)
            open_button.click(lambda s, u, p: do_open(s, u, p, config), **open_args)
            tracker.change(on_tracker, inputs=tracker, outputs=param)
            first_frame.select(on_click, inputs=[selection, mode], outputs=[selection, first_frame, status])
            add_button.click(on_add, inputs=selection, outputs=[selection, first_frame, status])
            clear_button.click(on_clear, inputs=selection, outputs=[selection, first_frame, status])
            track_button.click(on_track, inputs=[selection, tracker, param], outputs=[overlay, download, status])
        for name in APP_TABS.names():
            with gr.Tab(name):
                APP_TABS.get(name)(config)
    return page
