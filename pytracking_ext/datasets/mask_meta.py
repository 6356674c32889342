"""Per-frame object boxes of VOS annotation PNGs, cached under ``settings.cache_dir``.

Scanning every mask of a VOS benchmark takes a while, so the boxes are kept in one JSON file per
(dataset, root) in the user's cache folder, never inside the dataset (which may be read-only).
Each sequence entry carries a signature of its PNG files (count, total size, newest mtime); a
changed sequence is rescanned, the others are reused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..settings import EnvSettings
from ..utils.boxes import mask_to_bbox
from ..utils.io import atomic_write_text, imread_indexed

# frame stem -> object id (str) -> [x, y, w, h]
FrameBoxes = dict[str, dict[str, list[float]]]
CACHE_VERSION = 1


def label_image(path: Path, binary: bool = False) -> np.ndarray:
    """Label array of a mask PNG; ``binary`` maps any foreground (DAVIS 2016's 255) to id 1."""
    labels = imread_indexed(path)
    return (labels > 0).astype(np.uint8) if binary else labels


def png_boxes(path: Path, binary: bool = False, void: int | None = 255) -> dict[str, list[float]]:
    """``{object id: inclusive box}`` of every object in a mask PNG (``void`` is ignored)."""
    labels = label_image(path, binary)
    ids = [int(v) for v in np.unique(labels) if v != 0 and v != void]
    return {str(i): mask_to_bbox(labels == i) for i in ids}


def signature(paths: list[Path]) -> list[int]:
    stats = [p.stat() for p in paths]
    return [len(stats), sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0)]


def cache_file(settings: EnvSettings, namespace: str, root: Path) -> Path:
    digest = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:12]
    return Path(settings.cache_dir).expanduser() / namespace / f"{digest}.json"


def cached_frame_boxes(
    settings: EnvSettings, namespace: str, root: Path, sequences: dict[str, dict[str, Path]], binary: bool = False
) -> dict[str, FrameBoxes]:
    """Boxes of every listed PNG: ``sequences`` maps name -> {frame stem: PNG path}.

    Results come from the cache file when the sequence's signature is unchanged.
    """
    path = cache_file(settings, namespace, root)
    try:
        cache = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        cache = {}  # a damaged cache is only a lost speed-up
    if cache.get("version") != CACHE_VERSION or cache.get("root") != str(Path(root).resolve()):
        cache = {"version": CACHE_VERSION, "root": str(Path(root).resolve()), "sequences": {}}
    entries = cache["sequences"]
    result: dict[str, FrameBoxes] = {}
    stale = [
        name
        for name, pngs in sequences.items()
        if entries.get(name, {}).get("signature") != signature(list(pngs.values()))
    ]
    for name in tqdm(stale, desc=f"scanning {namespace} masks", unit="seq", disable=len(stale) < 5):
        pngs = sequences[name]
        entries[name] = {
            "signature": signature(list(pngs.values())),
            "boxes": {stem: png_boxes(p, binary) for stem, p in pngs.items()},
        }
    for name in sequences:
        result[name] = entries[name]["boxes"]
    if stale:
        try:
            atomic_write_text(path, json.dumps(cache))
        except OSError:
            pass  # read-only cache folder: keep working, just without the speed-up
    return result
