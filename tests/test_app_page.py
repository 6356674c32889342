"""The web page's logic without a browser: opening videos, marking objects, jobs, zip, host warning."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from pytracking_ext.app.__main__ import host_warning, parse_args
from pytracking_ext.app.session import MIN_POINT_BOX, Selection
from seqgen import write_square_video


def _video(path, frames=6, size=(96, 128)):
    return write_square_video(path, frames, size, side=20, start=(20, 30), step=3, seed=1)


def _opened(tmp_path) -> Selection:
    selection = Selection()
    selection.open(_video(tmp_path / "clip.mp4"), max_mb=10)
    return selection


def test_two_clicks_make_a_box_and_a_job_writes_boxes_overlay_and_zip(tmp_path, workspace):
    selection = _opened(tmp_path)
    selection.click(40, 50, "box")
    selection.click(20, 30, "box")  # any two opposite corners
    assert selection.init_boxes() == [[20.0, 30.0, 20.0, 20.0]]
    job = selection.track("opencv_mil", "default", tmp_path)
    assert job.frames == 6
    names = set(zipfile.ZipFile(job.zip_path).namelist())
    assert names == {"boxes.txt", "time.txt", "overlay.mp4"}
    boxes = np.loadtxt(job.folder / "boxes.txt", delimiter="\t")
    assert boxes.shape == (6, 4) and list(boxes[0]) == [20.0, 30.0, 20.0, 20.0]
    assert job.preview is not None and job.preview.stat().st_size > 0


def test_several_objects_get_one_boxes_file_each(tmp_path, workspace):
    selection = _opened(tmp_path)
    for x, y in [(20, 30), (40, 50)]:
        selection.click(x, y, "box")
    assert "Object 2" in selection.add_object()
    selection.click(80, 60, "points")
    job = selection.track("opencv_mil", "default", tmp_path)
    names = set(zipfile.ZipFile(job.zip_path).namelist())
    assert {"boxes_1.txt", "boxes_2.txt"} <= names


def test_points_become_a_padded_box_inside_the_image(tmp_path):
    selection = _opened(tmp_path)
    selection.click(2, 3, "points")
    (box,) = selection.init_boxes()
    assert box == [0.0, 0.0, float(MIN_POINT_BOX), float(MIN_POINT_BOX)]


def test_upload_over_the_size_limit_is_a_message_not_a_traceback(tmp_path):
    pytest.importorskip("gradio")
    from pytracking_ext.app.page import PageConfig, do_open

    video = _video(tmp_path / "big.mp4")
    _, image, text = do_open(Selection(), str(video), "", PageConfig(max_upload_mb=video.stat().st_size / 2e6))
    assert image is None and text.startswith("**Error:**") and "over the" in text and "MB limit" in text


def test_bad_file_is_a_message_in_the_page(tmp_path):
    pytest.importorskip("gradio")
    from pytracking_ext.app.page import PageConfig, do_open

    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    _, image, text = do_open(Selection(), str(bad), "", PageConfig())
    assert image is None and text.startswith("**Error:**") and "notes.mp4" in text and "Traceback" not in text
    _, _, missing = do_open(Selection(), None, str(tmp_path / "nothing.mp4"), PageConfig())
    assert "no such file" in missing


def test_tracking_without_an_object_is_a_message(tmp_path):
    pytest.importorskip("gradio")
    from pytracking_ext.app.page import PageConfig, do_track

    video, archive, text = do_track(_opened(tmp_path), "opencv_mil", "default", PageConfig(work_root=tmp_path))
    assert video is None and archive is None and "mark the object first" in text


def test_page_defaults_to_rts_small():
    pytest.importorskip("gradio")
    from pytracking_ext.app.page import param_choices, tracker_choices

    assert tracker_choices()[1] == "rts" and param_choices("rts")[1] == "rts_small"


def test_binds_127_0_0_1_by_default_and_warns_for_other_hosts():
    assert parse_args([]).host == "127.0.0.1"
    assert host_warning("127.0.0.1") is None
    warning = host_warning("0.0.0.0")
    assert warning.startswith("warning: serving on 0.0.0.0") and "\n" not in warning


def test_segmentation_tab_comes_from_the_app_tabs_entry_point():
    pytest.importorskip("gradio")
    from pytracking_ext.app.page import APP_TABS

    assert "segmentation" in APP_TABS.names()


def test_segmentation_tab_refuses_a_bad_file_before_building_a_network(tmp_path, workspace):
    from pytracking_ext.app.media import VideoInputError
    from segmentation_plugins.app_tab import segment_to_folder

    bad = tmp_path / "street.mp4"
    bad.write_text("not a video")
    with pytest.raises(VideoInputError, match="street.mp4"):
        segment_to_folder("lmanet", "lite0_camvid", str(bad), tmp_path, max_mb=10)


def test_track_reports_progress_per_frame_and_returns_preview_and_zip(tmp_path, workspace):
    pytest.importorskip("gradio")
    from pytracking_ext.app.page import PageConfig, do_track

    selection = _opened(tmp_path)
    selection.click(20, 30, "box")
    selection.click(40, 50, "box")
    calls = []
    video, archive, text = do_track(
        selection, "opencv_mil", "default", PageConfig(work_root=tmp_path), lambda *a, **k: calls.append(a[0])
    )
    assert calls == [(i, 6) for i in range(1, 7)]
    assert video.endswith("overlay.webm") and archive.endswith("results.zip") and text.startswith("Tracked 6 frames")
