"""The user's own data: a folder of images, a video file, or a webcam.

:class:`FrameSource` is the common way to walk such input frame by frame (``(index, name, RGB
uint8 image)``) without holding it in memory; :func:`open_frame_source` picks the right kind.
A :class:`Sequence` needs frame paths, so :func:`sequence_from_video` decodes a video into a
frame folder (one frame at a time) and wraps it with :func:`sequence_from_folder`.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from collections.abc import Sequence as Seq
from pathlib import Path

import numpy as np

from ..errors import DatasetError, ImageReadError, TrackerInputError
from ..evaluation.data import Sequence
from ..settings import EnvSettings, env_settings
from ..utils.boxes import box_is_valid, mask_to_bbox
from ..utils.io import DAVIS_PALETTE, atomic_write_text, imread_rgb, imwrite_rgb
from .common import natural_key

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
Frame = tuple[int, str, np.ndarray]


class FrameSource(ABC):
    """Frames of one input, in order: ``for index, name, rgb in source``."""

    @property
    @abstractmethod
    def num_frames(self) -> int | None:
        """The number of frames, or ``None`` when unknown (a live camera)."""

    def __len__(self) -> int:
        if self.num_frames is None:
            raise TypeError(f"{self!r} has no known length (live source)")
        return self.num_frames

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """Yield ``(index, name, image)`` with ``image`` an ``(H, W, 3)`` RGB ``uint8`` array."""


class FolderFrameSource(FrameSource):
    """Images of a folder (or an explicit list of paths), read lazily."""

    def __init__(self, paths: Seq[str | Path]) -> None:
        self.paths = [Path(p) for p in paths]

    @classmethod
    def from_folder(cls, folder: str | Path) -> FolderFrameSource:
        return cls(image_files(folder))

    @property
    def num_frames(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.paths):
            yield index, path.stem, imread_rgb(path)

    def __repr__(self) -> str:
        return f"FolderFrameSource({len(self.paths)} images)"


class VideoFrameSource(FrameSource):
    """A video file or a webcam (integer index) decoded with OpenCV and converted to RGB.

    Upstream hands OpenCV's BGR frames straight to the tracker in video mode; here every frame is
    RGB like in dataset runs. ``max_frames`` stops a live camera after that many frames.
    """

    def __init__(self, source: str | Path | int, max_frames: int | None = None) -> None:
        if not isinstance(source, int) and not Path(source).is_file():
            raise DatasetError(f"video file not found: {source}")
        self.source = source
        self.max_frames = max_frames
        self._length = None if isinstance(source, int) else self._probe_length()

    def _open(self):
        import cv2

        capture = cv2.VideoCapture(self.source if isinstance(self.source, int) else str(self.source))
        if not capture.isOpened():
            what = f"webcam {self.source}" if isinstance(self.source, int) else f"video {self.source}"
            raise ImageReadError(f"{what}: cannot open (no device, or a codec OpenCV lacks)")
        return capture

    def _probe_length(self) -> int | None:
        import cv2

        capture = self._open()
        try:
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            capture.release()
        return count if count > 0 else None

    @property
    def num_frames(self) -> int | None:
        if self._length is None:
            return self.max_frames if isinstance(self.source, int) else None
        return min(self._length, self.max_frames) if self.max_frames is not None else self._length

    def __iter__(self) -> Iterator[Frame]:
        capture = self._open()
        try:
            index = 0
            while self.max_frames is None or index < self.max_frames:
                ok, bgr = capture.read()
                if not ok:
                    break
                if bgr.ndim == 2:
                    bgr = np.repeat(bgr[:, :, None], 3, axis=2)
                yield index, f"{index:08d}", np.ascontiguousarray(bgr[:, :, 2::-1])
                index += 1
        finally:
            capture.release()

    def __repr__(self) -> str:
        return f"VideoFrameSource({self.source!r})"


def image_files(folder: str | Path) -> list[Path]:
    """Image files of ``folder`` in natural order (``frame2`` before ``frame10``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"image folder not found: {folder}")
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: natural_key(p.name),
    )
    if not files:
        raise DatasetError(f"image folder has no images ({', '.join(IMAGE_SUFFIXES)}): {folder}")
    return files


