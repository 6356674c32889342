"""Specification of the synthetic benchmark generator (pytracking_ext.synthetic) and VOT regions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytracking_ext.errors import DatasetError, UnknownNameError
from pytracking_ext.synthetic import FORMATS, generate, generate_dataset
from pytracking_ext.synthetic.formats_vot import rotated_polygon
from pytracking_ext.utils.boxes import mask_to_bbox, polygon_to_box
from pytracking_ext.utils.io import imread_indexed, load_text
from pytracking_ext.utils.vot_region import decode_region, encode_mask, make_full_size

SMALL = dict(num_sequences=3, num_frames=16, seed=3, width=128, height=96, progress=False)
ALL_FORMATS = ["lasot", "got10k", "trackingnet", "uav", "nfs", "otb", "vot", "davis", "youtubevos"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Each format generated once (lazily) with the small settings."""
    cache: dict[str, Path] = {}

    def get(fmt: str, **options) -> Path:
        key = fmt + repr(sorted(options.items()))
        if key not in cache:
            cache[key] = generate(fmt, tmp_path_factory.mktemp(fmt), **{**SMALL, **options})
        return cache[key]

    return get


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


# ---------------------------------------------------------------- registry and layouts


def test_registry_lists_every_benchmark_format():
    assert set(ALL_FORMATS) <= set(FORMATS.names())


EXPECTED_FILES = {
    "lasot": [
        "airplane/airplane-1/img/00000001.jpg",
        "airplane/airplane-1/img/00000016.jpg",
        "airplane/airplane-1/groundtruth.txt",
        "airplane/airplane-1/full_occlusion.txt",
        "airplane/airplane-1/out_of_view.txt",
        "airplane/airplane-13/groundtruth.txt",
        "sequence_table.json",
        "LaSOT_attributes.json",
    ],
    "got10k": [
        "train/list.txt",
        "val/list.txt",
        "test/list.txt",
        "val/GOT-10k_Val_000001/00000001.jpg",
        "val/GOT-10k_Val_000001/absence.label",
        "val/GOT-10k_Val_000001/cover.label",
        "val/GOT-10k_Val_000001/cut_by_image.label",
        "test/GOT-10k_Test_000003/meta_info.ini",
        "train/GOT-10k_Train_000002/groundtruth.txt",
    ],
    "trackingnet": ["TEST/anno", "TEST/frames", "TRAIN_0/anno", "TRAIN_0/frames"],
    "uav": [
        "data_seq/UAV123/bike1/000001.jpg",
        "data_seq/UAV123/bike1/000016.jpg",
        "anno/UAV123/bike1.txt",
        "anno/UAV123/bike3.txt",
        "sequence_table.json",
        "UAV123_attributes.json",
    ],
    "nfs": [
        "sequences/Gymnastics/00001.jpg",
        "sequences/Gymnastics/00016.jpg",
        "anno/nfs_Gymnastics.txt",
        "anno/nfs_Skiing_red.txt",
        "sequence_table.json",
    ],
    "otb": [
        "Basketball/img/0001.jpg",
        "Basketball/img/0016.jpg",
        "Basketball/groundtruth_rect.txt",
        "Bird1/groundtruth_rect.txt",
        "sequence_table.json",
        "otb_attributes.json",
    ],
    "vot": [
        "list.txt",
        "sequences/list.txt",
        "sequences/ants1/sequence",
        "sequences/ants1/color/00000001.jpg",
        "sequences/ants1/color/00000016.jpg",
        "sequences/ants1/groundtruth.txt",
        "sequences/bag/occlusion.tag",
    ],
    "davis": [
        "ImageSets/2017/train.txt",
        "ImageSets/2017/val.txt",
        "JPEGImages/480p/blackswan/00000.jpg",
        "JPEGImages/480p/blackswan/00015.jpg",
        "Annotations/480p/blackswan/00015.png",
        "Annotations/480p/bear/00000.png",
    ],
    "youtubevos": [
        "2019/train/meta.json",
        "2019/valid/meta.json",
        "2019/train/JPEGImages",
        "2019/valid/Annotations",
        "2019/valid_all_frames/JPEGImages",
        "2019/valid_gt/Annotations",
    ],
}


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_layout_files_exist_with_official_names_and_digits(datasets, fmt):
    root = datasets(fmt)
    missing = [rel for rel in EXPECTED_FILES[fmt] if not (root / rel).exists()]
    assert not missing


