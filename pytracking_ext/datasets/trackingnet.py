"""TrackingNet TEST: ``<root>/TEST/frames/<seq>/<i>.jpg`` (0-based, unpadded) and ``TEST/anno/<seq>.txt``.

Upstream lists sequences in file-system order, so integer indices differ between machines; here
the names are sorted. Test annotations hold only the first box.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from ..evaluation.data import Sequence, SequenceList
from ..settings import EnvSettings
from .common import listed_frames, natural_key, read_boxes, require_dir


def trackingnet_sequence(split_dir: Path, name: str) -> Sequence:
    frames = listed_frames(split_dir / "frames" / name, "*.jpg", integer_stems=True)
    boxes = read_boxes(split_dir / "anno" / f"{name}.txt", len(frames), first_only_ok=True)
    return Sequence(name, frames, "trackingnet", boxes)


def load_trackingnet(root: Path, settings: EnvSettings, split: str = "TEST") -> SequenceList:
    """The sequences of ``split`` (default ``TEST``), sorted by name."""
    split_dir = require_dir(Path(root) / split, f"TrackingNet {split} folder")
    anno = require_dir(split_dir / "anno", f"TrackingNet {split} annotation folder")
    names = sorted((p.stem for p in anno.glob("*.txt")), key=natural_key)
    if not names:
        raise DatasetError(f"TrackingNet: no annotation files (*.txt) in {anno}")
    return SequenceList(trackingnet_sequence(split_dir, name) for name in names)
