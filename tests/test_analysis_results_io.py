"""Reading result files: delimiters, number formats and one-line errors naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from pytracking_ext.analysis.results_io import read_boxes, read_mask
from pytracking_ext.errors import ResultsError
from pytracking_ext.utils.io import imwrite_indexed


@pytest.mark.parametrize("text", ["1\t2\t3\t4\n5\t6\t7\t8\n", "1,2,3,4\n5,6,7,8\n", "1.00\t2.00\t3\t4\n5,6,7,8\n"])
def test_boxes_are_read_with_tab_or_comma_as_ints_or_floats(tmp_path, text):
    path = tmp_path / "seq.txt"
    path.write_text(text)
    assert np.array_equal(read_boxes(path), [[1, 2, 3, 4], [5, 6, 7, 8]])


def test_missing_results_file_is_a_one_line_error_naming_it(tmp_path):
    with pytest.raises(ResultsError, match="seq.txt: results file not found") as err:
        read_boxes(tmp_path / "seq.txt")
    assert "\n" not in str(err.value)


def test_truncated_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1\t2\t3\t4\n5\t6\t7\n")
    with pytest.raises(ResultsError, match=r"seq.txt: line 2 has 3 values"):
        read_boxes(path)


def test_nan_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1\t2\t3\t4\nnan\t6\t7\t8\n")
    with pytest.raises(ResultsError, match=r"seq.txt: line 2 contains NaN"):
        read_boxes(path)


def test_negative_size_is_reported_with_its_number(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1\t2\t3\t4\n1\t2\t-3\t4\n")
    with pytest.raises(ResultsError, match=r"line 2 has a negative width or height"):
        read_boxes(path)


def test_empty_results_file_is_an_error(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("\n")
    with pytest.raises(ResultsError, match="empty"):
        read_boxes(path)


def test_masks_are_read_as_palette_indices(tmp_path):
    label = np.zeros((4, 5), np.uint8)
    label[1:3, 1:4] = 2
    imwrite_indexed(tmp_path / "00000.png", label)
    assert np.array_equal(read_mask(tmp_path / "00000.png"), label)


def test_missing_mask_is_a_results_error(tmp_path):
    with pytest.raises(ResultsError, match="00001.png"):
        read_mask(tmp_path / "00001.png")