def test_trackingnet_frames_are_zero_based_and_unpadded(datasets):
    root = datasets("trackingnet")
    for seq in (root / "TEST" / "frames").iterdir():
        assert sorted(int(p.stem) for p in seq.glob("*.jpg")) == list(range(16))
        assert {p.stem for p in seq.glob("*.jpg")} >= {"0", "15"}


def test_uav_parts_of_one_video_share_its_folder_and_boundary_frame(tmp_path):
    root = generate("uav", tmp_path, **{**SMALL, "num_sequences": 5})
    table = {e["name"]: e for e in json.loads((root / "sequence_table.json").read_text())["sequences"]}
    first, second = table["uav_bird1_1"], table["uav_bird1_2"]
    assert first["path"] == second["path"] == "data_seq/UAV123/bird1"
    assert second["startFrame"] == first["endFrame"]
    assert len(list((root / first["path"]).glob("*.jpg"))) == second["endFrame"]


def test_vot_sequence_metadata_names_the_color_channel(datasets):
    meta = lines(datasets("vot") / "sequences" / "ants1" / "sequence")
    assert "channels.color=color/%08d.jpg" in meta and "name=ants1" in meta


def test_got10k_meta_info_holds_classes_on_lines_6_to_10(datasets):
    meta = lines(datasets("got10k") / "val" / "GOT-10k_Val_000001" / "meta_info.ini")
    keys = [line.split(":")[0] for line in meta[5:10]]
    assert keys == ["object_class", "motion_class", "major_class", "root_class", "motion_adverb"]


# ---------------------------------------------------------------- annotation counts


def _single_object_annotations(fmt: str, root: Path) -> list[tuple[Path, int]]:
    """(annotation file, number of frames) for every sequence of a box format."""
    if fmt == "lasot":
        return [(p, len(list((p.parent / "img").glob("*.jpg")))) for p in root.glob("*/*/groundtruth.txt")]
    if fmt == "got10k":
        return [
            (p, len(list(p.parent.glob("*.jpg"))))
            for split in ("train", "val")
            for p in (root / split).glob("*/groundtruth.txt")
        ]
    if fmt == "trackingnet":
        return [
            (p, len(list((root / "TRAIN_0" / "frames" / p.stem).glob("*.jpg"))))
            for p in (root / "TRAIN_0" / "anno").glob("*.txt")
        ]
    if fmt == "vot":
        return [(p, len(list((p.parent / "color").glob("*.jpg")))) for p in root.glob("sequences/*/groundtruth.txt")]
    table = json.loads((root / "sequence_table.json").read_text())["sequences"]
    return [(root / e["anno_path"], e["endFrame"] - e["startFrame"] + 1) for e in table]


@pytest.mark.parametrize("fmt", ["lasot", "got10k", "trackingnet", "uav", "nfs", "otb", "vot"])
def test_annotation_line_count_matches_frame_count(datasets, fmt):
    pairs = _single_object_annotations(fmt, datasets(fmt))
    assert len(pairs) == (6 if fmt == "got10k" else 3)  # GOT-10k: train and val
    assert all(len(lines(path)) == frames == 16 for path, frames in pairs)


def test_lasot_flag_files_are_single_lines_with_one_flag_per_frame(datasets):
    for folder in datasets("lasot").glob("*/*-*"):
        for name in ("full_occlusion.txt", "out_of_view.txt"):
            content = lines(folder / name)
            assert len(content) == 1 and len(content[0].split(",")) == 16


def test_got10k_labels_have_one_line_per_frame(datasets):
    for folder in (datasets("got10k") / "val").glob("GOT-10k_*"):
        for name in ("absence.label", "cover.label", "cut_by_image.label"):
            assert len(lines(folder / name)) == 16


