"""``benchmarks/thin_structure_ceiling.py``: the J&F ceiling of a segmenter blind to thin parts."""

from pathlib import Path

import numpy as np
import pytest

from pytracking_ext.utils.io import imwrite_indexed
from script_loading import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "thin_structure_ceiling.py"


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT, "thin_structure_ceiling")


def _blob_with_line(line_width: int) -> np.ndarray:
    mask = np.zeros((120, 200), np.uint8)
    mask[40:80, 20:60] = 1
    mask[58 : 58 + line_width, 60:190] = 1  # a kite line leaving the blob
    return mask


def test_opening_removes_parts_narrower_than_the_width_and_keeps_the_rest(script):
    mask = _blob_with_line(2)
    out = script.opened(mask, 3)
    assert out[40:80, 20:60].all() and not out[:, 62:].any()
    assert script.opened(_blob_with_line(4), 3)[58:62, 100].all()


def test_a_large_target_is_cropped_at_the_image_scale_and_a_small_one_at_six_times_its_area(script):
    big = np.zeros((480, 854), np.uint8)
    big[100:400, 200:700] = 1
    assert script.image_pixels_per_crop_pixel(big, (288, 160)) == pytest.approx(3.0, abs=0.02)
    small = np.zeros((480, 854), np.uint8)
    small[200:216, 400:416] = 1  # 16 x 16: a 6x crop of 96 x 96 pixels' area, no shrink
    # the crop keeps the output's aspect: 160 x 288 times 96 / sqrt(160 * 288), cut to whole pixels (71 x 128)
    assert script.image_pixels_per_crop_pixel(small, (288, 160)) == pytest.approx(np.sqrt(71 * 128 / (288 * 160)))


def test_the_table_has_a_perfect_ceiling_without_thin_parts_and_a_lower_one_with_them(script, tmp_path, capsys):
    for name, mask in (("plain", _blob_with_line(0)), ("kite", _blob_with_line(2))):
        folder = tmp_path / "Annotations" / "480p" / name
        folder.mkdir(parents=True)
        for t in range(4):
            imwrite_indexed(folder / f"{t:05d}.png", mask)
    assert script.main(["--davis", str(tmp_path), "--widths", "3"]) == 0
    rows = {line.split("|")[1].strip(): line for line in capsys.readouterr().out.splitlines()[2:]}
    assert "100.0 (J 100.0, F 100.0)" in rows["plain"]
    assert "100.0" not in rows["kite"].split("|")[3]


def test_a_missing_folder_is_one_line(script, tmp_path, capsys):
    assert script.main(["--davis", str(tmp_path / "nope")]) == 2
    assert "does not exist (--davis)" in capsys.readouterr().err
