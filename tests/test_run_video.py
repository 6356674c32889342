"""run_video: own videos and image folders, headless, boxes/masks/overlay video."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking_ext.run_video import main
from pytracking_ext.utils.io import imread_indexed, imwrite_indexed
from pytracking_ext.visualization import VideoSink
from seqgen import moving_square_sequence


def _video_from(seq, path: Path) -> Path:
    from pytracking_ext.utils.io import imread_rgb

    with VideoSink(path, fps=10) as sink:
        for frame in seq.frames:
            sink.write(imread_rgb(frame))
    return path


def test_folder_input_writes_boxes_times_and_overlay(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=5)
    out = tmp_path / "out"
    box = ",".join(str(v) for v in seq.ground_truth_rect[0])
    assert main(["opencv_mil", "default", "--input", str(tmp_path / "seq"), "--init-box", box, "--out", str(out)]) == 0
    assert np.loadtxt(out / "boxes.txt").shape == (5, 4)
    assert np.loadtxt(out / "time.txt").shape == (5,)
    capture = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_video_file_input_is_tracked(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=6)
    video = _video_from(seq, tmp_path / "clip.mp4")
    out = tmp_path / "out"
    box = ",".join(str(v) for v in seq.ground_truth_rect[0])
    assert (
        main(["opencv_mil", "default", "--input", str(video), "--init-box", box, "--out", str(out), "--no-video"]) == 0
    )
    boxes = np.loadtxt(out / "boxes.txt")
    # MIL on an mp4-compressed clip: it must follow the 15 px motion, within a few pixels.
    assert boxes.shape == (6, 4) and abs(boxes[-1, 0] - seq.ground_truth_rect[-1][0]) <= 10
    assert not (out / "overlay.mp4").exists()


def test_several_boxes_track_several_objects(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=4, objects=2, with_masks=True)
    out = tmp_path / "out"
    args = ["opencv_mil", "default", "--input", str(tmp_path / "seq"), "--out", str(out)]
    for oid in ("1", "2"):
        args += ["--init-box", ",".join(str(v) for v in seq.ground_truth_rect[oid][0])]
    assert main(args) == 0
    assert np.loadtxt(out / "boxes_1.txt").shape == (4, 4) and np.loadtxt(out / "boxes_2.txt").shape == (4, 4)


def test_init_mask_gives_masks_for_mask_trackers(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=4, objects=2, with_masks=True)
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in seq.frames:
        (frames / Path(f).name).write_bytes(Path(f).read_bytes())
    out = tmp_path / "out"
    assert (
        main(["opencv_mil", "mask", "--input", str(frames), "--init-mask", seq.ground_truth_seg[0], "--out", str(out)])
        == 0
    )
    last = imread_indexed(out / "masks" / "00003.png")
    assert set(np.unique(last)) == {0, 1, 2}


def test_empty_init_mask_is_a_clear_error(workspace, tmp_path, capsys):
    moving_square_sequence(tmp_path, frames=2)  # writes the frames under tmp_path / "seq"
    imwrite_indexed(tmp_path / "empty.png", np.zeros((64, 80), np.uint8))
    code = main(
        [
            "opencv_mil",
            "default",
            "--input",
            str(tmp_path / "seq"),
            "--init-mask",
            str(tmp_path / "empty.png"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2 and "contains no object" in capsys.readouterr().err


def test_malformed_box_argument_is_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["opencv_mil", "default", "--input", str(tmp_path), "--init-box", "1,2,3", "--out", str(tmp_path)])
    assert "expected x,y,w,h" in capsys.readouterr().err


def test_missing_input_is_a_clear_error(workspace, tmp_path, capsys):
    code = main(
        [
            "opencv_mil",
            "default",
            "--input",
            str(tmp_path / "nope.mp4"),
            "--init-box",
            "1,1,5,5",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2 and "nope.mp4" in capsys.readouterr().err