@pytest.mark.parametrize("path", ["got10k:test/*/groundtruth.txt", "trackingnet:TEST/anno/*.txt"])
def test_test_splits_give_only_the_first_ground_truth_line(datasets, path):
    fmt, pattern = path.split(":")
    files = list(datasets(fmt).glob(pattern))
    assert len(files) == 3 and all(len(lines(p)) == 1 for p in files)


def test_nfs_annotations_are_tab_separated(datasets):
    for path in (datasets("nfs") / "anno").glob("*.txt"):
        assert all(len(line.split("\t")) == 4 for line in lines(path))


def test_otb_annotations_parse_with_comma_or_whitespace(datasets):
    delimiters = set()
    for path in datasets("otb").glob("*/groundtruth_rect.txt"):
        delimiters.add("\t" if "\t" in path.read_text() else ",")
        assert load_text(path).shape == (16, 4)
    assert delimiters == {",", "\t"}


# ---------------------------------------------------------------- boxes versus masks


def test_davis_annotations_are_palette_pngs_with_consecutive_ids(datasets):
    from PIL import Image

    root = datasets("davis")
    for png in (root / "Annotations" / "480p" / "blackswan").glob("*.png"):
        with Image.open(png) as image:
            assert image.mode == "P"
    ids = set()
    for png in (root / "Annotations" / "480p" / "blackswan").glob("*.png"):
        ids |= set(np.unique(imread_indexed(png)).tolist())
    assert ids == {0, 1, 2}


def test_davis2016_masks_are_binary_0_255_grayscale(tmp_path):
    from PIL import Image

    root = generate("davis", tmp_path, **SMALL, davis_version=2016)
    assert lines(root / "ImageSets" / "2016" / "val.txt") == ["blackswan", "bmx-trees", "breakdance"]
    with Image.open(root / "Annotations" / "480p" / "blackswan" / "00000.png") as image:
        assert image.mode == "L"
        assert set(np.unique(np.array(image)).tolist()) == {0, 255}


def test_vot_mask_regions_decode_to_masks_whose_box_is_the_rectangle(datasets, tmp_path):
    mask_root = datasets("vot", vot_region="mask")
    rect_root = datasets("vot", vot_region="rectangle")
    seq = "bag"  # sequence index 2 has no absence event, so both modes render the same scene
    for mask_line, rect_line in zip(
        lines(mask_root / "sequences" / seq / "groundtruth.txt"),
        lines(rect_root / "sequences" / seq / "groundtruth.txt"),
    ):
        region = decode_region(mask_line, (128, 96))
        assert region["kind"] == "mask"
        assert region["bbox"] == mask_to_bbox(region["mask"]) == decode_region(rect_line)["bbox"]


def test_youtubevos_dense_valid_ground_truth_contains_the_sparse_annotations(datasets):
    year = datasets("youtubevos") / "2019"
    for png in (year / "valid" / "Annotations").glob("*/*.png"):
        sparse = imread_indexed(png)
        dense = imread_indexed(year / "valid_gt" / "Annotations" / png.parent.name / png.name)
        assert np.all((sparse == 0) | (sparse == dense))
        for obj in np.unique(sparse[sparse > 0]):
            assert mask_to_bbox(sparse == obj) == mask_to_bbox(dense == obj)


# ---------------------------------------------------------------- absence markers


def test_lasot_flags_mark_exactly_the_frames_with_a_zero_box(datasets):
    flagged = 0
    for folder in datasets("lasot").glob("*/*-*"):
        boxes = load_text(folder / "groundtruth.txt")
        absent = (load_text(folder / "full_occlusion.txt")[0] + load_text(folder / "out_of_view.txt")[0]) > 0
        assert np.array_equal(absent, boxes[:, 2] == 0)
        assert not absent[0]
        flagged += int(absent.sum())
    assert flagged > 0


