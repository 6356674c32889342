"""JPEG decoding: jpeg4py (libjpeg-turbo) when it works, OpenCV otherwise, same pixels either way."""

import sys
import types

import cv2
import numpy as np
import pytest

from pytracking_ext.errors import ImageReadError
from pytracking_ext.utils import jpeg
from pytracking_ext.utils.io import imread_rgb


@pytest.fixture(autouse=True)
def fresh_backend(monkeypatch):
    monkeypatch.delenv(jpeg.BACKEND_VARIABLE, raising=False)
    jpeg.reset_backend()
    yield
    jpeg.reset_backend()


def _jpeg(path, image):
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def _opencv_rgb(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return np.repeat(image[:, :, None], 3, 2) if image.ndim == 2 else image[:, :, ::-1]


def _texture(h, w, channels=3):
    rng = np.random.default_rng(0)
    shape = (h, w, 3) if channels == 3 else (h, w)
    return cv2.GaussianBlur(rng.integers(0, 255, shape, dtype=np.uint8), (5, 5), 0)


requires_jpeg4py = pytest.mark.skipif(
    jpeg._jpeg4py_decoder() is None,
    reason="jpeg4py or libturbojpeg not installed (scripts/setup.sh test installs them)",
)


@requires_jpeg4py
def test_jpeg4py_is_chosen_when_it_works():
    assert jpeg.jpeg_backend()[0] == "jpeg4py"


@requires_jpeg4py
@pytest.mark.parametrize("shape", [(48, 64, 3), (37, 53, 3), (41, 29, 1)], ids=["color", "odd", "gray"])
def test_jpeg4py_pixels_match_opencv(tmp_path, shape):
    path = _jpeg(tmp_path / "x.jpg", _texture(shape[0], shape[1], shape[2]))
    fast = imread_rgb(path)
    reference = _opencv_rgb(path)
    assert fast.shape == reference.shape == (shape[0], shape[1], 3)
    # Both use libjpeg(-turbo) IDCTs; allow the usual off-by-a-few from different IDCT/upsampling.
    assert np.abs(fast.astype(int) - reference).max() <= 3


def test_exif_orientation_is_not_applied_by_either_backend(tmp_path):
    from PIL import Image

    image = Image.fromarray(_texture(20, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "rot.jpg", exif=exif.tobytes())
    fast = imread_rgb(tmp_path / "rot.jpg")
    jpeg.reset_backend()
    import os

    os.environ[jpeg.BACKEND_VARIABLE] = "opencv"
    try:
        slow = imread_rgb(tmp_path / "rot.jpg")
    finally:
        del os.environ[jpeg.BACKEND_VARIABLE]
    assert fast.shape == slow.shape == (20, 40, 3)


def test_environment_forces_opencv(monkeypatch):
    monkeypatch.setenv(jpeg.BACKEND_VARIABLE, "opencv")
    assert jpeg.jpeg_backend() == ("opencv", None)


def test_broken_jpeg4py_install_falls_back_to_opencv(tmp_path, monkeypatch):
    broken = types.ModuleType("jpeg4py")

    class JPEG:
        def __init__(self, source):
            raise OSError("libturbojpeg.so.0: cannot open shared object file")

    broken.JPEG = JPEG
    monkeypatch.setitem(sys.modules, "jpeg4py", broken)
    path = _jpeg(tmp_path / "x.jpg", _texture(16, 16))
    assert jpeg.jpeg_backend()[0] == "opencv"
    assert np.array_equal(imread_rgb(path), _opencv_rgb(path))


def test_corrupt_jpeg_is_reported_with_its_name_on_any_backend(tmp_path):
    path = tmp_path / "bad.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 broken")
    with pytest.raises(ImageReadError, match="bad.jpg"):
        imread_rgb(path)
