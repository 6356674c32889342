"""Data layer of the segmentation plugins: label tables, Cityscapes and CamVid clip loaders, augmentation."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pytracking_ext.errors import DatasetError, UnknownNameError
from pytracking_ext.utils.io import imread_indexed, imread_rgb
from segmentation_plugins.data import (
    CAMVID,
    CITYSCAPES,
    AugmentParams,
    CamVidClips,
    CamVidFrame,
    CityscapesClips,
    ClipAugment,
    camvid_sequences,
    camvid_to_train_ids,
    cityscapes_to_train_ids,
    consecutive_runs,
    get_label_set,
    to_tensors,
)
from segmentation_plugins.data.camvid import parse_stem
from segmentation_plugins.data.labels import CITYSCAPES_ID_TO_TRAINID, CITYSCAPES_LABELS
from segmentation_plugins.synthetic import generate_camvid, generate_cityscapes
from segmentation_plugins.synthetic.formats import write_label_png

SIZE = (64, 32)


@pytest.fixture(scope="module")
def cityscapes_root(tmp_path_factory) -> Path:
    return generate_cityscapes(
        tmp_path_factory.mktemp("cs") / "cityscapes", videos=2, frames=20, size=SIZE, seed=0, split="val"
    )


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory) -> Path:
    return generate_camvid(
        tmp_path_factory.mktemp("cv") / "camvid", videos=2, frames=6, size=SIZE, seed=0, split="train"
    )


@pytest.fixture
def cityscapes_copy(cityscapes_root, tmp_path) -> Path:
    """A private copy to break on purpose."""
    return Path(shutil.copytree(cityscapes_root, tmp_path / "copy"))


@pytest.fixture
def camvid_copy(camvid_root, tmp_path) -> Path:
    return Path(shutil.copytree(camvid_root, tmp_path / "copy"))


# -- labels ------------------------------------------------------------------------------------


def test_cityscapes_table_matches_cityscapesscripts():
    cs_labels = pytest.importorskip("cityscapesscripts.helpers.labels")
    for label in cs_labels.labels:
        if label.id >= 0:
            assert CITYSCAPES_ID_TO_TRAINID[label.id] == label.trainId, label.name
    train = sorted((lab for lab in cs_labels.labels if 0 <= lab.trainId < 255), key=lambda lab: lab.trainId)
    assert CITYSCAPES.names == tuple(lab.name for lab in train)
    assert CITYSCAPES.colors == tuple(tuple(lab.color) for lab in train)
    assert len(CITYSCAPES_LABELS) == 34


def test_cityscapes_label_ids_map_to_train_ids_with_ignore():
    label_ids = np.array([[7, 8, 0, 1], [33, 29, 26, 23]], np.uint8)
    expected = np.array([[0, 1, 255, 255], [18, 255, 13, 10]])
    result = cityscapes_to_train_ids(label_ids)
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, expected)


def test_cityscapes_values_above_33_raise_naming_the_source():
    with pytest.raises(DatasetError, match=r"x_gtFine_labelIds\.png: value 255 is not a Cityscapes labelId"):
        cityscapes_to_train_ids(np.array([[7, 255]]), source="x_gtFine_labelIds.png")


def test_camvid_void_maps_to_ignore_and_bad_values_raise():
    np.testing.assert_array_equal(camvid_to_train_ids(np.arange(12)), list(range(11)) + [255])
    with pytest.raises(DatasetError, match="value 12 is not a CamVid class id"):
        camvid_to_train_ids(np.array([0, 12]))


def test_label_sets_are_registered_by_dataset_name():
    assert get_label_set("cityscapes") is CITYSCAPES and get_label_set("camvid") is CAMVID
    assert (CITYSCAPES.num_classes, CAMVID.num_classes) == (19, 11)
    assert CITYSCAPES.ignore_index == CAMVID.ignore_index == 255
    assert CAMVID.names[4] == "pavement" and CAMVID.colors[4] == (60, 40, 222)
    np.testing.assert_array_equal(CAMVID.colorize(np.array([[3, 255]])), [[[128, 64, 128], [0, 0, 0]]])
    with pytest.raises(UnknownNameError, match="known label sets: camvid, cityscapes"):
        get_label_set("kitti")


# -- Cityscapes ----------------------------------------------------------------------------------


def test_cityscapes_clip_ends_at_the_annotated_frame(cityscapes_root):
    dataset = CityscapesClips(cityscapes_root, "val", clip_length=4)
    assert len(dataset) == 2
    sample = dataset[0]
    snippet = dataset.snippets[0]
    assert sample["frames"].shape == (4, SIZE[1], SIZE[0], 3) and sample["frames"].dtype == np.uint8
    np.testing.assert_array_equal(sample["frame_numbers"], np.arange(snippet.frame - 3, snippet.frame + 1))
    assert snippet.frame == snippet.frame_numbers[19] and len(snippet.frame_numbers) == 20
    np.testing.assert_array_equal(sample["frames"][-1], imread_rgb(snippet.frame_path(snippet.frame)))
    assert sample["name"] == snippet.label_path.name.replace("_gtFine_labelIds.png", "")


def test_cityscapes_label_is_train_ids_with_ignored_hood(cityscapes_root):
    label = CityscapesClips(cityscapes_root, "val", clip_length=1)[1]["label"]
    assert label.dtype == np.int64 and label.shape == (SIZE[1], SIZE[0])
    values = set(np.unique(label))
    assert values <= set(range(19)) | {255}
    assert {0, 10, 255} <= values  # road, sky, and the ego-vehicle hood (labelId 1) as ignore
    assert (label[-1] == 255).all()  # bottom row is the hood


def test_cityscapes_resize_keeps_label_values(cityscapes_root):
    sample = CityscapesClips(cityscapes_root, "val", clip_length=2, size=(32, 16))[0]
    assert sample["frames"].shape == (2, 16, 32, 3) and sample["label"].shape == (16, 32)
    assert set(np.unique(sample["label"])) <= set(range(19)) | {255}


def test_cityscapes_reads_precomputed_train_id_labels(cityscapes_copy):
    for path in (cityscapes_copy / "gtFine").rglob("*_gtFine_labelIds.png"):
        expected = cityscapes_to_train_ids(imread_indexed(path))
        write_label_png(Path(str(path).replace("labelIds", "labelTrainIds")), expected)
        path.unlink()
    dataset = CityscapesClips(cityscapes_copy, "val", clip_length=2, label_kind="labelTrainIds")
    assert {0, 255} <= set(np.unique(dataset[0]["label"]))


def test_cityscapes_clip_longer_than_the_snippet_start_names_the_missing_frame(cityscapes_root):
    with pytest.raises(DatasetError, match=r"_leftImg8bit\.png: frame not found \(clip of 21 frames"):
        CityscapesClips(cityscapes_root, "val", clip_length=21)


def test_cityscapes_missing_folder_is_named(cityscapes_copy):
    shutil.rmtree(cityscapes_copy / "leftImg8bit_sequence")
    with pytest.raises(DatasetError, match=r"leftImg8bit_sequence/val: Cityscapes video frames folder not found"):
        CityscapesClips(cityscapes_copy, "val")
    with pytest.raises(DatasetError, match="nowhere: Cityscapes root folder not found"):
        CityscapesClips(cityscapes_copy / "nowhere", "val")


def test_cityscapes_missing_label_names_the_expected_file(cityscapes_copy):
    label = sorted((cityscapes_copy / "gtFine" / "val").rglob("*.png"))[0]
    label.unlink()
    with pytest.raises(DatasetError, match=f"{label.name}: label not found for the snippet starting at"):
        CityscapesClips(cityscapes_copy, "val")


def test_cityscapes_sequence_may_hold_several_snippets(cityscapes_copy):
    """Like frankfurt in val: one <city>_<seq> with labelled snippets at different frame numbers."""
    first, second = CityscapesClips(cityscapes_copy, "val", clip_length=1).snippets
    offset = first.frame + 1000 - second.frame
    for number in second.frame_numbers:
        second.frame_path(number).rename(first.frame_path(number + offset))
    second.label_path.rename(
        first.label_path.parent / f"{first.city}_{first.sequence}_{second.frame + offset:06d}_gtFine_labelIds.png"
    )
    dataset = CityscapesClips(cityscapes_copy, "val", clip_length=4)
    assert [(s.city, s.sequence, s.frame) for s in dataset.snippets] == [
        (first.city, first.sequence, first.frame),
        (first.city, first.sequence, first.frame + 1000),
    ]
    assert all(len(s.frame_numbers) == 20 for s in dataset.snippets)
    assert dataset[1]["frame_numbers"][-1] == first.frame + 1000


def test_cityscapes_missing_clip_frame_is_named(cityscapes_copy):
    snippet = CityscapesClips(cityscapes_copy, "val", clip_length=3).snippets[1]
    missing = snippet.frame_path(snippet.frame - 2)
    missing.unlink()
    CityscapesClips(cityscapes_copy, "val", clip_length=2)  # shorter clips do not need it
    with pytest.raises(DatasetError, match=f"{missing.name}: frame not found"):
        CityscapesClips(cityscapes_copy, "val", clip_length=3)


def test_cityscapes_corrupt_png_is_named_when_read(cityscapes_copy):
    dataset = CityscapesClips(cityscapes_copy, "val", clip_length=2)
    broken = dataset.snippets[0].frame_path(dataset.snippets[0].frame - 1)
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match=f"{broken.name}: cannot decode image"):
        dataset[0]
    dataset.snippets[1].label_path.write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=f"{dataset.snippets[1].label_path.name}: cannot read mask"):
        dataset[1]


# -- CamVid --------------------------------------------------------------------------------------


def test_camvid_clips_are_consecutive_labelled_frames(camvid_root):
    dataset = CamVidClips(camvid_root, "train", clip_length=3)
    assert len(dataset) == 2 * (6 - 3 + 1)
    for index in range(len(dataset)):
        clip = dataset.clips[index]
        assert len({f.sequence for f in clip}) == 1
        assert np.all(np.diff([f.frame for f in clip]) == 2)
    sample = dataset[0]
    assert sample["frames"].shape == (3, SIZE[1], SIZE[0], 3) and sample["label"].dtype == np.int64
    assert 255 in sample["label"] and set(np.unique(sample["label"])) <= set(range(11)) | {255}
    np.testing.assert_array_equal(sample["frames"][-1], imread_rgb(dataset.clips[0][-1].image))


def test_camvid_all_labels_gives_one_label_per_frame(camvid_root):
    sample = CamVidClips(camvid_root, "train", clip_length=3, all_labels=True, size=(32, 16))[1]
    assert sample["labels"].shape == (3, 16, 32)
    np.testing.assert_array_equal(sample["labels"][-1], sample["label"])


def _frames(sequence: str, numbers: list[int]) -> list[CamVidFrame]:
    return [CamVidFrame(Path(f"{sequence}_{n:05d}.png"), Path(f"{sequence}_{n:05d}.png"), sequence, n) for n in numbers]


def test_consecutive_runs_split_at_sequence_changes_and_large_steps():
    frames = _frames("A", [8, 0, 2, 4, 10]) + _frames("B", [0, 2])
    runs = consecutive_runs(frames, max_frame_step=2)
    assert [[(f.sequence, f.frame) for f in run] for run in runs] == [
        [("A", 0), ("A", 2), ("A", 4)],
        [("A", 8), ("A", 10)],
        [("B", 0), ("B", 2)],
    ]
    assert [len(run) for run in consecutive_runs(frames, max_frame_step=None)] == [5, 2]


def test_camvid_stem_parsing_handles_letter_prefixed_frame_numbers():
    assert parse_stem("0016E5_07959") == ("0016E5", 7959)
    assert parse_stem("Seq05VD_f00930") == ("Seq05VD", 930)
    with pytest.raises(ValueError, match="not a CamVid frame name"):
        parse_stem("nonumber")


def test_camvid_sequences_stream_frames_in_time_order(camvid_copy):
    lines = (camvid_copy / "train.txt").read_text().splitlines()
    (camvid_copy / "train.txt").write_text("\n".join(reversed(lines)) + "\n")
    sequences = camvid_sequences(camvid_copy, "train")
    assert [s.name for s in sequences] == ["SYN001", "SYN000"]  # order of first appearance in the list
    items = list(sequences[1])
    assert [item["frame"] for item in items] == sorted(item["frame"] for item in items)
    assert [item["new_run"] for item in items] == [True] + [False] * 5
    assert items[0]["image"].shape == (SIZE[1], SIZE[0], 3) and items[0]["label"].dtype == np.int64


def test_camvid_missing_list_and_annotation_are_named(camvid_copy):
    annotation = sorted((camvid_copy / "trainannot").iterdir())[2]
    annotation.unlink()
    with pytest.raises(DatasetError, match=f"{annotation.name}: label not found \\(listed in train.txt line 3\\)"):
        CamVidClips(camvid_copy, "train")
    with pytest.raises(DatasetError, match=r"val\.txt: split list not found"):
        CamVidClips(camvid_copy, "val")


def test_camvid_corrupt_annotation_is_named_when_read(camvid_copy):
    dataset = CamVidClips(camvid_copy, "train", clip_length=2)
    dataset.clips[0][-1].annotation.write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=f"{dataset.clips[0][-1].annotation.name}: cannot read mask"):
        dataset[0]


def test_camvid_too_few_consecutive_frames_is_an_error(camvid_root):
    with pytest.raises(DatasetError, match="no clips of 7 consecutive labelled frames"):
        CamVidClips(camvid_root, "train", clip_length=7)


def test_shared_camvid_clips_exist_only_in_0016E5_at_15_hz(shared_dir):
    root = shared_dir / "data" / "camvid"
    val = CamVidClips(root, "val", clip_length=4)
    assert len(val) == 101 - 3
    assert {f.sequence for clip in val.clips for f in clip} == {"0016E5"}
    assert all(np.all(np.diff([f.frame for f in clip]) == 2) for clip in val.clips)
    with pytest.raises(DatasetError, match="longest run: 1 frames"):
        CamVidClips(root, "train", clip_length=2)  # train is labelled at 1 Hz only
    sample = val[len(val) - 1]
    assert sample["frames"].shape == (4, 360, 480, 3)
    np.testing.assert_array_equal(sample["frame_numbers"], [8153, 8155, 8157, 8159])
    assert set(np.unique(sample["label"])) <= set(range(11)) | {255}


def test_shared_camvid_one_hz_clips_stay_within_sequences(shared_dir):
    train = CamVidClips(shared_dir / "data" / "camvid", "train", clip_length=3, max_frame_step=31)
    for clip in train.clips:
        assert len({f.sequence for f in clip}) == 1
        assert set(np.diff([f.frame for f in clip])) <= {29, 30, 31}


def test_shared_camvid_names_agree_with_frames_csv(shared_dir):
    root = shared_dir / "data" / "camvid"
    with open(root / "frames.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(parse_stem(Path(r["image"]).stem) == (r["sequence"], int(r["frame"])) for r in rows)


# -- augmentation ----------------------------------------------------------------------------------


def _ramp_sample(length: int = 3, height: int = 12, width: int = 16) -> dict:
    """Frame t = base + 10 t; labels derived from the base pattern, so one geometry explains all."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = (xx * 3 + yy * 5) % 200 + 20
    frames = np.stack([np.repeat((base + 10 * t)[..., None], 3, axis=2) for t in range(length)]).astype(np.uint8)
    labels = np.stack([(base % 7) for _ in range(length)]).astype(np.int64)
    return {"frames": frames, "label": labels[-1].copy(), "labels": labels, "name": "x"}