def test_got10k_absence_cover_and_zero_boxes_agree(datasets):
    absent_frames = 0
    for folder in (datasets("got10k") / "val").glob("GOT-10k_*"):
        boxes = load_text(folder / "groundtruth.txt")
        absence = load_text(folder / "absence.label")[:, 0]
        cover = load_text(folder / "cover.label")[:, 0]
        assert np.array_equal(absence == 1, cover == 0)
        assert np.array_equal(absence == 1, boxes[:, 2] == 0)
        assert set(cover.tolist()) <= set(range(9))
        absent_frames += int(absence.sum())
    assert absent_frames > 0


def test_uav_marks_absent_frames_with_nan_lines(datasets):
    nan_lines = 0
    for path in (datasets("uav") / "anno" / "UAV123").glob("*.txt"):
        content = lines(path)
        assert content[0] != "NaN,NaN,NaN,NaN"
        nan_lines += content.count("NaN,NaN,NaN,NaN")
        assert np.isnan(load_text(path)).any(axis=1).sum() == content.count("NaN,NaN,NaN,NaN")
    assert nan_lines > 0


def test_davis_objects_disappear_from_some_pngs_but_not_the_first(datasets):
    root = datasets("davis")
    missing_somewhere = False
    for seq in lines(root / "ImageSets" / "2017" / "val.txt"):
        pngs = sorted((root / "Annotations" / "480p" / seq).glob("*.png"))
        first = set(np.unique(imread_indexed(pngs[0])).tolist())
        assert first == {0, 1, 2}
        missing_somewhere |= any(set(np.unique(imread_indexed(p)).tolist()) != first for p in pngs)
    assert missing_somewhere


@pytest.mark.parametrize("fmt", ["trackingnet", "nfs", "otb", "vot"])
def test_formats_without_absence_marker_always_show_the_target(datasets, fmt):
    for path, _ in _single_object_annotations(fmt, datasets(fmt)):
        boxes = load_text(path)
        assert np.all(boxes[:, 2] > 0) and np.all(boxes[:, 3] > 0)


def test_vot_mask_mode_marks_absence_with_an_empty_mask(datasets):
    all_lines = [
        line for p in datasets("vot", vot_region="mask").glob("sequences/*/groundtruth.txt") for line in lines(p)
    ]
    assert "m0,0,0,0,0" in all_lines


# ---------------------------------------------------------------- YouTube-VOS specifics


def test_youtubevos_valid_annotates_only_frames_where_objects_first_appear(datasets):
    year = datasets("youtubevos") / "2019"
    meta = json.loads((year / "valid" / "meta.json").read_text())["videos"]
    late = False
    for video, info in meta.items():
        starts = {obj["frames"][0] for obj in info["objects"].values()}
        assert {p.stem for p in (year / "valid" / "Annotations" / video).glob("*.png")} == starts
        late |= len(starts) > 1
    assert late


def test_youtubevos_frame_names_step_by_five_and_all_frames_fill_the_gaps(datasets):
    year = datasets("youtubevos") / "2019"
    offsets = set()
    for video in (year / "valid" / "JPEGImages").iterdir():
        numbers = sorted(int(p.stem) for p in video.glob("*.jpg"))
        assert np.all(np.diff(numbers) == 5) and len(numbers) == 16
        dense = sorted(int(p.stem) for p in (year / "valid_all_frames" / "JPEGImages" / video.name).glob("*.jpg"))
        assert dense == list(range(numbers[0], numbers[-1] + 1))
        offsets.add(numbers[0])
    assert 0 in offsets and len(offsets) > 1


def test_youtubevos_train_annotates_every_listed_frame(datasets):
    split = datasets("youtubevos") / "2019" / "train"
    meta = json.loads((split / "meta.json").read_text())["videos"]
    for video, info in meta.items():
        pngs = {p.stem for p in (split / "Annotations" / video).glob("*.png")}
        assert pngs == {p.stem for p in (split / "JPEGImages" / video).glob("*.jpg")}
        for obj_id, obj in info["objects"].items():
            for frame in obj["frames"]:
                assert (imread_indexed(split / "Annotations" / video / f"{frame}.png") == int(obj_id)).any()


