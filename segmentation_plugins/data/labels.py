"""Class tables of the segmentation datasets: Cityscapes (labelId -> trainId) and CamVid (SegNet ids).

Every loader hands out *train ids*: ``0 .. num_classes - 1`` for real classes and
``ignore_index`` (255) for pixels that count in neither loss nor metric.

* Cityscapes: the 34 annotation ids (``*_gtFine_labelIds.png``) map to 19 train classes; the
  other 15 ids (unlabeled, ego vehicle, parking, caravan, ...) map to 255, as in the official
  ``labels.py`` of cityscapesscripts.
* CamVid (SegNet copy): the annotation PNGs already hold class ids 0..10; value 11 is *void* and
  maps to 255.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from pytracking_ext.errors import DatasetError
from pytracking_ext.registry import Registry

IGNORE_INDEX = 255

Color = tuple[int, int, int]


@dataclass(frozen=True)
class LabelSet:
    """Names and display colours of a dataset's train classes; ``ignore_index`` marks unscored pixels."""

    name: str
    names: tuple[str, ...]
    colors: tuple[Color, ...]
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self) -> None:
        if len(self.names) != len(self.colors):
            raise ValueError(f"label set '{self.name}': {len(self.names)} names but {len(self.colors)} colours")
        if self.ignore_index < len(self.names):
            raise ValueError(f"label set '{self.name}': ignore_index {self.ignore_index} collides with a class id")

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def palette(self, ignore_color: Color = (0, 0, 0)) -> np.ndarray:
        """``(256, 3) uint8`` colour table: class colours first, ``ignore_color`` everywhere else."""
        table = np.tile(np.asarray(ignore_color, dtype=np.uint8), (256, 1))
        table[: self.num_classes] = self.colors
        return table

    def colorize(self, labels: np.ndarray, ignore_color: Color = (0, 0, 0)) -> np.ndarray:
        """RGB picture ``(..., 3) uint8`` of a train-id map (out-of-range values get ``ignore_color``)."""
        labels = np.asarray(labels)
        safe = np.where((labels >= 0) & (labels < 256), labels, self.ignore_index).astype(np.uint8)
        return self.palette(ignore_color)[safe]


class CityscapesLabel(NamedTuple):
    """One row of the Cityscapes class table (``train_id`` 255: not a train class)."""

    name: str
    id: int
    train_id: int
    color: Color


# The official table (cityscapesscripts helpers/labels.py), license plate (id -1) left out: it never
# appears in labelIds PNGs.
CITYSCAPES_LABELS: tuple[CityscapesLabel, ...] = tuple(
    CityscapesLabel(*row)
    for row in (
        ("unlabeled", 0, 255, (0, 0, 0)),
        ("ego vehicle", 1, 255, (0, 0, 0)),
        ("rectification border", 2, 255, (0, 0, 0)),
        ("out of roi", 3, 255, (0, 0, 0)),
        ("static", 4, 255, (0, 0, 0)),
        ("dynamic", 5, 255, (111, 74, 0)),
        ("ground", 6, 255, (81, 0, 81)),
        ("road", 7, 0, (128, 64, 128)),
        ("sidewalk", 8, 1, (244, 35, 232)),
        ("parking", 9, 255, (250, 170, 160)),
        ("rail track", 10, 255, (230, 150, 140)),
        ("building", 11, 2, (70, 70, 70)),
        ("wall", 12, 3, (102, 102, 156)),
        ("fence", 13, 4, (190, 153, 153)),
        ("guard rail", 14, 255, (180, 165, 180)),
        ("bridge", 15, 255, (150, 100, 100)),
        ("tunnel", 16, 255, (150, 120, 90)),
        ("pole", 17, 5, (153, 153, 153)),
        ("polegroup", 18, 255, (153, 153, 153)),
        ("traffic light", 19, 6, (250, 170, 30)),
        ("traffic sign", 20, 7, (220, 220, 0)),
        ("vegetation", 21, 8, (107, 142, 35)),
        ("terrain", 22, 9, (152, 251, 152)),
        ("sky", 23, 10, (70, 130, 180)),
        ("person", 24, 11, (220, 20, 60)),
        ("rider", 25, 12, (255, 0, 0)),
        ("car", 26, 13, (0, 0, 142)),
        ("truck", 27, 14, (0, 0, 70)),
        ("bus", 28, 15, (0, 60, 100)),
        ("caravan", 29, 255, (0, 0, 90)),
        ("trailer", 30, 255, (0, 0, 110)),
        ("train", 31, 16, (0, 80, 100)),
        ("motorcycle", 32, 17, (0, 0, 230)),
        ("bicycle", 33, 18, (119, 11, 32)),
    )
)
CITYSCAPES_MAX_LABEL_ID = max(label.id for label in CITYSCAPES_LABELS)
CITYSCAPES_NAME_TO_ID = {label.name: label.id for label in CITYSCAPES_LABELS}