def open_frame_source(source: str | Path | int, max_frames: int | None = None) -> FrameSource:
    """A webcam for an integer (or a digit string), a folder source for a folder, else a video file."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return VideoFrameSource(int(source), max_frames=max_frames)
    if Path(source).is_dir():
        return FolderFrameSource.from_folder(source)
    return VideoFrameSource(source, max_frames=max_frames)


# The most objects an init mask may hold. Each object gets its own tracker, so a photograph read as
# a label image (hundreds of "objects") would never finish its first frame; real multi-object
# masks (DAVIS, YouTube-VOS) have a handful.
MAX_INIT_OBJECTS = 32
MASK_KINDS = "an init mask is a binary image, a DAVIS palette PNG, or a label image with few ids"


def _check_id_count(path: Path, count: int, what: str, max_objects: int) -> None:
    if count > max_objects:
        raise ImageReadError(
            f"{path}: {count} {what}, more than the {max_objects} objects an init mask may hold "
            f"(a photograph?); {MASK_KINDS}"
        )


def _labels_from_values(path: Path, values: np.ndarray, bits: str, max_objects: int) -> np.ndarray:
    """Label ids of a one-channel image: the pixel values, refused when they cannot be kept as 8-bit ids."""
    if np.issubdtype(values.dtype, np.floating) and not np.all(np.mod(values, 1) == 0):
        raise ImageReadError(f"{path}: {bits} image with fractional values, not a label image; {MASK_KINDS}")
    ids = np.unique(values[values != 0])
    if ids.size and (ids.min() < 0 or ids.max() > 255):
        if ids.size == 1:
            return (values != 0).astype(np.uint8)  # a binary mask stored with another foreground value
        raise ImageReadError(
            f"{path}: {bits} label image with ids up to {ids.max():g}; ids above 255 would be "
            f"remapped in the 8-bit masks this tool writes (use ids 1..255)"
        )
    _check_id_count(path, int(ids.size), "object ids", max_objects)
    return values.astype(np.uint8)


def _davis_index() -> dict[tuple[int, int, int], int]:
    index: dict[tuple[int, int, int], int] = {}
    for i, colour in enumerate(DAVIS_PALETTE.tolist()):
        index.setdefault(tuple(colour), i)
    return index


def _labels_from_colours(path: Path, rgb: np.ndarray, alpha: np.ndarray | None, max_objects: int) -> np.ndarray:
    """One object per distinct flat colour of an RGB-saved mask (black or transparent = background).

    Ids: the grey value when every colour is grey, the DAVIS palette index when every colour is a
    DAVIS colour (an RGB-saved DAVIS mask keeps its ids), else 1..n in sorted colour order.
    """
    foreground = np.any(rgb != 0, axis=2)
    if alpha is not None:
        foreground &= alpha != 0
    colours, inverse = np.unique(rgb[foreground], axis=0, return_inverse=True)
    _check_id_count(path, len(colours), "distinct colours", max_objects)
    if np.all(colours == colours[:, :1]):
        ids = colours[:, 0].astype(np.int64)
    else:
        davis = _davis_index()
        found = [davis.get(tuple(int(v) for v in c)) for c in colours]
        ids = np.array(found if None not in found else range(1, len(colours) + 1), dtype=np.int64)
    label = np.zeros(rgb.shape[:2], dtype=np.uint8)
    label[foreground] = ids[inverse.reshape(-1)]
    return label


def read_init_mask(path: str | Path, max_objects: int = MAX_INIT_OBJECTS) -> np.ndarray:
    """Read an init mask as an ``(H, W) uint8`` label image (0 = background, each other id one object).

    Accepted: binary images, palette PNGs (DAVIS), grayscale or 16-bit label images with at most
    ``max_objects`` ids in 1..255, and RGB(A) masks with at most ``max_objects`` flat colours
    (black or transparent = background). Anything else (a photograph, a JPEG-compressed mask, ids
    that do not fit 8 bits) raises a one-line :class:`ImageReadError` naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: init mask not found")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode == "1":
                return np.array(image, dtype=np.uint8)
            if mode in ("L", "LA", "P", "PA"):
                return _labels_from_values(path, np.array(image.getchannel(0)), "8-bit", max_objects)
            if mode.startswith("I") or mode == "F":
                bits = "16-bit" if mode.startswith("I;16") else f"{mode}-mode"
                return _labels_from_values(path, np.array(image), bits, max_objects)
            rgba = np.array(image.convert("RGBA"))
            alpha = rgba[:, :, 3] if "A" in mode else None
            return _labels_from_colours(path, rgba[:, :, :3], alpha, max_objects)
    except (UnidentifiedImageError, OSError) as err:
        raise ImageReadError(f"{path}: cannot read init mask ({err})") from None


def _init_mask(init_mask: str | Path | np.ndarray) -> np.ndarray:
    mask = read_init_mask(init_mask) if isinstance(init_mask, (str, Path)) else np.asarray(init_mask)
    if mask.ndim != 2:
        raise TrackerInputError(f"init_mask must be a 2-D label image, got shape {mask.shape}")
    return (mask != 0).astype(np.uint8)


