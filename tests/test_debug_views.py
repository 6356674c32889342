"""--debug views: PNG files headless, visdom windows when a server runs, pause/step control."""

import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from pytracking_ext.evaluation.running import run_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.run_video import main as run_video_main
from pytracking_ext.visualization.debug import PngDebugViews, VisdomDebugViews, open_debug_views
from seqgen import moving_square_sequence


def test_debug_run_writes_tracking_views_as_png(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3, objects=2, with_masks=True)
    assert run_sequence(seq, TrackerSpec("opencv_mil", "mask"), debug=1)[0] == "done"
    folder = workspace / "tracking_results" / "opencv_mil" / "mask" / "debug" / "seq"
    assert sorted(p.name for p in folder.glob("*.png")) == [f"{i:05d}_tracking.png" for i in range(3)]


def test_views_above_the_debug_level_are_dropped(tmp_path):
    views = PngDebugViews(1, tmp_path)
    views.start_sequence("s")
    views.register(np.random.rand(7, 11), "heatmap", "Classifier scores", level=2)
    views.register({"flag": "normal", "score": np.float32(0.4)}, "info", "Status", level=1)
    assert not list(tmp_path.glob("s/*.png"))
    assert json.loads((tmp_path / "s" / "info.jsonl").read_text())["flag"] == "normal"


def test_heatmaps_are_colourised(tmp_path):
    views = PngDebugViews(2, tmp_path)
    views.start_sequence("s")
    views.register(np.arange(12.0).reshape(3, 4), "heatmap", "Scores", level=2)
    from pytracking_ext.utils.io import imread_rgb

    image = imread_rgb(tmp_path / "s" / "00000_scores.png")
    assert image.shape == (3, 4, 3) and not np.array_equal(image[0, 0], image[-1, -1])


def test_unknown_view_kind_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="known kinds"):
        PngDebugViews(1, tmp_path).register(1, "plot3d", "x")


def test_run_video_debug_writes_views(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    box = ",".join(str(v) for v in seq.ground_truth_rect[0])
    out = tmp_path / "out"
    assert (
        run_video_main(
            [
                "opencv_mil",
                "default",
                "--input",
                str(tmp_path / "seq"),
                "--init-box",
                box,
                "--out",
                str(out),
                "--no-video",
                "--debug",
                "1",
            ]
        )
        == 0
    )
    assert len(list((out / "debug" / "video").glob("*_tracking.png"))) == 3


def test_unreachable_visdom_falls_back_to_png(tmp_path, capsys):
    views = open_debug_views(1, tmp_path, use_visdom=True, port=_free_port())
    assert isinstance(views, PngDebugViews) and "visdom unavailable" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def visdom_server(tmp_path):
    pytest.importorskip("visdom", reason="visdom not installed (pip install '.[visdom]')")
    port = _free_port()
    # Start the server without its first-run download of web assets: the API works offline.
    code = (
        f"import sys; sys.argv = ['visdom', '-port', str({port}), '--hostname', '127.0.0.1', "
        f"'-env_path', {str(tmp_path / 'env')!r}];"
        "from visdom.server.run_server import main; main()"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.skip("visdom server did not start offline")
    yield port
    process.kill()
    process.wait(timeout=10)


def test_visdom_windows_are_created_and_updated(workspace, tmp_path, visdom_server):
    seq = moving_square_sequence(tmp_path, frames=3)
    info = {"use_visdom": True, "server": "127.0.0.1", "port": visdom_server}
    assert run_sequence(seq, TrackerSpec("opencv_mil", "default"), debug=1, visdom_info=info)[0] == "done"
    import visdom

    vis = visdom.Visdom(
        server="http://127.0.0.1",
        port=visdom_server,
        env="pytracking_ext",
        raise_exceptions=True,
        use_incoming_socket=False,
    )
    assert vis.win_exists("Tracking") and vis.win_exists("Controls")
    assert "#2" in json.loads(vis.get_window_data("Tracking"))["title"]  # the last frame's update


def test_visdom_pause_and_step_keys(visdom_server):
    views = VisdomDebugViews(1, "127.0.0.1", visdom_server)
    views.handle_event({"event_type": "KeyPress", "key": " "})
    assert views.paused
    views.handle_event({"event_type": "KeyPress", "key": "ArrowRight"})
    views.wait()  # returns at once: one step was granted
    views.handle_event({"event_type": "KeyPress", "key": " "})
    assert not views.paused
    views.close()
    assert not views.vis.use_socket


def test_rts_debug_run_logs_each_frames_decisions(workspace, tmp_path):
    # issue 22: the instance branch's and the memories' decisions of every frame, readable afterwards
    import torch

    torch.set_num_threads(1)
    seq = moving_square_sequence(tmp_path, frames=4, with_masks=True)
    assert run_sequence(seq, TrackerSpec("rts", "rts_small"), debug=1)[0] == "done"
    log = workspace / "tracking_results" / "rts" / "rts_small" / "debug" / "seq" / "info.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    # every tracked frame; RTS numbers frames from 1 (the init frame, which has no decisions)
    assert [row["frame"] for row in rows] == [2, 3, 4]
    decisions = ("update_case", "clf_flag", "clf_max_score", "is_lost_seg", "seg_update_iters", "clf_updated")
    assert all(all(key in row for key in decisions) for row in rows)
