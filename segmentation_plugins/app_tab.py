"""The web page's segmentation tab: run LMANet or EVS (any registered segmenter) on a video.

Registered in the entry-point group ``pytracking_ext.app_tabs``, so the page (a core module) shows
it without importing this plugin package by name (docs/architecture.md, docs/app.md).
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pytracking_ext.errors import PytrackingError

from .registry import SEGMENTERS, build_segmenter, segmenter_parameter_names, segmenter_parameters


def segment_to_folder(method: str, param: str, video: str, work_root: Path | None, max_mb: float) -> dict:
    """Segment ``video`` into a fresh job folder: labels, overlay.mp4, a WebM preview and results.zip."""
    from pytracking_ext.app.media import open_video
    from pytracking_ext.app.tracking import write_zip

    from .data.labels import get_label_set
    from .own_video import segment_own_video

    info = open_video(video, max_mb)  # size limit and a readable first frame, with the page's messages
    folder = Path(tempfile.mkdtemp(prefix="segment-", dir=work_root))
    params = segmenter_parameters(method, param)
    label_set = get_label_set(params.get("label_set", "cityscapes"))
    with build_segmenter(method, params) as segmenter:
        summary = segment_own_video(segmenter, label_set, info.path, folder, progress=False)
    if not summary["frames"]:
        raise PytrackingError(f"{info.path.name}: no frame was segmented")
    preview = _webm_copy(folder / "overlay.mp4", folder / "overlay.webm")
    files = [folder / "overlay.mp4", *sorted((folder / "labels").glob("*.png"))]
    summary["zip"] = str(write_zip(folder / "results.zip", folder, files))
    summary["preview"] = str(preview) if preview is not None else None
    return summary


def _webm_copy(source: Path, target: Path) -> Path | None:
    """A VP8 copy that browsers play (OpenCV's MP4 is mp4v, which they do not)."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 15.0
    writer = None
    ok, frame = capture.read()
    while ok:
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"VP80"), fps, frame.shape[1::-1])
        writer.write(np.ascontiguousarray(frame))
        ok, frame = capture.read()
    capture.release()
    if writer is None:
        return None
    writer.release()
    return target if target.is_file() else None


def build_tab(config: Any) -> None:
    """The tab's components (called by the page inside ``gr.Tab``)."""
    import gradio as gr

    methods = SEGMENTERS.names()
    default = methods[0] if methods else None
    params = segmenter_parameter_names(default) if default else []
    with gr.Row():
        upload = gr.File(label=f"Video (at most {config.max_upload_mb:g} MB)")
        server_path = gr.Textbox(label="…or a path on the server")
    with gr.Row():
        method = gr.Dropdown(methods, value=default, label="Segmenter")
        param = gr.Dropdown(params, value=params[0] if params else None, label="Parameter set")
        run = gr.Button("Segment", variant="primary")
    status = gr.Markdown("LMANet and EVS label every pixel with a class (docs/segmentation.md).")
    video = gr.Video(label="Overlay")
    download = gr.File(label="Labels and overlay (zip)")

    def on_method(name: str):
        names = segmenter_parameter_names(name)
        return gr.Dropdown(choices=names, value=names[0] if names else None)

    def on_run(upload_file, path: str, name: str, param_name: str):
        source = str(getattr(upload_file, "name", upload_file)) if upload_file else (path or "").strip()
        if not source:
            return None, None, "**Error:** choose a video file to upload, or type a path on the server"
        try:
            summary = segment_to_folder(name, param_name, source, config.work_root, config.max_upload_mb)
        except PytrackingError as err:
            return None, None, f"**Error:** {err}"
        except Exception as err:  # noqa: BLE001 - shown in the page; the log keeps the traceback
            traceback.print_exc(file=sys.stderr)
            return None, None, f"**Error:** {type(err).__name__}: {err}"
        return summary["preview"], summary["zip"], f"Segmented {summary['frames']} frames with {name} {param_name}."

    method.change(on_method, inputs=method, outputs=param)
    run.click(on_run, inputs=[upload, server_path, method, param], outputs=[video, download, status])