def test_youtubevos_unseen_categories_occur_only_in_valid(datasets):
    year = datasets("youtubevos") / "2019"

    def categories(split):
        meta = json.loads((year / split / "meta.json").read_text())["videos"]
        return {o["category"] for v in meta.values() for o in v["objects"].values()}

    unseen = {"penguin", "turtle", "frog"}
    assert categories("valid") & unseen and not categories("train") & unseen


# ---------------------------------------------------------------- attributes and tables


@pytest.mark.parametrize(
    "fmt,file_name,key",
    [
        ("lasot", "LaSOT_attributes.json", "airplane-1"),
        ("uav", "UAV123_attributes.json", "bike1"),
        ("otb", "otb_attributes.json", "Basketball"),
    ],
)
def test_attribute_files_follow_the_benchmark_schema(datasets, fmt, file_name, key):
    data = json.loads((datasets(fmt) / file_name).read_text())
    assert len(data["att_name_short"]) == len(data["att_name_long"])
    assert set(data[key]) <= set(data["att_name_short"])


def test_lasot_attributes_match_the_flag_files(datasets):
    root = datasets("lasot")
    data = json.loads((root / "LaSOT_attributes.json").read_text())
    for folder in root.glob("*/*-*"):
        assert ("FOC" in data[folder.name]) == bool(load_text(folder / "full_occlusion.txt").any())
        assert ("OV" in data[folder.name]) == bool(load_text(folder / "out_of_view.txt").any())


def test_lasot_sequence_table_names_sequences_and_classes(datasets):
    table = json.loads((datasets("lasot") / "sequence_table.json").read_text())
    assert table["dataset"] == "lasot"
    assert table["sequences"][0] == {"name": "airplane-1", "object_class": "airplane"}


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path, fmt):
    options = {**SMALL, "num_sequences": 1, "num_frames": 10, "width": 64, "height": 48}
    first = tree_bytes(generate(fmt, tmp_path / "a", **options))
    assert first == tree_bytes(generate(fmt, tmp_path / "b", **options))
    assert first != tree_bytes(generate(fmt, tmp_path / "c", **{**options, "seed": options["seed"] + 1}))


# ---------------------------------------------------------------- VOT regions


def test_mask_rle_round_trips_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(100):
        h, w = rng.integers(1, 25, size=2)
        mask = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        region = decode_region(encode_mask(mask), (w, h))
        assert np.array_equal(region["mask"], mask)


def test_empty_mask_encodes_as_the_empty_region_and_decodes_to_zeros():
    assert encode_mask(np.zeros((5, 7), np.uint8)) == "m0,0,0,0,0"
    region = decode_region("m0,0,0,0,0", (7, 5))
    assert region["mask"].shape == (5, 7) and not region["mask"].any()
    assert region["bbox"] == [0.0, 0.0, 0.0, 0.0]


def test_mask_rle_starts_with_a_zero_run_over_the_tight_box():
    mask = np.zeros((6, 8), np.uint8)
    mask[2, 3:5] = 1
    mask[3, 4] = 1
    assert encode_mask(mask) == "m3,2,2,2,0,2,1,1"


def test_decode_region_recognises_rectangles_polygons_specials_and_nan():
    assert decode_region("1,2,3,4") == {"kind": "rectangle", "bbox": [1.0, 2.0, 3.0, 4.0]}
    polygon = decode_region("0,0,4,0,4,2,0,2")
    assert polygon["kind"] == "polygon" and polygon["bbox"] == [0.0, 0.0, 4.0, 2.0]
    assert decode_region("2")["code"] == 2
    assert decode_region("nan,nan,nan,nan")["kind"] == "unknown"


@pytest.mark.parametrize("line", ["1,2,3", "m1,2,3", "m0,0,2,2,9", "a,b,c,d", "", "7"])
def test_decode_region_rejects_malformed_lines_naming_the_place(line):
    with pytest.raises(DatasetError, match="groundtruth.txt line 4"):
        decode_region(line, (10, 10), where="groundtruth.txt line 4")


