"""Reading tracker outputs: box text files and palette-PNG masks, with one-line errors.

Box files have one ``x, y, w, h`` row per frame, separated by tabs or commas, as floats or
ints (PyTracking wrote ``%d``, this package writes ``%.2f``). Anything else is reported as a
:class:`ResultsError` that names the file and, where it applies, the line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import ImageReadError, ResultsError
from ..evaluation.data import Sequence
from ..evaluation.tracker_spec import TrackerSpec
from ..settings import EnvSettings
from ..utils.io import imread_indexed

# Tab first, then comma: the order PyTracking's analysis tries them in.
_DELIMITERS = ("\t", ",")


def _split_line(line: str) -> list[str] | None:
    for delim in _DELIMITERS:
        if delim in line:
            return [p.strip() for p in line.split(delim)]
    parts = line.split()
    return parts or None


def read_boxes(path: str | Path) -> np.ndarray:
    """``(N, 4)`` float64 boxes of a results file.

    Raises :class:`ResultsError` naming the file (and line) when the file is missing or empty,
    a line does not hold four numbers, or a value is NaN, or a width/height is negative.
    """
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: results file not found")
    try:
        text = path.read_text()
    except (UnicodeDecodeError, OSError) as err:
        raise ResultsError(f"{path}: cannot read results file ({type(err).__name__})") from None
    rows: list[list[float]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = _split_line(line)
        if parts is None or len(parts) != 4:
            found = 0 if parts is None else len(parts)
            raise ResultsError(f"{path}: line {lineno} has {found} values, expected 4 (x, y, w, h)")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ResultsError(f"{path}: line {lineno} is not numeric: {line[:60]!r}") from None
        if any(math.isnan(v) for v in values):
            raise ResultsError(f"{path}: line {lineno} contains NaN")
        if values[2] < 0 or values[3] < 0:
            raise ResultsError(f"{path}: line {lineno} has a negative width or height")
        rows.append(values)
    if not rows:
        raise ResultsError(f"{path}: results file is empty")
    return np.asarray(rows, dtype=np.float64)


def box_results_path(spec: TrackerSpec, seq_name: str, settings: EnvSettings, object_id: str | None = None) -> Path:
    """``<results_dir>/<seq>.txt`` or, for one object of a multi-object run, ``<seq>_<id>.txt``."""
    stem = seq_name if object_id is None else f"{seq_name}_{object_id}"
    return spec.results_dir(settings) / f"{stem}.txt"


def mask_results_path(spec: TrackerSpec, seq: Sequence, frame: int, settings: EnvSettings) -> Path:
    """``<segmentation_dir>/<seq>/<frame stem>.png``."""
    return spec.segmentation_dir(settings) / seq.name / f"{Path(seq.frames[frame]).stem}.png"


def read_mask(path: str | Path) -> np.ndarray:
    """A result label PNG as a 2-D ``uint8`` array; :class:`ResultsError` when missing or unreadable."""
    try:
        return imread_indexed(path)
    except ImageReadError as err:
        raise ResultsError(str(err)) from None
