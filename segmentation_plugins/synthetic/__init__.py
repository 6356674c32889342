"""Synthetic street videos in the Cityscapes and CamVid layouts, for tests and smoke runs of the plugins.

``generate_cityscapes(out, videos=2, frames=30, size=(256, 128), seed=0)`` (or
``python -m segmentation_plugins.synthetic --format cityscapes --out DIR ...``) renders a car
driving down a street: road with lane markings, sidewalks, a row of buildings and hedges, poles
with signs, cars (ahead, oncoming, parked) and walking people, under a cloudy sky, with forward
motion and a slow camera pan so that content moves between frames, and textured surfaces so that
optical flow has something to track. The same arguments give byte-identical files.

==========  =================================================================================
cityscapes  ``leftImg8bit_sequence/<split>/<city>/<city>_<seq>_<frame:06d>_leftImg8bit.png``
            (``frames`` per snippet, 20..30 with the default ``annotated_index`` 19, frame
            numbers starting at a random offset) and
            ``gtFine/<split>/<city>/<city>_<seq>_<frame:06d>_gtFine_labelIds.png`` for frame
            ``annotated_index`` (19 = the 20th) only, with real Cityscapes labelIds: road 7,
            sidewalk 8, building 11, pole 17, traffic sign 20, vegetation 21, sky 23, person 24,
            car 26 and the hood as 'ego vehicle' 1 (ignored in training and evaluation).
camvid      SegNet layout: ``<split>/<seq>_<frame:05d>.png``, ``<split>annot/`` with class ids
            (sky 0, building 1, pole 2, road 3, pavement 4, tree 5, sign 6, car 8, pedestrian 9,
            hood = void 11), ``<split>.txt`` with "image annotation" lines and ``frames.csv``
            (split, image, annotation, sequence, frame). Every frame is labelled; frame numbers
            step by ``label_step`` (2 = 15 Hz labels of a 30 Hz video).
==========  =================================================================================

A non-empty output folder is refused unless ``overwrite=True``; overwriting removes only what
this call writes (the requested splits' folders and lists, and ``frames.csv`` for CamVid).
"""

from __future__ import annotations

from .generation import DEFAULT_SIZES, FORMATS, generate, generate_camvid, generate_cityscapes
from .street import CLASS_NAMES, StreetScene, make_street_scene

__all__ = [
    "CLASS_NAMES",
    "DEFAULT_SIZES",
    "FORMATS",
    "StreetScene",
    "generate",
    "generate_camvid",
    "generate_cityscapes",
    "make_street_scene",
]
