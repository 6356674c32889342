"""Writers for the single-object box benchmarks: LaSOT, GOT-10k, TrackingNet, UAV123, NFS, OTB-100."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..utils.io import atomic_write_text, imwrite_rgb
from .attributes import Facts, measure_facts, write_attributes
from .common import (
    GeneratedDataset,
    GenerationSpec,
    ObjectTrack,
    TrackRecorder,
    box_lines,
    progress,
    render_frames,
    write_lines,
    write_sequence_table,
)
from .names import GOT10K_CLASSES, LASOT_TEST, NFS, OTB, UAV123, take_names
from .scene import Scene, SceneConfig, make_scene

JPEG_QUALITY = 90


@dataclass
class RenderedTarget:
    """A written single-object video: its scene, the target's track and the frame times."""

    scene: Scene
    recorder: TrackRecorder

    def track(self, frames: slice = slice(None)) -> ObjectTrack:
        return self.recorder.track(0, frames)

    def facts(self, frames: slice = slice(None)) -> Facts:
        times = np.arange(len(self.recorder.frames), dtype=float)[frames]
        return measure_facts(self.track(frames), self.scene, times)


def render_target_video(
    spec: GenerationSpec,
    key: tuple[int, ...],
    image_paths: list[Path],
    allow_absence: bool,
    keep_visible: frozenset[int] = frozenset({0}),
    variant: int = 0,
) -> RenderedTarget:
    """Render one single-target video to ``image_paths`` (frame i -> path i)."""
    config = SceneConfig(
        spec.width, spec.height, len(image_paths), 1, allow_absence, keep_visible, False, variant, spec.distractors
    )
    scene = make_scene(spec.rng(*key), config)
    recorder = TrackRecorder()
    for path, frame in zip(image_paths, render_frames(scene, range(len(image_paths)), recorder)):
        imwrite_rgb(path, frame.image, quality=JPEG_QUALITY)
    return RenderedTarget(scene, recorder)


def _flag_line(flags: np.ndarray) -> str:
    return ",".join(str(int(v)) for v in flags)


def write_lasot(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """``<class>/<class>-<k>/img/%08d.jpg``, ``groundtruth.txt`` and the single-line flag files."""
    names = take_names(LASOT_TEST, spec.num_sequences, lambda i: f"synthetic-{i + 1}")
    table, facts = [], {}
    for index, name in enumerate(progress(names, "lasot", spec)):
        object_class = name.rsplit("-", 1)[0]
        folder = out / object_class / name
        paths = [folder / "img" / f"{f:08d}.jpg" for f in range(1, spec.num_frames + 1)]
        video = render_target_video(spec, (1, index), paths, allow_absence=True, variant=index)
        track = video.track()
        write_lines(folder / "groundtruth.txt", box_lines(track.boxes))
        write_lines(folder / "full_occlusion.txt", [_flag_line(track.fully_occluded)])
        write_lines(folder / "out_of_view.txt", [_flag_line(track.out_of_view)])
        write_lines(folder / "nlp.txt", [f"synthetic textured {object_class} moving over a textured background"])
        table.append({"name": name, "object_class": object_class})
        facts[name] = video.facts()
    write_sequence_table(out, "lasot", table)
    write_attributes(out, "lasot", facts)
    return GeneratedDataset(out, "lasot_path", out)


GOT10K_SPLITS = (("train", "Train"), ("val", "Val"), ("test", "Test"))


def _meta_info(index: int, spec: GenerationSpec) -> str:
    object_class, motion_class, major_class, root_class, adverb = GOT10K_CLASSES[index % len(GOT10K_CLASSES)]
    lines = [
        "[METAINFO]",
        f"url: synthetic://seed{spec.seed}/{index}",
        "begin_time: 0.00",
        f"end_time: {spec.num_frames / 10:.2f}",
        "anno_fps: 10Hz",
        f"object_class: {object_class}",
        f"motion_class: {motion_class}",
        f"major_class: {major_class}",
        f"root_class: {root_class}",
        f"motion_adverb: {adverb}",
        f"resolution: ({spec.width}, {spec.height})",
    ]
    return "\n".join(lines) + "\n"


def write_got10k(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """``train``/``val``/``test`` splits; labels for train/val, first-line-only ground truth for test."""
    for split_index, (split, tag) in enumerate(GOT10K_SPLITS):
        names = [f"GOT-10k_{tag}_{i:06d}" for i in range(1, spec.num_sequences + 1)]
        for index, name in enumerate(progress(names, f"got10k {split}", spec)):
            folder = out / split / name
            paths = [folder / f"{f:08d}.jpg" for f in range(1, spec.num_frames + 1)]
            video = render_target_video(spec, (2, split_index, index), paths, allow_absence=True, variant=index)
            track = video.track()
            lines = box_lines(track.boxes, decimals=4)
            atomic_write_text(folder / "meta_info.ini", _meta_info(index, spec))
            if split == "test":
                write_lines(folder / "groundtruth.txt", lines[:1])
                continue
            write_lines(folder / "groundtruth.txt", lines)
            write_lines(folder / "absence.label", [str(int(v)) for v in ~track.visible])
            write_lines(folder / "cover.label", [str(int(v)) for v in track.cover_eighths()])
            write_lines(folder / "cut_by_image.label", [str(int(v)) for v in track.cut_by_image & track.visible])
        write_lines(out / split / "list.txt", names)
    return GeneratedDataset(out, "got10k_path", out)


def _youtube_like_id(rng: np.random.Generator) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), size=11))