def test_augmentation_moves_all_frames_and_labels_identically():
    sample = _ramp_sample()
    out = ClipAugment().apply(sample, AugmentParams(flip=True, shift=(2, -1)))
    frames, label = out["frames"].astype(int), out["label"]
    covered = label != 255
    assert covered.sum() == (16 - 2) * (12 - 1)
    assert (label[:, :2] == 255).all() and (label[-1] == 255).all()  # shifted-in border is ignore
    assert (frames[:, ~covered] == 0).all()  # ... and black in the images
    for t in range(3):
        assert (frames[t][covered] - frames[0][covered] == 10 * t).all()
        np.testing.assert_array_equal(out["labels"][t], label)
    expected = np.flip(sample["label"], axis=1)[1:, :-2]
    np.testing.assert_array_equal(label[:-1, 2:], expected)


def test_augmentation_scale_and_crop_pad_with_ignore():
    sample = _ramp_sample(height=12, width=16)
    augment = ClipAugment(flip_prob=0.0, max_shift=0, scale_range=(0.5, 0.5), crop_size=(10, 8))
    out = augment(sample, np.random.default_rng(0))
    assert out["frames"].shape == (3, 8, 10, 3) and out["label"].shape == (8, 10)
    assert out["augment"]["scale"] == 0.5
    x0, y0, _, _ = out["augment"]["crop"]
    assert x0 <= 0 and y0 <= 0  # the 8x6 scaled clip sits inside the 10x8 crop
    inside = np.zeros((8, 10), bool)
    inside[-y0 : -y0 + 6, -x0 : -x0 + 8] = True
    assert (out["label"][~inside] == 255).all() and (out["label"][inside] != 255).all()
    assert set(np.unique(out["label"][inside])) <= set(np.unique(sample["label"]))


