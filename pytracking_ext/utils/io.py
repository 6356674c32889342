"""File I/O: atomic writes, tolerant annotation reading, RGB image reading, palette PNGs.

Every writer here goes through a temporary file in the destination folder followed by
``os.replace``, so an interrupted run never leaves a half-written results file behind; the
file ends with the permissions of a plain ``open(path, 'w')`` (0666 minus the umask).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import DatasetError, ImageReadError
from .jpeg import decode_jpeg_rgb

PathLike = str | os.PathLike


# Written files get 0666 & ~umask, as with a plain ``open(path, 'w')`` (``mkstemp`` would make them
# 0600, unreadable to the rest of a group sharing results). The temporary file is created with
# ``os.open(..., 0o666)`` so the kernel applies the umask itself: nothing reads or changes the
# process umask, which ``os.umask`` can only do by setting it, racing with other threads' writes.
_CREATE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_NEW_FILE_MODE = 0o666


def _create_temporary(folder: Path, name: str) -> tuple[int, Path]:
    """A new, uniquely named hidden file next to ``folder/name``: ``(descriptor, path)``.

    ``O_EXCL`` refuses an existing name (or a planted symlink), so a name is never shared.
    """
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, _CREATE_FLAGS, _NEW_FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary name for {name}")


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    The file ends with the mode a plain ``open(path, 'w')`` gives a new file (0666 minus the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path.parent, path.name)
    try:
        try:
            opened = os.fdopen(fd, mode, **kwargs)
        except BaseException:
            os.close(fd)  # fdopen did not take ownership of the descriptor
            raise
        with opened as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_savetxt(path: PathLike, array: np.ndarray, fmt: str = "%.2f", delimiter: str = "\t") -> None:
    """``numpy.savetxt`` through :func:`atomic_open` (no header, one row per line)."""
    with atomic_open(path, "w") as f:
        np.savetxt(f, np.asarray(array), fmt=fmt, delimiter=delimiter)


def load_text(
    path: PathLike,
    delimiters: Sequence[str | None] = (",", "\t", None),
    dtype=np.float64,
    min_columns: int | None = None,
    allow_nan: bool = True,
) -> np.ndarray:
    """Read a numeric text table, trying each delimiter in turn (``None`` = any whitespace).

    Returns a 2-D array (one row per non-empty line). Raises :class:`DatasetError` naming the file
    and the first offending line when no delimiter parses every line, when a row is short, or
    when NaN appears and ``allow_nan`` is False.
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder, expected an annotation file")
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    try:
        lines = [ln.strip() for ln in path.read_text().splitlines()]
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text file") from None
    except OSError as err:  # unreadable (permissions, I/O error) or removed since the check
        raise DatasetError(f"{path}: cannot read annotation file ({err.strerror or err})") from None
    lines = [ln for ln in lines if ln]
    if not lines:
        raise DatasetError(f"{path}: annotation file is empty")
    # The delimiter that parses the most lines names the real bad line in the error.
    furthest = (-1, "")
    for delim in delimiters:
        rows = []
        try:
            for line in lines:
                parts = [p.strip() for p in line.split(delim)] if delim else line.split()
                parts = [p for p in parts if p]
                rows.append([float(p) for p in parts])
        except ValueError:
            lineno = len(rows) + 1  # the line that failed: every line before it made a row
            if lineno > furthest[0]:
                furthest = (lineno, f"line {lineno}: {line[:60]!r}")
            continue
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            width = max(widths, key=lambda w: sum(len(r) == w for r in rows))
            bad = next(i for i, r in enumerate(rows, 1) if len(r) != width)
            raise DatasetError(f"{path}: line {bad} has {len(rows[bad - 1])} values, expected {width}")
        array = np.asarray(rows, dtype=dtype)
        if min_columns is not None and array.shape[1] < min_columns:
            raise DatasetError(f"{path}: {array.shape[1]} values per line, expected at least {min_columns}")
        if not allow_nan and np.isnan(array).any():
            bad = int(np.argwhere(np.isnan(array))[0, 0]) + 1
            raise DatasetError(f"{path}: line {bad} contains NaN")
        return array
    raise DatasetError(f"{path}: cannot parse numbers ({furthest[1]})")


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        scale = 255.0 if image.max(initial=0) <= 1.0 else 1.0
        return np.clip(image * scale, 0, 255).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def imread_rgb(path: PathLike) -> np.ndarray:
    """Read an image as ``(H, W, 3) uint8`` RGB: grayscale is replicated, 16-bit is scaled, alpha dropped."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: image not found")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size and path.suffix.lower() in (".jpg", ".jpeg"):
        fast = decode_jpeg_rgb(data)
        if fast is not None:
            return fast
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ImageReadError(f"{path}: cannot decode image (corrupt or unsupported format)")
    image = _to_uint8(image)
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.shape[2] == 4:
        image = image[:, :, :3]
    if image.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(image, 3, axis=2))
    return np.ascontiguousarray(image[:, :, ::-1])


def imwrite_rgb(path: PathLike, image: np.ndarray, quality: int = 95) -> None:
    """Write an RGB ``uint8`` image atomically (format from the suffix)."""
    import cv2

    path = Path(path)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(path.suffix, np.ascontiguousarray(image[:, :, ::-1]), params)
    if not ok:
        raise ImageReadError(f"{path}: cannot encode image")
    atomic_write_bytes(path, encoded.tobytes())


def _davis_palette() -> np.ndarray:
    head = [
        (0, 0, 0),
        (128, 0, 0),
        (0, 128, 0),
        (128, 128, 0),
        (0, 0, 128),
        (128, 0, 128),
        (0, 128, 128),
        (128, 128, 128),
        (64, 0, 0),
        (191, 0, 0),
        (64, 128, 0),
        (191, 128, 0),
        (64, 0, 128),
        (191, 0, 128),
        (64, 128, 128),
        (191, 128, 128),
        (0, 64, 0),
        (128, 64, 0),
        (0, 191, 0),
        (128, 191, 0),
        (0, 64, 128),
        (128, 64, 128),
    ]
    palette = np.array([(i, i, i) for i in range(256)], dtype=np.uint8)
    palette[: len(head)] = head
    return palette


DAVIS_PALETTE: np.ndarray = _davis_palette()


def imwrite_indexed(path: PathLike, array: np.ndarray, palette: np.ndarray = DAVIS_PALETTE) -> None:
    """Write a 2-D label array as an 8-bit palette PNG (atomically)."""
    from PIL import Image

    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{path}: indexed image must be 2-D, got shape {array.shape}")
    image = Image.fromarray(array.astype(np.uint8), mode="P")
    image.putpalette(np.asarray(palette, dtype=np.uint8).ravel().tolist())
    with atomic_open(path, "wb") as f:
        image.save(f, format="PNG")


def imread_indexed(path: PathLike) -> np.ndarray:
    """Read a label PNG: palette indices for 'P' images, the first channel otherwise (``uint8``)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: mask not found")
    try:
        with Image.open(path) as image:
            array = np.array(image)
    except (UnidentifiedImageError, OSError) as err:
        raise ImageReadError(f"{path}: cannot read mask ({err})") from None
    if array.ndim == 3:
        array = array[:, :, 0]
    return _to_uint8(array) if array.dtype != np.uint8 else array


def image_size(path: PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file without decoding all pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (FileNotFoundError, UnidentifiedImageError, OSError) as err:
        raise ImageReadError(f"{path}: cannot read image header ({err})") from None
    return height, width