def write_trackingnet(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """``TEST`` (first annotation line only) and one fully annotated ``TRAIN_0`` chunk; 0-based frame names."""
    for split_index, (chunk, full) in enumerate((("TEST", False), ("TRAIN_0", True))):
        id_rng = spec.rng(3, split_index, 1_000_000)
        names = [f"{_youtube_like_id(id_rng)}_{int(id_rng.integers(0, 10))}" for _ in range(spec.num_sequences)]
        for index, name in enumerate(progress(names, f"trackingnet {chunk}", spec)):
            paths = [out / chunk / "frames" / name / f"{f}.jpg" for f in range(spec.num_frames)]
            # TrackingNet has no absence marker, so its targets never vanish.
            video = render_target_video(spec, (3, split_index, index), paths, allow_absence=False, variant=index)
            lines = box_lines(video.track().boxes)
            write_lines(out / chunk / "anno" / f"{name}.txt", lines if full else lines[:1])
    return GeneratedDataset(out, "trackingnet_path", out)


def write_uav(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """``data_seq/UAV123/<video>/%06d.jpg``; parts of one video share its folder and a boundary frame."""
    entries = take_names(UAV123, spec.num_sequences, lambda i: (f"synthetic{i + 1}", f"synthetic{i + 1}", "other"))
    videos: dict[str, list[tuple[str, str]]] = {}
    for name, folder, object_class in entries:
        videos.setdefault(folder, []).append((name, object_class))
    table, facts = [], {}
    step = spec.num_frames - 1
    for video_index, (folder, parts) in enumerate(progress(list(videos.items()), "uav", spec)):
        total = step * len(parts) + 1
        starts = [part * step for part in range(len(parts))]
        paths = [out / "data_seq" / "UAV123" / folder / f"{f:06d}.jpg" for f in range(1, total + 1)]
        video = render_target_video(
            spec, (4, video_index), paths, allow_absence=True, keep_visible=frozenset(starts), variant=video_index
        )
        for (name, object_class), start in zip(parts, starts):
            frames = slice(start, start + spec.num_frames)
            track = video.track(frames)
            lines = box_lines(track.boxes, absent=~track.visible, absent_text="NaN,NaN,NaN,NaN")
            write_lines(out / "anno" / "UAV123" / f"{name}.txt", lines)
            table.append(
                {
                    "name": f"uav_{name}",
                    "path": f"data_seq/UAV123/{folder}",
                    "startFrame": start + 1,
                    "endFrame": start + spec.num_frames,
                    "nz": 6,
                    "ext": "jpg",
                    "anno_path": f"anno/UAV123/{name}.txt",
                    "object_class": object_class,
                    "initOmit": 0,
                }
            )
            facts[name] = video.facts(frames)
    write_sequence_table(out, "uav", table)
    write_attributes(out, "uav", facts)
    return GeneratedDataset(out, "uav_path", out)


def write_nfs(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """PyTracking's re-packed NFS: ``sequences/<seq>/%05d.jpg`` and tab-separated ``anno/nfs_<seq>.txt``."""
    entries = take_names(NFS, spec.num_sequences, lambda i: (f"synthetic_{i + 1}", "object"))
    table = []
    for index, (name, object_class) in enumerate(progress(entries, "nfs", spec)):
        paths = [out / "sequences" / name / f"{f:05d}.jpg" for f in range(1, spec.num_frames + 1)]
        video = render_target_video(spec, (5, index), paths, allow_absence=False, variant=index)
        write_lines(out / "anno" / f"nfs_{name}.txt", box_lines(video.track().boxes, delimiter="\t"))
        facts = video.facts()
        table.append(
            {
                "name": f"nfs_{name}",
                "path": f"sequences/{name}",
                "startFrame": 1,
                "endFrame": spec.num_frames,
                "nz": 5,
                "ext": "jpg",
                "anno_path": f"anno/nfs_{name}.txt",
                "object_class": object_class,
                "occlusion": facts.partial_occlusion or facts.full_occlusion,
                "initOmit": 0,
            }
        )
    write_sequence_table(out, "nfs", table)
    return GeneratedDataset(out, "nfs_path", out)


def write_otb(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """``<Name>/img/%04d.jpg`` and ``<Name>/groundtruth_rect.txt`` (every 4th file tab separated, as in OTB)."""
    names = take_names(OTB, spec.num_sequences, lambda i: f"Synthetic{i + 1}")
    table, facts = [], {}
    for index, name in enumerate(progress(names, "otb", spec)):
        paths = [out / name / "img" / f"{f:04d}.jpg" for f in range(1, spec.num_frames + 1)]
        video = render_target_video(spec, (6, index), paths, allow_absence=False, variant=index)
        delimiter = "\t" if index % 4 == 1 else ","
        write_lines(out / name / "groundtruth_rect.txt", box_lines(video.track().boxes, delimiter=delimiter))
        table.append(
            {
                "name": name,
                "path": f"{name}/img",
                "startFrame": 1,
                "endFrame": spec.num_frames,
                "nz": 4,
                "ext": "jpg",
                "anno_path": f"{name}/groundtruth_rect.txt",
                "object_class": "other",
                "initOmit": 0,
            }
        )
        facts[name] = video.facts()
    write_sequence_table(out, "otb", table)
    write_attributes(out, "otb", facts)
    return GeneratedDataset(out, "otb_path", out)