def test_augmentation_is_reproducible_under_torch_seed():
    sample = _ramp_sample()
    augment = ClipAugment(max_shift=3, scale_range=(0.8, 1.2), crop_size=(12, 10))
    torch.manual_seed(7)
    first = augment(sample)
    torch.manual_seed(7)
    second = augment(sample)
    np.testing.assert_array_equal(first["frames"], second["frames"])
    np.testing.assert_array_equal(first["label"], second["label"])


def test_to_tensors_gives_float_frames_channels_first(cityscapes_root):
    sample = to_tensors(CityscapesClips(cityscapes_root, "val", clip_length=2)[0])
    assert sample["frames"].shape == (2, 3, SIZE[1], SIZE[0]) and sample["frames"].dtype == torch.float32
    assert 0.0 <= float(sample["frames"].min()) and float(sample["frames"].max()) <= 1.0
    assert sample["label"].dtype == torch.int64


def test_clips_batch_with_the_default_collate(cityscapes_root):
    loader = torch.utils.data.DataLoader(
        CityscapesClips(cityscapes_root, "val", clip_length=2, transform=ClipAugment()), batch_size=2
    )
    batch = to_tensors(next(iter(loader)))
    assert batch["frames"].shape == (2, 2, 3, SIZE[1], SIZE[0]) and batch["label"].shape == (2, SIZE[1], SIZE[0])