def test_make_full_size_pads_and_crops_at_right_and_bottom():
    mask = np.ones((3, 5), np.uint8)
    padded = make_full_size(mask, (6, 4))
    assert padded.shape == (4, 6) and padded[:3, :5].all() and padded.sum() == 15
    assert make_full_size(mask, (2, 2)).shape == (2, 2)


def test_rotated_polygon_at_angle_zero_has_the_mask_box():
    mask = np.zeros((20, 20), np.uint8)
    mask[4:9, 6:15] = 1
    mask[9, 7] = 1
    assert polygon_to_box(rotated_polygon(mask, 0.0).ravel()) == mask_to_bbox(mask)


def test_rotated_polygon_encloses_every_mask_pixel():
    import cv2

    mask = np.zeros((40, 40), np.uint8)
    cv2.ellipse(mask, (20, 18), (12, 5), 30, 0, 360, 1, -1)
    polygon = rotated_polygon(mask, np.deg2rad(30)).astype(np.float32)
    ys, xs = np.nonzero(mask)
    assert all(cv2.pointPolygonTest(polygon, (float(x) + 0.5, float(y) + 0.5), False) >= 0 for x, y in zip(xs, ys))


# ---------------------------------------------------------------- API and CLI


def test_generate_dataset_reports_the_setting_to_use(tmp_path):
    dataset = generate_dataset("youtubevos", tmp_path, **{**SMALL, "num_sequences": 1, "num_frames": 4})
    assert dataset.setting == "youtubevos_dir" and (dataset.setting_path / "2019").is_dir()


def test_unknown_format_or_option_is_rejected_by_name(tmp_path):
    with pytest.raises(UnknownNameError, match="lasott"):
        generate("lasott", tmp_path, 1, 4, 0)
    with pytest.raises(ValueError, match="colour"):
        generate("lasot", tmp_path, 1, 4, 0, colour="red")
    with pytest.raises(ValueError, match="num_frames"):
        generate("lasot", tmp_path, 1, 1, 0)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytracking_ext.synthetic", *args], capture_output=True, text=True)


def test_cli_writes_a_dataset_and_prints_the_export_line(tmp_path):
    result = _cli(
        "--format",
        "davis",
        "--davis-version",
        "2016",
        "--out",
        str(tmp_path),
        "--num-sequences",
        "1",
        "--num-frames",
        "3",
        "--width",
        "64",
        "--height",
        "48",
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    assert f"export PYTRACKING_DAVIS16_DIR={tmp_path.resolve()}" in result.stdout


@pytest.mark.parametrize(
    "args,word", [(["--format", "imagenet"], "imagenet"), (["--format", "lasot", "--num-frames", "1"], "num_frames")]
)
def test_cli_bad_arguments_give_one_line_error_and_exit_code_2(tmp_path, args, word):
    result = _cli(*args, "--out", str(tmp_path / "x"), "--no-progress")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and word in result.stderr


@pytest.mark.slow
def test_five_sequences_of_thirty_frames_take_a_few_seconds_of_cpu(tmp_path):
    import time

    # CPU time of this process, not wall time: other jobs on a shared machine must not fail it
    start = time.process_time()
    generate("lasot", tmp_path, 5, 30, 0, progress=False)
    assert time.process_time() - start < 10


def test_distractor_heavy_videos_hold_the_asked_number_of_look_alikes(tmp_path):
    from pytracking_ext.synthetic.scene import SceneConfig, make_scene

    config = SceneConfig(96, 64, 6, variant=2, distractors=3)  # variant 2 has none by default
    assert len(make_scene(np.random.default_rng(0), config).distractors) == 3
    assert len(make_scene(np.random.default_rng(0), SceneConfig(96, 64, 6, variant=2)).distractors) == 0


def test_a_negative_distractor_count_is_refused(tmp_path):
    with pytest.raises(ValueError, match="distractors must be an integer >= 0"):
        generate("davis", tmp_path / "d", 1, 4, 0, distractors=-1, progress=False)
