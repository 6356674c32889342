"""JPEG decoding backend: libjpeg-turbo through ``jpeg4py`` when it works, else OpenCV.

The backend is chosen once per process, on the first JPEG, by decoding a tiny embedded image:
a missing package, a missing ``libturbojpeg`` shared library or a broken install all fall back to
OpenCV instead of failing later. ``PYTRACKING_JPEG_BACKEND=opencv`` (or ``jpeg4py``) forces the
choice. Both backends return the pixels as stored: EXIF orientation tags are not applied (the
same as OpenCV's ``IMREAD_UNCHANGED``), so frame geometry never depends on the backend.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import numpy as np

LOG = logging.getLogger("pytracking_ext.jpeg")
BACKEND_VARIABLE = "PYTRACKING_JPEG_BACKEND"

Decoder = Callable[[np.ndarray], np.ndarray]
_choice: tuple[str, Decoder | None] | None = None


def _probe_jpeg() -> np.ndarray:
    import cv2

    ok, data = cv2.imencode(".jpg", np.full((8, 8, 3), 127, np.uint8))
    return data.reshape(-1)


def _jpeg4py_decoder() -> Decoder | None:
    """A decoder using jpeg4py, or None (with the reason logged) when it cannot decode."""
    try:
        import jpeg4py

        jpeg4py.JPEG(_probe_jpeg()).decode()
    except Exception as err:  # noqa: BLE001 - optional library: ImportError, OSError (no libturbojpeg), anything
        # a broken install raises
        LOG.info("jpeg4py unavailable (%s: %s); decoding JPEG with OpenCV", type(err).__name__, err)
        return None

    def decode(data: np.ndarray) -> np.ndarray:
        return jpeg4py.JPEG(data).decode()

    return decode


def jpeg_backend() -> tuple[str, Decoder | None]:
    """``('jpeg4py', decoder)`` or ``('opencv', None)``, decided once per process."""
    global _choice
    if _choice is None:
        forced = os.environ.get(BACKEND_VARIABLE, "").lower()
        decoder = None if forced == "opencv" else _jpeg4py_decoder()
        if forced == "jpeg4py" and decoder is None:
            LOG.warning("%s=jpeg4py but jpeg4py cannot decode here; using OpenCV", BACKEND_VARIABLE)
        _choice = ("jpeg4py", decoder) if decoder is not None else ("opencv", None)
        LOG.info("JPEG decoding backend: %s", _choice[0])
    return _choice


def reset_backend() -> None:
    """Forget the choice (tests and long-lived processes that change the environment)."""
    global _choice
    _choice = None


def decode_jpeg_rgb(data: np.ndarray) -> np.ndarray | None:
    """RGB ``uint8`` pixels of JPEG bytes with the fast backend, or None to let the caller use OpenCV."""
    name, decoder = jpeg_backend()
    if decoder is None:
        return None
    try:
        image = decoder(data)
    except (RuntimeError, ValueError, MemoryError):  # corrupt data (jpeg4py's JPEGRuntimeError is a RuntimeError):
        # OpenCV decides and reports it with the file name
        return None
    return image if image.ndim == 3 and image.shape[2] == 3 else None
