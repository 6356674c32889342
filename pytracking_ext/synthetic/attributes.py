"""Per-sequence attribute codes (LaSOT, UAV123, OTB) derived from what was actually rendered.

Each benchmark keeps its own short codes and long names; the rules below decide a code from the
measured track, so a sequence labelled FOC really has a fully occluded frame. Attributes that the
generator never produces (deformation, motion blur, viewpoint change, out-of-plane rotation) are
listed in the file but assigned to no sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import ObjectTrack, write_json
from .scene import Scene


@dataclass(frozen=True)
class Facts:
    """Yes/no facts and a few numbers about one rendered target."""

    full_occlusion: bool
    partial_occlusion: bool
    fully_out_of_view: bool
    partly_out_of_view: bool
    scale_variation: bool
    aspect_ratio_change: bool
    fast_motion: bool
    rotation: bool
    min_box_area: float
    illumination_variation: bool
    camera_motion: bool
    similar_object: bool


def _outside(ratios: np.ndarray, limit: float = 2.0) -> bool:
    return bool(np.any((ratios > limit) | (ratios < 1.0 / limit)))


def measure_facts(track: ObjectTrack, scene: Scene, times: np.ndarray) -> Facts:
    """Decide the facts of ``track`` (sampled at ``times`` of ``scene``)."""
    started = track.started
    visible = track.visible
    partial = visible & (track.visible_pixels < 0.95 * track.unoccluded_pixels)
    size = np.sqrt(track.full_area)
    first = int(np.argmax(started))
    scale_ratio = size[started] / max(size[first], 1e-9)
    aspect = track.half_sizes[:, 0] / track.half_sizes[:, 1]
    aspect_ratio = aspect[started] / aspect[first]
    step = np.linalg.norm(np.diff(track.center, axis=0), axis=1)
    both_visible = visible[1:] & visible[:-1]
    box_size = np.sqrt(4 * track.half_sizes[1:, 0] * track.half_sizes[1:, 1])
    fast = bool(np.any(both_visible & (step > 0.5 * box_size)))
    angles = track.angle[started]
    box_areas = track.boxes[visible, 2] * track.boxes[visible, 3]
    gains = np.array([scene.gain(t) for t in times])
    return Facts(
        full_occlusion=bool(track.fully_occluded.any()),
        partial_occlusion=bool(partial.any()),
        fully_out_of_view=bool(track.out_of_view.any()),
        partly_out_of_view=bool((track.cut_by_image & started).any() or track.out_of_view.any()),
        scale_variation=_outside(scale_ratio),
        aspect_ratio_change=_outside(aspect_ratio),
        fast_motion=fast,
        rotation=bool(angles.size and np.ptp(angles) > np.pi / 6),
        min_box_area=float(box_areas.min()) if box_areas.size else 0.0,
        illumination_variation=bool(gains.max() / gains.min() > 1.4),
        camera_motion=bool(np.any(scene.pan_velocity != 0)),
        similar_object=scene.has_distractor or len(scene.objects) > 1,
    )


Rule = Callable[[Facts], bool]


@dataclass(frozen=True)
class AttributeSet:
    """One benchmark's attribute file: codes in its order, long names, and the rule per code."""

    file_name: str
    codes: tuple[tuple[str, str, Rule | None], ...]

    def short_names(self) -> list[str]:
        return [code for code, _, _ in self.codes]

    def long_names(self) -> list[str]:
        return [name for _, name, _ in self.codes]

    def assign(self, facts: Facts) -> list[str]:
        return [code for code, _, rule in self.codes if rule is not None and rule(facts)]


_NEVER = None
ATTRIBUTE_SETS = {
    "lasot": AttributeSet(
        "LaSOT_attributes.json",
        (
            ("IV", "Illumination Variation", lambda f: f.illumination_variation),
            ("POC", "Partial Occlusion", lambda f: f.partial_occlusion),
            ("DEF", "Deformation", _NEVER),
            ("MB", "Motion Blur", _NEVER),
            ("CM", "Camera Motion", lambda f: f.camera_motion),
            ("ROT", "Rotation", lambda f: f.rotation),
            ("BC", "Background Clutter", lambda f: f.similar_object),
            ("VC", "Viewpoint Change", _NEVER),
            ("SV", "Scale Variation", lambda f: f.scale_variation),
            ("FOC", "Full Occlusion", lambda f: f.full_occlusion),
            ("FM", "Fast Motion", lambda f: f.fast_motion),
            ("OV", "Out-of-View", lambda f: f.fully_out_of_view),
            ("LR", "Low Resolution", lambda f: 0 < f.min_box_area < 1000),
            ("ARC", "Aspect Ratio Change", lambda f: f.aspect_ratio_change),
        ),
    ),
    "uav": AttributeSet(
        "UAV123_attributes.json",
        (
            ("SV", "Scale Variation", lambda f: f.scale_variation),
            ("ARC", "Aspect Ratio Change", lambda f: f.aspect_ratio_change),
            ("LR", "Low Resolution", lambda f: 0 < f.min_box_area < 400),
            ("FM", "Fast Motion", lambda f: f.fast_motion),
            ("FOC", "Full Occlusion", lambda f: f.full_occlusion),
            ("POC", "Partial Occlusion", lambda f: f.partial_occlusion),
            ("OV", "Out-of-View", lambda f: f.partly_out_of_view),
            ("BC", "Background Clutter", lambda f: f.similar_object),
            ("IV", "Illumination Variation", lambda f: f.illumination_variation),
            ("VC", "Viewpoint Change", _NEVER),
            ("CM", "Camera Motion", lambda f: f.camera_motion),
            ("SOB", "Similar Object", lambda f: f.similar_object),
        ),
    ),
    "otb": AttributeSet(
        "otb_attributes.json",
        (
            ("IV", "Illumination Variation", lambda f: f.illumination_variation),
            ("SV", "Scale Variation", lambda f: f.scale_variation),
            ("OCC", "Occlusion", lambda f: f.partial_occlusion or f.full_occlusion),
            ("DEF", "Deformation", _NEVER),
            ("MB", "Motion Blur", _NEVER),
            ("FM", "Fast Motion", lambda f: f.fast_motion),
            ("IPR", "In-Plane Rotation", lambda f: f.rotation),
            ("OPR", "Out-of-Plane Rotation", _NEVER),
            ("OV", "Out-of-View", lambda f: f.partly_out_of_view),
            ("BC", "Background Clutter", lambda f: f.similar_object),
            ("LR", "Low Resolution", lambda f: 0 < f.min_box_area < 400),
        ),
    ),
}


def write_attributes(root: Path, benchmark: str, facts_by_name: dict[str, Facts]) -> Path:
    """Write ``<root>/<benchmark file>`` with ``att_name_short``, ``att_name_long`` and one list per sequence."""
    attribute_set = ATTRIBUTE_SETS[benchmark]
    data: dict[str, list[str]] = {
        "att_name_short": attribute_set.short_names(),
        "att_name_long": attribute_set.long_names(),
    }
    for name, facts in facts_by_name.items():
        data[name] = attribute_set.assign(facts)
    path = root / attribute_set.file_name
    write_json(path, data)
    return path
