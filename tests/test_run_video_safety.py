"""run_video is safe by default: init masks that are not masks are refused in one line, masks saved
as RGB keep every object, and the output folder ends up holding only this run's outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytracking_ext.errors import PytrackingError
from pytracking_ext.run_video import initial_objects, main
from pytracking_ext.utils.io import DAVIS_PALETTE, imwrite_indexed
from seqgen import moving_square_sequence

REPO_ROOT = Path(__file__).resolve().parents[1]


def _two_squares(shape=(64, 80)) -> np.ndarray:
    label = np.zeros(shape, np.uint8)
    label[10:24, 5:19] = 1
    label[30:44, 35:49] = 2
    return label


def _save_rgb(path: Path, rgb: np.ndarray) -> str:
    Image.fromarray(rgb.astype(np.uint8), mode="RGB").save(path)
    return str(path)


def _photo(shape=(64, 80), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = np.stack([xx * 3, yy * 3, (xx + yy) * 2], -1) + rng.integers(0, 40, (*shape, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def _error_of(mask_path: str) -> str:
    with pytest.raises(PytrackingError) as info:
        initial_objects([], mask_path)
    return str(info.value)


def test_rgb_photograph_as_init_mask_is_refused(tmp_path):
    message = _error_of(_save_rgb(tmp_path / "photo.png", _photo()))
    assert "photo.png" in message and "distinct colours" in message and "32" in message


def test_photograph_init_mask_ends_run_video_quickly_with_one_line(workspace, tmp_path):
    moving_square_sequence(tmp_path, frames=2)
    photo = _save_rgb(tmp_path / "photo.png", _photo())
    command = [
        sys.executable,
        "-m",
        "pytracking_ext.run_video",
        "opencv_mil",
        "default",
        "--input",
        str(tmp_path / "seq"),
        "--init-mask",
        photo,
        "--out",
        str(tmp_path / "out"),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(err) == 1 and err[0].startswith("error: ") and "photo.png" in err[0]
    assert not (tmp_path / "out" / "boxes.txt").exists()


def test_grayscale_label_image_with_too_many_ids_is_refused(tmp_path):
    label = (np.arange(64 * 80).reshape(64, 80) % 100).astype(np.uint8)
    Image.fromarray(label, mode="L").save(tmp_path / "many.png")
    message = _error_of(str(tmp_path / "many.png"))
    assert "many.png" in message and "99" in message and "32" in message


def test_palette_png_with_too_many_ids_is_refused(tmp_path):
    label = (np.arange(64 * 80).reshape(64, 80) % 50).astype(np.uint8)
    imwrite_indexed(tmp_path / "palette.png", label)
    assert "49" in _error_of(str(tmp_path / "palette.png"))


def test_16_bit_label_image_with_ids_above_255_is_refused(tmp_path):
    label = np.zeros((64, 80), np.uint16)
    label[10:20, 10:20] = 300
    label[30:40, 30:40] = 600
    Image.fromarray(label).save(tmp_path / "deep.png")
    message = _error_of(str(tmp_path / "deep.png"))
    assert "deep.png" in message and "16-bit" in message and "600" in message


def test_rgb_saved_davis_mask_keeps_every_object_with_its_palette_id(tmp_path):
    rgb = DAVIS_PALETTE[_two_squares()]
    info, ids = initial_objects([], _save_rgb(tmp_path / "davis_rgb.png", rgb))
    assert ids == ["1", "2"]
    np.testing.assert_array_equal(info["init_mask"], _two_squares())


def test_rgb_mask_with_free_colours_gives_one_object_per_colour(tmp_path):
    label = _two_squares()
    label[50:60, 60:70] = 3
    colours = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255], [0, 255, 0]], np.uint8)
    info, ids = initial_objects([], _save_rgb(tmp_path / "free.png", colours[label]))
    assert len(ids) == 3
    assert len(np.unique(info["init_mask"])) == 4  # background and three objects, none merged


def _stale_output(out: Path) -> None:
    """What a longer, killed run left behind, plus a file of the user's."""
    (out / "masks").mkdir(parents=True)
    for i in range(10):
        imwrite_indexed(out / "masks" / f"{i:05d}.png", np.zeros((64, 80), np.uint8))
    (out / "boxes_3.txt").write_text("1\t2\t3\t4\n")
    (out / "notes.txt").write_text("mine\n")


def test_rerun_into_a_killed_runs_folder_keeps_only_this_runs_outputs(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=4, objects=2, with_masks=True)
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in seq.frames:
        (frames / Path(f).name).write_bytes(Path(f).read_bytes())
    out = tmp_path / "out"
    _stale_output(out)
    assert (
        main(
            [
                "opencv_mil",
                "mask",
                "--input",
                str(frames),
                "--init-mask",
                seq.ground_truth_seg[0],
                "--out",
                str(out),
                "--no-video",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (out / "masks").iterdir()) == [f"{i:05d}.png" for i in range(4)]
    assert not (out / "boxes_3.txt").exists() and (out / "boxes_2.txt").is_file()
    assert (out / "notes.txt").read_text() == "mine\n"


def test_no_video_run_removes_the_overlay_of_an_earlier_run(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    out = tmp_path / "out"
    box = ",".join(str(v) for v in seq.ground_truth_rect[0])
    args = ["opencv_mil", "default", "--input", str(tmp_path / "seq"), "--init-box", box, "--out", str(out)]
    assert main(args) == 0 and (out / "overlay.mp4").is_file()
    assert main(args + ["--no-video"]) == 0
    assert not (out / "overlay.mp4").exists() and (out / "boxes.txt").is_file()


def test_out_path_that_is_a_file_is_a_one_line_error(workspace, tmp_path, capsys):
    seq = moving_square_sequence(tmp_path, frames=2)
    (tmp_path / "out").write_text("not a folder\n")
    box = ",".join(str(v) for v in seq.ground_truth_rect[0])
    code = main(
        ["opencv_mil", "default", "--input", str(tmp_path / "seq"), "--init-box", box, "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "out" in err[0] and "it is a file" in err[0]
    assert (tmp_path / "out").read_text() == "not a folder\n"