def sequence_from_folder(
    path: str | Path,
    init_box: Seq[float] | None = None,
    init_mask: str | Path | np.ndarray | None = None,
    name: str | None = None,
) -> Sequence:
    """A single-object sequence over the images of ``path`` (natural order), initialised on the first.

    Give ``init_box`` ``[x, y, w, h]``, ``init_mask`` (PNG path or array, non-zero = target) or
    both; without a box the mask's inclusive box is used. Unknown later boxes are NaN.
    """
    frames = [str(p) for p in image_files(path)]
    return sequence_from_frames(frames, name or Path(path).resolve().name, init_box, init_mask)


def sequence_from_frames(
    frames: list[str], name: str, init_box: Seq[float] | None = None, init_mask: str | Path | np.ndarray | None = None
) -> Sequence:
    """A single-object sequence over ``frames`` initialised on the first (see :func:`sequence_from_folder`)."""
    if init_box is None and init_mask is None:
        raise TrackerInputError(f"sequence '{name}': give init_box or init_mask for the first frame")
    mask = _init_mask(init_mask) if init_mask is not None else None
    if init_box is None:
        init_box = mask_to_bbox(mask, empty=None)
        if init_box is None:
            raise TrackerInputError(f"init_mask {init_mask if isinstance(init_mask, (str, Path)) else ''} is empty")
    init_box = [float(v) for v in init_box]
    if len(init_box) != 4 or not box_is_valid(init_box):
        raise TrackerInputError(f"init_box must be a finite [x, y, w, h] with positive size, got {init_box}")
    gt = np.full((len(frames), 4), np.nan)
    gt[0] = init_box
    init = OrderedDict(bbox=init_box)
    if mask is not None:
        init["mask"] = mask
    return Sequence(name, frames, "own", gt, init_data={0: dict(init)})


def _frames_folder(source: str | Path | int, max_frames: int | None, settings: EnvSettings) -> Path:
    key = f"webcam{source}" if isinstance(source, int) else f"{Path(source).resolve()}:{max_frames}"
    stem = f"webcam{source}" if isinstance(source, int) else Path(source).stem
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return Path(settings.cache_dir).expanduser() / "video_frames" / f"{stem}_{digest}"


def extract_frames(source: FrameSource, folder: Path, quality: int = 95, reuse: bool = True) -> list[str]:
    """Write each frame of ``source`` to ``folder/%08d.jpg``; with ``reuse``, keep a previous complete extraction."""
    from tqdm import tqdm

    marker = folder / "frames.json"
    if reuse and marker.is_file():
        try:
            names = json.loads(marker.read_text())["frames"]
            if all((folder / n).is_file() for n in names):
                return [str(folder / n) for n in names]
        except (ValueError, KeyError, TypeError):
            pass  # damaged marker: extract again
    names = []
    for index, _, image in tqdm(source, total=source.num_frames, desc="decoding video", unit="frame"):
        name = f"{index:08d}.jpg"
        imwrite_rgb(folder / name, image, quality=quality)
        names.append(name)
    if not names:
        raise DatasetError(f"{source!r}: no frame could be decoded")
    atomic_write_text(marker, json.dumps({"frames": names}))
    return [str(folder / n) for n in names]


def sequence_from_video(
    source: str | Path | int,
    init_box: Seq[float] | None = None,
    init_mask: str | Path | np.ndarray | None = None,
    frames_dir: str | Path | None = None,
    max_frames: int | None = None,
    settings: EnvSettings | None = None,
    name: str | None = None,
) -> Sequence:
    """A sequence over a video file (or ``max_frames`` of a webcam), decoded to RGB JPEG frames.

    Frames go to ``frames_dir`` (default: ``<cache_dir>/video_frames/<stem>_<hash>``), written one
    at a time so long videos never sit in memory; a finished extraction is reused.
    """
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    if isinstance(source, int) and max_frames is None:
        raise DatasetError(f"sequence_from_video: webcam {source} needs max_frames (a live source has no end)")
    frame_source = VideoFrameSource(source, max_frames=max_frames)
    folder = (
        Path(frames_dir) if frames_dir is not None else _frames_folder(source, max_frames, settings or env_settings())
    )
    # A camera shows something new every time, so its frames are never reused.
    frames = extract_frames(frame_source, folder, reuse=not isinstance(source, int))
    default_name = f"webcam{source}" if isinstance(source, int) else Path(source).stem
    return sequence_from_frames(frames, name or default_name, init_box, init_mask)
