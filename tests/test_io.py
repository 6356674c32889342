"""File I/O helpers: atomic writes, tolerant text parsing, image reading, palette PNGs."""

import os

import numpy as np
import pytest

from pytracking_ext.errors import DatasetError, ImageReadError
from pytracking_ext.utils.boxes import box_to_mask, mask_to_bbox, polygon_to_box
from pytracking_ext.utils.io import (
    DAVIS_PALETTE,
    atomic_open,
    atomic_write_text,
    imread_indexed,
    imread_rgb,
    imwrite_indexed,
    load_text,
)


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(path) as f:
            f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("text", ["1,2,3,4\n5,6,7,8\n", "1\t2\t3\t4\n5\t6\t7\t8\n", "1 2  3 4\n5 6 7 8\n"])
def test_load_text_accepts_comma_tab_and_spaces(tmp_path, text):
    (tmp_path / "gt.txt").write_text(text)
    assert load_text(tmp_path / "gt.txt").tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_load_text_names_the_short_line(tmp_path):
    (tmp_path / "gt.txt").write_text("1,2,3,4\n5,6,7\n1,2,3,4\n")
    with pytest.raises(DatasetError, match=r"gt.txt: line 2 has 3 values, expected 4"):
        load_text(tmp_path / "gt.txt")


def test_load_text_rejects_text_in_numbers(tmp_path):
    (tmp_path / "gt.txt").write_text("1,2,3,4\n5,x,7,8\n")
    with pytest.raises(DatasetError, match="cannot parse"):
        load_text(tmp_path / "gt.txt")


def test_load_text_reports_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(DatasetError, match="empty"):
        load_text(tmp_path / "empty.txt")
    with pytest.raises(DatasetError, match="not found"):
        load_text(tmp_path / "missing.txt")


def test_load_text_nan_can_be_refused(tmp_path):
    (tmp_path / "gt.txt").write_text("1,2,3,4\nNaN,NaN,NaN,NaN\n")
    assert np.isnan(load_text(tmp_path / "gt.txt")[1]).all()
    with pytest.raises(DatasetError, match="line 2 contains NaN"):
        load_text(tmp_path / "gt.txt", allow_nan=False)


def test_grayscale_and_16bit_images_are_read_as_rgb_uint8(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "g.png"), np.full((4, 5), 7, np.uint8))
    cv2.imwrite(str(tmp_path / "d.png"), np.full((4, 5, 3), 65535, np.uint16))
    gray = imread_rgb(tmp_path / "g.png")
    deep = imread_rgb(tmp_path / "d.png")
    assert gray.shape == (4, 5, 3) and gray.dtype == np.uint8 and (gray == 7).all()
    assert deep.dtype == np.uint8 and (deep == 255).all()


def test_color_images_are_returned_in_rgb_order(tmp_path):
    import cv2

    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "r.png"), bgr)
    assert imread_rgb(tmp_path / "r.png")[0, 0].tolist() == [200, 0, 0]


def test_unreadable_image_names_the_file(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match="x.jpg: cannot decode"):
        imread_rgb(tmp_path / "x.jpg")


def test_indexed_png_round_trips_with_davis_palette(tmp_path):
    labels = np.array([[0, 1], [2, 255]], np.uint8)
    imwrite_indexed(tmp_path / "m.png", labels)
    from PIL import Image

    with Image.open(tmp_path / "m.png") as image:
        assert image.mode == "P"
        assert image.getpalette()[3:6] == [128, 0, 0]
    assert (imread_indexed(tmp_path / "m.png") == labels).all()
    assert DAVIS_PALETTE[22].tolist() == [22, 22, 22]


def test_mask_box_uses_inclusive_extent():
    mask = np.zeros((10, 10), np.uint8)
    mask[2:5, 3:9] = 1
    assert mask_to_bbox(mask) == [3.0, 2.0, 6.0, 3.0]
    assert mask_to_bbox(np.zeros((3, 3))) == [0.0, 0.0, 1.0, 1.0]
    assert (box_to_mask([3, 2, 6, 3], (10, 10)) == mask).all()


def test_polygon_box_is_the_union_of_corners():
    assert polygon_to_box([1, 2, 5, 1, 6, 7, 2, 8]) == [1.0, 1.0, 5.0, 7.0]