_train_rows = sorted((label for label in CITYSCAPES_LABELS if label.train_id != IGNORE_INDEX), key=lambda r: r.train_id)

CITYSCAPES = LabelSet("cityscapes", tuple(r.name for r in _train_rows), tuple(r.color for r in _train_rows))

# 256-entry lookup tables so that a whole label map converts with one fancy-indexing step.
CITYSCAPES_ID_TO_TRAINID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _label in CITYSCAPES_LABELS:
    CITYSCAPES_ID_TO_TRAINID[_label.id] = _label.train_id
# train id -> label id; ignore (and anything unknown) -> 0 'unlabeled', which cityscapesscripts skips.
CITYSCAPES_TRAINID_TO_ID = np.zeros(256, dtype=np.uint8)
for _label in _train_rows:
    CITYSCAPES_TRAINID_TO_ID[_label.train_id] = _label.id

CAMVID = LabelSet(
    "camvid",
    (
        "sky",
        "building",
        "pole",
        "road",
        "pavement",
        "tree",
        "signsymbol",
        "fence",
        "car",
        "pedestrian",
        "bicyclist",
    ),
    (
        (128, 128, 128),
        (128, 0, 0),
        (192, 192, 128),
        (128, 64, 128),
        (60, 40, 222),
        (128, 128, 0),
        (192, 128, 128),
        (64, 64, 128),
        (64, 0, 128),
        (64, 64, 0),
        (0, 128, 192),
    ),
)
CAMVID_VOID = 11  # annotation value of 'void / unlabelled' in the SegNet PNGs
CAMVID_ID_TO_TRAINID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
CAMVID_ID_TO_TRAINID[: CAMVID.num_classes] = np.arange(CAMVID.num_classes)

# Filled from its entry-point group only: pyproject.toml declares CITYSCAPES and CAMVID there, as a
# plugin declares its own label sets.
LABEL_SETS = Registry("label set", "segmentation_plugins.label_sets")


def get_label_set(name: str) -> LabelSet:
    """The :class:`LabelSet` registered as ``name`` (``cityscapes``, ``camvid``, or a plugin's)."""
    return LABEL_SETS.get(name)


def _checked_lookup(label: np.ndarray, table: np.ndarray, max_id: int, what: str, source: object) -> np.ndarray:
    label = np.asarray(label)
    if label.size and (label.min() < 0 or label.max() > max_id):
        bad = int(label.max()) if label.max() > max_id else int(label.min())
        where = f"{source}: " if source is not None else ""
        raise DatasetError(f"{where}value {bad} is not a {what} (expected 0..{max_id})")
    return table[label.astype(np.intp)].astype(np.int64)


def cityscapes_to_train_ids(label_ids: np.ndarray, source: object = None) -> np.ndarray:
    """Cityscapes labelIds -> train ids (``int64``, 255 ignore); values above 33 raise :class:`DatasetError`.

    ``source`` (a path) only serves the error message; a labelTrainIds map passed here by mistake
    fails on its 255s instead of being silently misread.
    """
    return _checked_lookup(label_ids, CITYSCAPES_ID_TO_TRAINID, CITYSCAPES_MAX_LABEL_ID, "Cityscapes labelId", source)


def cityscapes_train_to_label_ids(train_ids: np.ndarray) -> np.ndarray:
    """Train ids -> Cityscapes labelIds (``uint8``) for writing official-format predictions; ignore -> 0."""
    train_ids = np.asarray(train_ids)
    safe = np.where((train_ids >= 0) & (train_ids < 256), train_ids, IGNORE_INDEX).astype(np.intp)
    return CITYSCAPES_TRAINID_TO_ID[safe]


def camvid_to_train_ids(annotation: np.ndarray, source: object = None) -> np.ndarray:
    """CamVid SegNet annotation values (0..10 classes, 11 void) -> train ids (``int64``, void -> 255)."""
    return _checked_lookup(annotation, CAMVID_ID_TO_TRAINID, CAMVID_VOID, "CamVid class id", source)


__all__ = [
    "CAMVID",
    "CAMVID_ID_TO_TRAINID",
    "CAMVID_VOID",
    "CITYSCAPES",
    "CITYSCAPES_ID_TO_TRAINID",
    "CITYSCAPES_LABELS",
    "CITYSCAPES_NAME_TO_ID",
    "CITYSCAPES_TRAINID_TO_ID",
    "IGNORE_INDEX",
    "LABEL_SETS",
    "CityscapesLabel",
    "LabelSet",
    "camvid_to_train_ids",
    "cityscapes_to_train_ids",
    "cityscapes_train_to_label_ids",
    "get_label_set",
]
