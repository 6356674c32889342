"""The synthetic street-video generator: file layouts, determinism, output safety, motion, command line."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking_ext.utils.io import imread_indexed, imread_rgb
from segmentation_plugins.data.labels import CITYSCAPES_NAME_TO_ID
from segmentation_plugins.synthetic import generate, generate_camvid, generate_cityscapes
from segmentation_plugins.synthetic.__main__ import main
from segmentation_plugins.synthetic.formats import CAMVID_IDS, CITYSCAPES_IDS
from segmentation_plugins.synthetic.street import CLASS_NAMES

CS_SMALL = dict(videos=2, frames=20, size=(96, 48), seed=1, split="train,val")
CV_SMALL = dict(videos=2, frames=5, size=(64, 48), seed=1, split="val", label_step=2)
FRAME_NAME = re.compile(r"^(?P<city>[a-z]+)_(?P<seq>\d{6})_(?P<frame>\d{6})_leftImg8bit\.png$")
LABEL_NAME = re.compile(r"^(?P<city>[a-z]+)_(?P<seq>\d{6})_(?P<frame>\d{6})_gtFine_labelIds\.png$")


@pytest.fixture(scope="module")
def cityscapes_root(tmp_path_factory) -> Path:
    return generate_cityscapes(tmp_path_factory.mktemp("cs") / "cityscapes", **CS_SMALL)


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory) -> Path:
    return generate_camvid(tmp_path_factory.mktemp("cv") / "camvid", **CV_SMALL)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_cityscapes_layout_has_snippets_and_one_label_at_the_20th_frame(cityscapes_root):
    for split in ("train", "val"):
        frames = sorted((cityscapes_root / "leftImg8bit_sequence" / split).glob("*/*"))
        labels = sorted((cityscapes_root / "gtFine" / split).glob("*/*"))
        assert len(frames) == 2 * 20 and len(labels) == 2
        snippets: dict[tuple[str, str], list[int]] = {}
        for path in frames:
            match = FRAME_NAME.match(path.name)
            assert match and path.parent.name == match["city"], path
            snippets.setdefault((match["city"], match["seq"]), []).append(int(match["frame"]))
        for path in labels:
            match = LABEL_NAME.match(path.name)
            assert match and path.parent.name == match["city"], path
            numbers = sorted(snippets[match["city"], match["seq"]])
            assert numbers == list(range(numbers[0], numbers[0] + 20))  # consecutive frame numbers
            assert int(match["frame"]) == numbers[19]


def test_cityscapes_labels_are_single_channel_label_ids_of_the_frame_size(cityscapes_root):
    allowed = {
        CITYSCAPES_NAME_TO_ID[n]
        for n in (
            "road",
            "sidewalk",
            "building",
            "pole",
            "traffic sign",
            "vegetation",
            "sky",
            "person",
            "car",
            "ego vehicle",
        )
    }
    for label_path in (cityscapes_root / "gtFine").rglob("*.png"):
        raw = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
        assert raw.ndim == 2 and raw.dtype == np.uint8
        assert set(np.unique(raw)) <= allowed
        assert {7, 23, 1} <= set(np.unique(raw))  # road, sky and the ignored ego-vehicle hood
        frame = (
            label_path.parents[3]
            / "leftImg8bit_sequence"
            / label_path.relative_to(label_path.parents[2]).parent
            / label_path.name.replace("gtFine_labelIds", "leftImg8bit")
        )
        assert imread_rgb(frame).shape[:2] == raw.shape == (48, 96)


def test_camvid_layout_lists_every_frame_with_segnet_class_ids(camvid_root):
    lines = (camvid_root / "val.txt").read_text().splitlines()
    assert len(lines) == 2 * 5
    csv_rows = (camvid_root / "frames.csv").read_text().splitlines()
    assert csv_rows[0] == "split,image,annotation,sequence,frame" and len(csv_rows) == 11
    numbers: dict[str, list[int]] = {}
    for line, row in zip(lines, csv_rows[1:]):
        image, annotation = line.split()
        assert image.startswith("val/") and annotation.startswith("valannot/")
        assert Path(image).name == Path(annotation).name
        split, csv_image, csv_annotation, sequence, frame = row.split(",")
        assert (split, csv_image, csv_annotation) == ("val", image, annotation)
        assert Path(image).stem == f"{sequence}_{int(frame):05d}"
        numbers.setdefault(sequence, []).append(int(frame))
        label = imread_indexed(camvid_root / annotation)
        assert label.shape == imread_rgb(camvid_root / image).shape[:2] == (48, 64)
        assert label.max() <= 11 and 11 in label  # the hood is void
    assert all(np.all(np.diff(v) == 2) for v in numbers.values())


def test_class_tables_cover_every_internal_class():
    assert len(CITYSCAPES_IDS) == len(CAMVID_IDS) == len(CLASS_NAMES)
    assert CITYSCAPES_IDS[CLASS_NAMES.index("car")] == CITYSCAPES_NAME_TO_ID["car"]
    assert CAMVID_IDS[CLASS_NAMES.index("ego vehicle")] == 11


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path, camvid_root):
    again = generate_camvid(tmp_path / "again", **CV_SMALL)
    assert tree_bytes(again) == tree_bytes(camvid_root)
    other = generate_camvid(tmp_path / "other", **{**CV_SMALL, "seed": 2})
    assert tree_bytes(other) != tree_bytes(camvid_root)


def test_non_empty_output_is_refused_without_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_camvid(out, videos=1, frames=2, size=(32, 32))


def test_overwrite_replaces_the_generated_split_and_keeps_other_files(tmp_path):
    out = generate_camvid(tmp_path / "out", videos=2, frames=2, size=(32, 32), split="train")
    (out / "notes.txt").write_text("keep me")
    generate_camvid(out, videos=1, frames=2, size=(32, 32), split="train", seed=5, overwrite=True)
    assert len(list((out / "train").iterdir())) == 2  # the second video's files are gone
    assert len((out / "train.txt").read_text().splitlines()) == 2
    assert (out / "notes.txt").read_text() == "keep me"


def test_cityscapes_needs_the_annotated_frame_inside_the_snippet(tmp_path):
    with pytest.raises(ValueError, match="annotated_index 19"):
        generate_cityscapes(tmp_path / "x", videos=1, frames=10, size=(32, 32))
    with pytest.raises(ValueError, match="at most 19 frames before and 10 after"):
        generate_cityscapes(tmp_path / "x", videos=1, frames=31, size=(32, 32))
    short = generate_cityscapes(tmp_path / "y", videos=1, frames=3, size=(32, 32), annotated_index=2)
    assert len(list((short / "gtFine" / "train").rglob("*_gtFine_labelIds.png"))) == 1


def test_content_moves_and_optical_flow_can_follow_it(tmp_path):
    root = generate_cityscapes(tmp_path / "flow", videos=1, frames=2, size=(256, 128), seed=4, annotated_index=1)
    paths = sorted((root / "leftImg8bit_sequence" / "train").rglob("*.png"))
    first, second = (cv2.cvtColor(imread_rgb(p), cv2.COLOR_RGB2GRAY) for p in paths)
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(first, second, None)
    grid_x, grid_y = np.meshgrid(np.arange(256, dtype=np.float32), np.arange(128, dtype=np.float32))
    # Backward warp of frame t+1 by the t -> t+1 flow should recreate frame t much better than t+1 itself
    # (away from the borders, where content enters and leaves the view).
    warped = cv2.remap(
        second, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    inner = (slice(12, -24), slice(16, -16))
    still_error = np.abs(first.astype(float) - second)[inner].mean()
    warped_error = np.abs(first.astype(float) - warped)[inner].mean()
    assert still_error > 2.0  # the content moves
    assert np.abs(flow[inner]).mean() > 0.5
    assert warped_error < 0.6 * still_error


def test_command_line_writes_a_dataset(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "--format",
            "camvid",
            "--out",
            str(out),
            "--videos",
            "1",
            "--frames",
            "2",
            "--size",
            "32x24",
            "--split",
            "test",
            "--no-progress",
        ]
    )
    assert code == 0
    assert "wrote camvid" in capsys.readouterr().out
    assert len((out / "test.txt").read_text().splitlines()) == 2
    assert imread_rgb(next((out / "test").iterdir())).shape == (24, 32, 3)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--size", "32by24"], "--size: expected AxB such as 512x256"),
        (["--videos", "0"], "videos must be"),
        (["--size", "8x8"], "at least 16"),
    ],
)
def test_command_line_rejects_bad_arguments_in_one_line(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--format", "cityscapes", "--out", str(tmp_path / "bad"), "--no-progress", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_command_line_refuses_non_empty_output(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit):
        main(["--format", "camvid", "--out", str(tmp_path), "--frames", "1", "--no-progress"])
    assert "--overwrite" in capsys.readouterr().err


def test_unknown_format_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="known formats: cityscapes, camvid"):
        generate("kitti", tmp_path / "x")
