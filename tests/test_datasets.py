"""Dataset loaders read each benchmark's official layout into Sequence objects (tiny generated copies)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytracking_ext.datasets import DATASETS, DatasetSpec, dataset_root_setting, get_dataset, get_dataset_attributes
from pytracking_ext.datasets.lasot_table import LASOT_TEST_NAMES
from pytracking_ext.datasets.nfs_table import NFS_TABLE
from pytracking_ext.datasets.otb_table import OTB_TABLE
from pytracking_ext.datasets.own_video import (
    FolderFrameSource,
    VideoFrameSource,
    open_frame_source,
    sequence_from_folder,
    sequence_from_video,
)
from pytracking_ext.datasets.uav_table import UAV_TABLE
from pytracking_ext.datasets.vot import VOT2018_NAMES
from pytracking_ext.evaluation.data import SequenceList
from pytracking_ext.settings import env_settings
from pytracking_ext.utils.io import imwrite_indexed, imwrite_rgb
from pytracking_ext.utils.vot_region import encode_mask

SIZE = (24, 32)  # (H, W) of every generated frame


# ---------------------------------------------------------------- builders (also used by the bad-input tests)


def write_frames(folder: Path, names) -> None:
    rng = np.random.default_rng(0)
    for name in names:
        imwrite_rgb(folder / name, rng.integers(0, 255, (*SIZE, 3), dtype=np.uint8))


def write_lines(path: Path, rows, sep: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(sep.join(str(v) for v in row) + "\n" for row in rows))


def boxes(n: int, start: int = 1):
    return [[start + i, 2, 10, 8] for i in range(n)]


def make_lasot_sequence(root: Path, name: str, n: int = 4, occlusion=None, out_of_view=None) -> None:
    cls = name.rsplit("-", 1)[0]
    folder = root / cls / name
    write_frames(folder / "img", [f"{i:08d}.jpg" for i in range(1, n + 1)])
    write_lines(folder / "groundtruth.txt", boxes(n))
    (folder / "full_occlusion.txt").write_text(",".join(map(str, occlusion or [0] * n)))
    (folder / "out_of_view.txt").write_text(",".join(map(str, out_of_view or [0] * n)))


def make_lasot(root: Path, names=("bird-2", "airplane-1"), n: int = 4, table: bool = True) -> Path:
    for name in names:
        make_lasot_sequence(root, name, n)
    if table:
        (root / "sequence_table.json").write_text(
            json.dumps(
                {"dataset": "lasot", "sequences": [{"name": nm, "object_class": nm.split("-")[0]} for nm in names]}
            )
        )
    return root


def make_got10k(
    root: Path,
    split: str = "val",
    names=("GOT-10k_Val_000002", "GOT-10k_Val_000001"),
    n: int = 3,
    first_only: bool = False,
) -> Path:
    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "list.txt").write_text("\n".join(names) + "\n")
    for name in names:
        # 10 frames when n > 9 would show whether the sort is numeric; 00000001.jpg style names
        write_frames(folder / name, [f"{i:08d}.jpg" for i in range(1, n + 1)])
        write_lines(folder / name / "groundtruth.txt", boxes(1 if first_only else n))
        (folder / name / "meta_info.ini").write_text(
            "[METAINFO]\nurl: x\nbegin: 0\nend: 0\nanno_fps: 10Hz\nobject_class: zebra\nmotion_class: walking\n"
        )
    return root


def make_trackingnet(root: Path, names=("seqB", "seqA"), n: int = 12) -> Path:
    for name in names:
        write_frames(root / "TEST" / "frames" / name, [f"{i}.jpg" for i in range(n)])
        write_lines(root / "TEST" / "anno" / f"{name}.txt", boxes(1))
    return root


def make_table_dataset(root: Path, dataset: str, entries, sep: str = ",", rows=None) -> Path:
    """Write images and annotations for ``sequence_table.json`` entries (UAV/NFS/OTB style)."""
    for e in entries:
        first = e["startFrame"]
        write_frames(root / e["path"], [f"{i:0{e['nz']}d}.{e['ext']}" for i in range(first, e["endFrame"] + 1)])
        count = e["endFrame"] - first + 1
        write_lines(root / e["anno_path"], rows if rows is not None else boxes(count), sep)
    (root / "sequence_table.json").write_text(json.dumps({"dataset": dataset, "sequences": entries}))
    return root


def uav_entries():
    return [
        {
            "name": "uav_bike1",
            "path": "data_seq/UAV123/bike1",
            "startFrame": 1,
            "endFrame": 3,
            "nz": 6,
            "ext": "jpg",
            "anno_path": "anno/UAV123/bike1.txt",
            "object_class": "vehicle",
        },
        {
            "name": "uav_bird1_2",
            "path": "data_seq/UAV123/bird1",
            "startFrame": 4,
            "endFrame": 6,
            "nz": 6,
            "ext": "jpg",
            "anno_path": "anno/UAV123/bird1_2.txt",
            "object_class": "bird",
        },
    ]


def otb_entries():
    return [
        {
            "name": "Tiger1",
            "path": "Tiger1/img",
            "startFrame": 1,
            "endFrame": 8,
            "nz": 4,
            "ext": "jpg",
            "anno_path": "Tiger1/groundtruth_rect.txt",
            "object_class": "other",
            "initOmit": 5,
        },
        {
            "name": "David",
            "path": "David/img",
            "startFrame": 300,
            "endFrame": 302,
            "nz": 4,
            "ext": "jpg",
            "anno_path": "David/groundtruth_rect.txt",
            "object_class": "face",
            "initOmit": 0,
        },
    ]


def nfs_entries():
    return [
        {
            "name": "nfs_bee",
            "path": "sequences/bee",
            "startFrame": 1,
            "endFrame": 3,
            "nz": 5,
            "ext": "jpg",
            "anno_path": "anno/nfs_bee.txt",
            "object_class": "bird",
        }
    ]


def make_vot_workspace(root: Path, names=("rect", "poly"), n: int = 3) -> Path:
    seqs = root / "sequences"
    seqs.mkdir(parents=True, exist_ok=True)
    (seqs / "list.txt").write_text("\n".join(names) + "\n")
    for name in names:
        folder = seqs / name
        write_frames(folder / "color", [f"{i:08d}.jpg" for i in range(1, n + 1)])
        (folder / "sequence").write_text("channels.color=color/%08d.jpg\nfps=30\nname=" + name + "\n")
        if name == "poly":
            write_lines(folder / "groundtruth.txt", [[2, 3, 12, 1, 14, 9, 4, 11]] * n)
        else:
            write_lines(folder / "groundtruth.txt", boxes(n))
    return root


def make_davis(root: Path, version: str = "2017", split: str = "val", names=("dogs", "cat"), n: int = 3) -> Path:
    (root / "ImageSets" / version).mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / version / f"{split}.txt").write_text("\n".join(names) + "\n")
    for name in names:
        write_frames(root / "JPEGImages" / "480p" / name, [f"{i:05d}.jpg" for i in range(n)])
        for i in range(n):
            label = np.zeros(SIZE, np.uint8)
            label[2:6, 3 + i : 9 + i] = 1
            if i < n - 1:  # object 2 leaves before the last frame
                label[10:20, 15:25] = 2
            imwrite_indexed(root / "Annotations" / "480p" / name / f"{i:05d}.png", label)
    return root


def make_youtubevos(root: Path, dense_gt: bool = False) -> Path:
    """One video whose object 1 starts at frame 00010 and object 2 at 00015 (frames every 5)."""
    base = root / "2019" / "valid"
    video = "0a1b2c3d4e"
    stems = [f"{i:05d}" for i in range(0, 25, 5)]
    write_frames(base / "JPEGImages" / video, [s + ".jpg" for s in stems])
    first = np.zeros(SIZE, np.uint8)
    first[2:6, 3:9] = 1
    second = first.copy()
    second[10:20, 15:25] = 2
    imwrite_indexed(base / "Annotations" / video / "00010.png", first)
    imwrite_indexed(base / "Annotations" / video / "00015.png", second)
    meta = {
        "videos": {
            video: {
                "objects": {
                    "1": {"category": "cat", "frames": stems[2:]},
                    "2": {"category": "dog", "frames": stems[3:]},
                }
            }
        }
    }
    (base / "meta.json").write_text(json.dumps(meta))
    if dense_gt:
        for s in stems:
            label = second if s >= "00015" else (first if s == "00010" else np.zeros(SIZE, np.uint8))
            imwrite_indexed(root / "2019" / "valid_gt" / "Annotations" / video / f"{s}.png", label)
    return root


# ---------------------------------------------------------------- registry


def test_registry_has_the_pytracking_keys():
    expected = {
        "lasot",
        "lasot_train",
        "lasot_extension_subset",
        "got10k_test",
        "got10k_val",
        "got10k_ltrval",
        "trackingnet",
        "uav",
        "nfs",
        "otb",
        "vot",
        "dv2017_val",
        "dv2016_val",
        "dv2016_train",
        "dv2017_test_dev",
        "yt2019_valid",
        "yt2019_valid_all",
        "yt2019_test",
        "yt2018_valid_all",
        "yt2019_valid_gt",
    }
    assert expected <= set(DATASETS.names())


def test_dataset_root_setting_names_the_settings_field():
    assert dataset_root_setting("lasot") == "lasot_path"
    assert dataset_root_setting("dv2016_val") == "davis16_dir"
    assert dataset_root_setting("yt2019_valid") == "youtubevos_dir"


def test_root_comes_from_the_setting_when_no_root_is_given(workspace, tmp_path, monkeypatch):
    root = make_lasot(tmp_path / "lasot")
    monkeypatch.setenv("PYTRACKING_LASOT_PATH", str(root))
    assert get_dataset("lasot").names() == ["bird-2", "airplane-1"]


def test_get_dataset_concatenates_named_datasets(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_LASOT_PATH", str(make_lasot(tmp_path / "lasot")))
    monkeypatch.setenv("PYTRACKING_TRACKINGNET_PATH", str(make_trackingnet(tmp_path / "tn")))
    ds = get_dataset("lasot", "trackingnet")
    assert isinstance(ds, SequenceList)
    assert ds.names() == ["bird-2", "airplane-1", "seqA", "seqB"]


def test_plugin_dataset_registered_as_a_spec_is_loaded(workspace, tmp_path):
    from pytracking_ext.evaluation.data import Sequence

    def loader(root, settings, n):
        return SequenceList([Sequence(f"p{i}", ["a.jpg"], "plugin", np.array([[0, 0, 1, 1.0]])) for i in range(n)])

    DATASETS.register("plugin_test", DatasetSpec(loader, None, {"n": 2}))
    try:
        assert get_dataset("plugin_test").names() == ["p0", "p1"]
    finally:
        DATASETS._items.pop("plugin_test")


# ---------------------------------------------------------------- LaSOT


def test_lasot_frames_follow_groundtruth_lines(workspace, tmp_path):
    seq = get_dataset("lasot", root=make_lasot(tmp_path, n=4))["bird-2"]
    assert len(seq.frames) == 4 and seq.frames[0].endswith("bird/bird-2/img/00000001.jpg")
    assert seq.ground_truth_rect.shape == (4, 4) and seq.dataset == "lasot" and seq.object_class == "bird"
    assert seq.frame_info(0) == {"init_bbox": [1.0, 2.0, 10.0, 8.0]}


def test_lasot_target_visible_combines_both_flag_files(workspace, tmp_path):
    make_lasot_sequence(tmp_path, "cat-1", 4, occlusion=[0, 1, 0, 0], out_of_view=[0, 0, 0, 1])
    (tmp_path / "sequence_table.json").write_text(json.dumps({"sequences": [{"name": "cat-1"}]}))
    seq = get_dataset("lasot", root=tmp_path)[0]
    assert seq.target_visible.tolist() == [True, False, True, False]


def test_lasot_builtin_test_list_has_280_sequences_in_registry_order():
    assert len(LASOT_TEST_NAMES) == 280 and len(set(LASOT_TEST_NAMES)) == 280
    assert LASOT_TEST_NAMES[:5] == ("airplane-1", "airplane-9", "airplane-13", "airplane-15", "basketball-1")
    assert LASOT_TEST_NAMES[-1] == "volleyball-19"


def test_lasot_train_is_every_sequence_outside_the_test_split(workspace, tmp_path):
    for name in ("airplane-1", "airplane-2", "airplane-10", "bear-3"):
        make_lasot_sequence(tmp_path, name, 2)
    assert get_dataset("lasot_train", root=tmp_path).names() == ["airplane-2", "airplane-10", "bear-3"]


def test_lasot_extension_subset_scans_class_folders(workspace, tmp_path):
    for name in ("wingsuit-10", "wingsuit-2", "atv-1"):
        make_lasot_sequence(tmp_path, name, 2)
    ds = get_dataset("lasot_extension_subset", root=tmp_path)
    assert ds.names() == ["atv-1", "wingsuit-2", "wingsuit-10"]
    assert {s.dataset for s in ds} == {"lasot_extension_subset"}


# ---------------------------------------------------------------- attributes


def write_attributes(path: Path, per_sequence: dict) -> None:
    data = {"att_name_short": ["FOC", "IV"], "att_name_long": ["Full Occlusion", "Illumination Variation"]}
    data.update(per_sequence)
    path.write_text(json.dumps(data))


def test_attributes_group_sequences_by_short_code(workspace, tmp_path):
    root = make_lasot(tmp_path)
    write_attributes(root / "LaSOT_attributes.json", {"bird-2": ["FOC"], "airplane-1": ["FOC", "IV"]})
    groups = get_dataset_attributes("lasot", root=root)
    assert {k: v.names() for k, v in groups.items()} == {"FOC": ["bird-2", "airplane-1"], "IV": ["airplane-1"]}
    assert get_dataset("lasot", root=root)["airplane-1"].attributes == ["FOC", "IV"]


def test_attributes_long_mode_and_long_name_selection(workspace, tmp_path):
    root = make_lasot(tmp_path)
    write_attributes(root / "LaSOT_attributes.json", {"bird-2": ["FOC"], "airplane-1": ["IV"]})
    assert set(get_dataset_attributes("lasot", mode="long", root=root)) == {"Full Occlusion", "Illumination Variation"}
    only = get_dataset_attributes("lasot", root=root, attribute="illumination variation")
    assert {k: v.names() for k, v in only.items()} == {"IV": ["airplane-1"]}


def test_attribute_file_is_also_found_in_dataspec_path(workspace, tmp_path, monkeypatch):
    root = make_table_dataset(tmp_path / "uav", "uav", uav_entries())
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    write_attributes(spec_dir / "UAV123_attributes.json", {"bike1": ["IV"], "bird1_2": []})
    monkeypatch.setenv("PYTRACKING_DATASPEC_PATH", str(spec_dir))
    groups = get_dataset_attributes("uav", root=root)
    assert groups["IV"].names() == ["uav_bike1"]  # keyed without the uav_ prefix


def test_dataset_without_attributes_returns_itself_under_its_name(workspace, tmp_path):
    groups = get_dataset_attributes("trackingnet", root=make_trackingnet(tmp_path))
    assert list(groups) == ["trackingnet"] and len(groups["trackingnet"]) == 2


# ---------------------------------------------------------------- GOT-10k and TrackingNet


def test_got10k_val_follows_list_order_with_all_boxes(workspace, tmp_path):
    ds = get_dataset("got10k_val", root=make_got10k(tmp_path, n=3))
    assert ds.names() == ["GOT-10k_Val_000002", "GOT-10k_Val_000001"]
    assert ds[0].ground_truth_rect.shape == (3, 4) and ds[0].object_class == "zebra" and ds[0].dataset == "got10k"


def test_got10k_test_accepts_only_the_first_box(workspace, tmp_path):
    root = make_got10k(tmp_path, "test", names=("GOT-10k_Test_000001",), n=3, first_only=True)
    seq = get_dataset("got10k_test", root=root)[0]
    assert len(seq.frames) == 3 and seq.ground_truth_rect.shape == (1, 4)


def test_got10k_frames_are_sorted_by_integer_stem(workspace, tmp_path):
    root = make_got10k(tmp_path, names=("v",), n=3)
    folder = root / "val" / "v"
    for p in folder.glob("*.jpg"):
        p.rename(folder / f"{int(p.stem)}.jpg")  # unpadded names expose a lexical sort
    write_frames(folder, ["10.jpg"])
    (folder / "2.jpg").rename(folder / "9.jpg")
    write_lines(folder / "groundtruth.txt", boxes(4))
    assert [Path(f).name for f in get_dataset("got10k_val", root=root)[0].frames] == [
        "1.jpg",
        "3.jpg",
        "9.jpg",
        "10.jpg",
    ]


def test_got10k_ltrval_selects_train_sequences_by_index(workspace, tmp_path):
    root = make_got10k(tmp_path, "train", names=("GOT-10k_Train_000001", "GOT-10k_Train_000002"), n=2)
    (root / "got10k_val_split.txt").write_text("1\n")
    assert get_dataset("got10k_ltrval", root=root).names() == ["GOT-10k_Train_000002"]


def test_trackingnet_sorts_names_and_frames_numerically(workspace, tmp_path):
    ds = get_dataset("trackingnet", root=make_trackingnet(tmp_path, n=12))
    assert ds.names() == ["seqA", "seqB"]
    assert [Path(f).name for f in ds[0].frames][9:] == ["9.jpg", "10.jpg", "11.jpg"]
    assert ds[0].ground_truth_rect.shape == (1, 4)


# ---------------------------------------------------------------- UAV123, NFS, OTB


def test_uav_builtin_table_has_123_sequences_from_91_videos():
    assert len(UAV_TABLE) == 123 and len({row[1] for row in UAV_TABLE}) == 91
    assert ("bird1_2", "bird1", 775, 1477, "bird") in UAV_TABLE


def test_uav_table_entry_ranges_and_nan_rows(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "uav", uav_entries())
    write_lines(root / "anno/UAV123/bike1.txt", [[1, 2, 3, 4], ["NaN"] * 4, [1, 2, 3, 4]])
    ds = get_dataset("uav", root=root)
    assert ds.names() == ["uav_bike1", "uav_bird1_2"]
    assert np.isnan(ds[0].ground_truth_rect[1]).all()
    assert [Path(f).name for f in ds[1].frames] == ["000004.jpg", "000005.jpg", "000006.jpg"]
    assert ds[1].object_class == "bird"


def test_nfs_reads_tab_separated_annotations(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "nfs", nfs_entries(), sep="\t")
    seq = get_dataset("nfs", root=root)[0]
    assert seq.name == "nfs_bee" and seq.ground_truth_rect.tolist()[1] == [2, 2, 10, 8]


def test_nfs_builtin_table_has_100_sequences():
    assert len(NFS_TABLE) == 100 and ("Gymnastics", 368, False) in NFS_TABLE and ("Skydiving", 196, True) in NFS_TABLE


def test_otb_init_omit_drops_frames_and_rows_together(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "otb", otb_entries())
    seq = get_dataset("otb", root=root)["Tiger1"]
    assert [Path(f).name for f in seq.frames] == ["0006.jpg", "0007.jpg", "0008.jpg"]
    assert seq.ground_truth_rect[0].tolist() == [6, 2, 10, 8]


def test_otb_late_start_and_whitespace_annotations(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "otb", otb_entries()[1:], sep=" ")
    seq = get_dataset("otb", root=root)["David"]
    assert Path(seq.frames[0]).name == "0300.jpg" and seq.ground_truth_rect.shape == (3, 4)


def test_otb_builtin_table_keeps_the_quirk_entries():
    table = {row[0]: row for row in OTB_TABLE}
    assert len(table) == 100
    assert table["Tiger1"][7] == 5 and table["David"][2:4] == (300, 770)
    assert table["Human4_2"][6] == "Human4/groundtruth_rect.2.txt" and table["Board"][4] == 5
    assert table["KiteSurf"][1] == "KiteSurf/jpg" and table["KiteSurf"][5] == "png"


# ---------------------------------------------------------------- VOT


def test_vot_workspace_reads_rectangles_and_polygons_as_union_boxes(workspace, tmp_path):
    ds = get_dataset("vot", root=make_vot_workspace(tmp_path))
    assert ds.names() == ["rect", "poly"]
    assert ds["poly"].ground_truth_rect[0].tolist() == [2, 1, 12, 10]
    assert len(ds["rect"].frames) == 3 and ds["rect"].dataset == "vot"


def test_vot_mask_regions_give_tight_boxes_and_a_full_size_init_mask(workspace, tmp_path):
    root = make_vot_workspace(tmp_path, names=("masked",))
    mask = np.zeros(SIZE, np.uint8)
    mask[4:9, 6:16] = 1
    folder = root / "sequences" / "masked"
    (folder / "groundtruth.txt").write_text(f"{encode_mask(mask)}\n{encode_mask(mask)}\nm0,0,0,0,0\n")
    seq = get_dataset("vot", root=root)[0]
    assert seq.ground_truth_rect[0].tolist() == [6, 4, 10, 5]
    assert seq.ground_truth_rect[2].tolist() == [0, 0, 0, 0]  # absent target: zero-size box
    info = seq.frame_info(0)
    assert info["init_mask"].shape == SIZE and int(info["init_mask"].sum()) == 50


def test_vot_multi_object_stack_reads_one_file_per_object(workspace, tmp_path):
    root = make_vot_workspace(tmp_path, names=("stack",))
    folder = root / "sequences" / "stack"
    (folder / "groundtruth.txt").unlink()
    write_lines(folder / "groundtruth_1.txt", boxes(3))
    write_lines(folder / "groundtruth_2.txt", boxes(3, start=5))
    seq = get_dataset("vot", root=root)[0]
    assert seq.object_ids == ["1", "2"] and seq.multiobj_mode
    assert seq.frame_info(0)["init_bbox"]["2"] == [5.0, 2.0, 10.0, 8.0]


def test_vot_without_list_uses_the_vot2018_names(workspace, tmp_path):
    assert len(VOT2018_NAMES) == 60
    for name in VOT2018_NAMES:
        write_frames(tmp_path / name / "color", ["00000001.jpg", "00000002.jpg"])
        write_lines(tmp_path / name / "groundtruth.txt", [[1, 1, 20, 1, 20, 10, 1, 10]] * 2)
    ds = get_dataset("vot", root=tmp_path)
    assert ds.names() == list(VOT2018_NAMES)
    assert ds[0].ground_truth_rect[0].tolist() == [1, 1, 19, 9]


# ---------------------------------------------------------------- DAVIS


def test_davis2017_multi_object_sequence(workspace, tmp_path):
    ds = get_dataset("dv2017_val", root=make_davis(tmp_path, n=3))
    assert ds.names() == ["dogs", "cat"]
    seq = ds["dogs"]
    assert seq.object_ids == ["1", "2"] and seq.multiobj_mode and seq.dataset == "DAVIS"
    assert seq.ground_truth_rect["1"][1].tolist() == [4, 2, 6, 4]  # inclusive extent
    assert seq.ground_truth_rect["2"][2].tolist() == [-1, -1, -1, -1]  # object 2 left
    assert seq.ground_truth_seg[0].endswith("dogs/00000.png")
    info = seq.frame_info(0)
    assert info["init_object_ids"] == ["1", "2"] and info["sequence_object_ids"] == ["1", "2"]
    assert set(np.unique(info["init_mask"])) == {0, 1, 2}


def test_davis_metadata_cache_lives_in_cache_dir_not_in_dataset(workspace, tmp_path):
    root = make_davis(tmp_path / "davis")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    get_dataset("dv2017_val", root=root)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert list(Path(env_settings().cache_dir).rglob("*.json"))


def test_davis_cache_is_refreshed_when_a_mask_changes(workspace, tmp_path):
    root = make_davis(tmp_path, names=("dogs",))
    get_dataset("dv2017_val", root=root)
    label = np.zeros(SIZE, np.uint8)
    label[0:3, 0:3] = 1
    imwrite_indexed(root / "Annotations/480p/dogs/00001.png", label)
    assert get_dataset("dv2017_val", root=root)[0].ground_truth_rect["1"][1].tolist() == [0, 0, 3, 3]


def test_davis_test_dev_has_only_first_frame_ground_truth(workspace, tmp_path):
    root = make_davis(tmp_path, split="test-dev", names=("v",), n=3)
    for i in (1, 2):
        (root / f"Annotations/480p/v/{i:05d}.png").unlink()
    seq = get_dataset("dv2017_test_dev", root=root)[0]
    assert seq.ground_truth_seg[1:] == [None, None]
    assert seq.ground_truth_rect["1"][1].tolist() == [-1, -1, -1, -1]


def test_davis2016_maps_255_to_object_1(workspace, tmp_path):
    root = tmp_path / "d16"
    (root / "ImageSets/2016").mkdir(parents=True)
    (root / "ImageSets/2016/val.txt").write_text("swan\n")
    write_frames(root / "JPEGImages/480p/swan", ["00000.jpg", "00001.jpg"])
    from PIL import Image

    for i in range(2):
        mask = np.zeros(SIZE, np.uint8)
        mask[5:10, 5:12] = 255
        (root / "Annotations/480p/swan").mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask, mode="L").save(root / f"Annotations/480p/swan/{i:05d}.png")
    seq = get_dataset("dv2016_val", root=root)[0]
    assert seq.object_ids == ["1"] and seq.ground_truth_rect["1"][0].tolist() == [5, 5, 7, 5]
    assert set(np.unique(seq.frame_info(0)["init_mask"])) == {0, 1}


def test_davis2016_real_clips(workspace, shared_dir):
    ds = get_dataset("dv2016_val", root=shared_dir / "data" / "davis2016")
    assert ds.names() == ["blackswan", "car-shadow", "kite-surf", "motocross-jump"]
    assert [len(s) for s in ds] == [50, 40, 50, 40]
    swan = ds["blackswan"]
    assert swan.object_ids == ["1"]
    mask = swan.frame_info(0)["init_mask"]
    assert mask.shape == (480, 854) and set(np.unique(mask)) == {0, 1}
    x, y, w, h = swan.init_data[0]["bbox"]["1"]
    ys, xs = np.nonzero(mask)
    assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)


def test_dv2016_train_reads_the_2016_train_list(workspace, tmp_path):
    root = make_davis(tmp_path, version="2016", split="train", names=("goat", "libby"))
    assert get_dataset("dv2016_train", root=root).names() == ["goat", "libby"]


def test_davis2016_training_clips(workspace, shared_dir):
    ds = get_dataset("dv2016_train", root=shared_dir / "data" / "davis2016_train")
    assert len(ds) == 12 and "paragliding-launch" in ds.names()
    assert not {"kite-surf", "motocross-jump"} & set(ds.names())  # the validation clips stay out


# ---------------------------------------------------------------- YouTube-VOS


def test_youtubevos_drops_frames_before_the_first_object(workspace, tmp_path):
    seq = get_dataset("yt2019_valid", root=make_youtubevos(tmp_path))[0]
    assert [Path(f).stem for f in seq.frames] == ["00010", "00015", "00020"]
    assert [Path(f).stem for f in seq.dropped_frames] == ["00000", "00005"]
    assert seq.dataset == "YouTubeVOS" and seq.object_ids == ["1", "2"]


def test_youtubevos_late_objects_get_their_own_init_entry(workspace, tmp_path):
    seq = get_dataset("yt2019_valid", root=make_youtubevos(tmp_path))[0]
    assert sorted(seq.init_data) == [0, 1]
    assert seq.init_data[0]["object_ids"] == ["1"] and seq.init_data[1]["object_ids"] == ["2"]
    assert seq.init_data[1]["bbox"]["2"] == [15.0, 10.0, 10.0, 10.0]
    assert seq.frame_info(1)["init_object_ids"] == ["2"] and seq.frame_info(2) == {}


def test_youtubevos_valid_ground_truth_is_sparse(workspace, tmp_path):
    seq = get_dataset("yt2019_valid", root=make_youtubevos(tmp_path))[0]
    assert seq.ground_truth_seg[2] is None
    assert seq.ground_truth_rect["2"][0].tolist() == [-1, -1, -1, -1]


def test_youtubevos_all_frames_reads_the_all_frames_folder(workspace, tmp_path):
    root = make_youtubevos(tmp_path)
    write_frames(root / "2019/valid_all_frames/JPEGImages/0a1b2c3d4e", [f"{i:05d}.jpg" for i in range(8, 17)])
    seq = get_dataset("yt2019_valid_all", root=root)[0]
    assert Path(seq.frames[0]).stem == "00010" and len(seq.frames) == 7 and len(seq.dropped_frames) == 2
    assert sorted(seq.init_data) == [0, 5]


def test_youtubevos_dense_gt_key_scores_every_frame(workspace, tmp_path):
    seq = get_dataset("yt2019_valid_gt", root=make_youtubevos(tmp_path, dense_gt=True))[0]
    assert all(p is not None and "valid_gt" in p for p in seq.ground_truth_seg)
    assert seq.ground_truth_rect["2"][2].tolist() == [15, 10, 10, 10]


# ---------------------------------------------------------------- own data


def test_sequence_from_folder_sorts_naturally_and_uses_init_box(tmp_path):
    write_frames(tmp_path, ["frame10.png", "frame2.png", "frame1.png"])
    seq = sequence_from_folder(tmp_path, init_box=[1, 2, 5, 6])
    assert [Path(f).name for f in seq.frames] == ["frame1.png", "frame2.png", "frame10.png"]
    assert seq.frame_info(0) == {"init_bbox": [1.0, 2.0, 5.0, 6.0]}


def test_sequence_from_folder_derives_the_box_from_a_mask(tmp_path):
    write_frames(tmp_path / "imgs", ["a.jpg", "b.jpg"])
    mask = np.zeros(SIZE, np.uint8)
    mask[3:7, 4:10] = 1
    seq = sequence_from_folder(tmp_path / "imgs", init_mask=mask)
    info = seq.frame_info(0)
    assert info["init_bbox"] == [4.0, 3.0, 6.0, 4.0] and int(info["init_mask"].sum()) == 24


def write_video(path: Path, n: int = 5) -> None:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (SIZE[1], SIZE[0]))
    for _ in range(n):
        frame = np.zeros((*SIZE, 3), np.uint8)
        frame[:, :, 2] = 200  # red in BGR
        writer.write(frame)
    writer.release()


def test_video_frame_source_yields_rgb_frames(tmp_path):
    write_video(tmp_path / "v.avi")
    source = open_frame_source(tmp_path / "v.avi")
    assert isinstance(source, VideoFrameSource) and len(source) == 5
    frames = list(source)
    assert [f[0] for f in frames] == list(range(5))
    image = frames[0][2]
    assert image.shape == (*SIZE, 3) and image.dtype == np.uint8 and image[..., 0].mean() > 150 > image[..., 2].mean()


def test_folder_frame_source_is_lazy_and_ordered(tmp_path):
    write_frames(tmp_path, ["2.jpg", "10.jpg"])
    source = open_frame_source(tmp_path)
    assert isinstance(source, FolderFrameSource) and len(source) == 2
    assert [name for _, name, _ in source] == ["2", "10"]


def test_webcam_source_has_no_known_length():
    source = VideoFrameSource.__new__(VideoFrameSource)
    source.source, source.max_frames, source._length = 0, None, None
    assert source.num_frames is None
    with pytest.raises(TypeError):
        len(source)


def test_sequence_from_video_decodes_frames_once(workspace, tmp_path):
    write_video(tmp_path / "clip.avi", 4)
    seq = sequence_from_video(tmp_path / "clip.avi", init_box=[1, 1, 5, 5], frames_dir=tmp_path / "frames")
    assert seq.name == "clip" and len(seq.frames) == 4 and all(Path(f).is_file() for f in seq.frames)
    stamp = Path(seq.frames[0]).stat().st_mtime_ns
    again = sequence_from_video(tmp_path / "clip.avi", init_box=[1, 1, 5, 5], frames_dir=tmp_path / "frames")
    assert Path(again.frames[0]).stat().st_mtime_ns == stamp


# ---------------------------------------------------------------- round trips through the synthetic generator


def generated(tmp_path: Path, fmt: str, **options) -> Path:
    synthetic = pytest.importorskip("pytracking_ext.synthetic", reason="synthetic generator not available")
    return synthetic.generate(
        fmt, tmp_path / fmt, num_sequences=2, num_frames=6, seed=3, width=48, height=40, progress=False, **options
    )


def test_generated_lasot_round_trip(workspace, tmp_path):
    root = generated(tmp_path, "lasot")
    table = json.loads((root / "sequence_table.json").read_text())["sequences"]
    ds = get_dataset("lasot", root=root)
    assert ds.names() == [e["name"] for e in table]
    for seq in ds:
        folder = Path(seq.frames[0]).parents[1]
        hidden = [int(v) for v in (folder / "full_occlusion.txt").read_text().strip().split(",")]
        away = [int(v) for v in (folder / "out_of_view.txt").read_text().strip().split(",")]
        assert seq.target_visible.tolist() == [not (h or a) for h, a in zip(hidden, away)]
        assert len(seq.frames) == 6
    groups = get_dataset_attributes("lasot", root=root)
    attributes = json.loads((root / "LaSOT_attributes.json").read_text())
    assert list(groups) == attributes["att_name_short"]


@pytest.mark.parametrize(
    "key,fmt",
    [
        ("got10k_val", "got10k"),
        ("got10k_test", "got10k"),
        ("trackingnet", "trackingnet"),
        ("nfs", "nfs"),
        ("otb", "otb"),
    ],
)
def test_generated_box_datasets_round_trip(workspace, tmp_path, key, fmt):
    ds = get_dataset(key, root=generated(tmp_path, fmt))
    assert len(ds) == 2
    for seq in ds:
        assert len(seq.frames) == 6 and all(Path(f).is_file() for f in seq.frames)
        assert seq.ground_truth_rect.shape[0] in (1, 6)
        assert seq.frame_info(0)["init_bbox"][2] > 0


def test_generated_uav_round_trip_keeps_nan_rows_and_attributes(workspace, tmp_path):
    root = generated(tmp_path, "uav")
    ds = get_dataset("uav", root=root)
    for seq in ds:
        anno = [ln for ln in Path(root, "anno/UAV123", seq.name[4:] + ".txt").read_text().splitlines() if ln]
        assert np.isnan(seq.ground_truth_rect).any(axis=1).tolist() == ["NaN" in ln for ln in anno]
    attributes = json.loads((root / "UAV123_attributes.json").read_text())
    assert [seq.attributes for seq in ds] == [attributes[seq.name[4:]] for seq in ds]


@pytest.mark.parametrize("region", ["rectangle", "polygon", "mask"])
def test_generated_vot_round_trip(workspace, tmp_path, region):
    ds = get_dataset("vot", root=generated(tmp_path, "vot", vot_region=region))
    seq = ds[0]
    assert len(seq.frames) == 6 and seq.ground_truth_rect.shape == (6, 4)
    if region == "mask":
        from pytracking_ext.utils.boxes import mask_to_bbox

        info = seq.frame_info(0)
        assert info["init_mask"].shape == (40, 48)
        assert mask_to_bbox(info["init_mask"]) == seq.ground_truth_rect[0].tolist()


@pytest.mark.parametrize("version,key", [(2017, "dv2017_val"), (2016, "dv2016_val")])
def test_generated_davis_round_trip_boxes_match_masks(workspace, tmp_path, version, key):
    from pytracking_ext.utils.boxes import mask_to_bbox
    from pytracking_ext.utils.io import imread_indexed

    ds = get_dataset(key, root=generated(tmp_path, "davis", davis_version=version))
    for seq in ds:
        for i, png in enumerate(seq.ground_truth_seg):
            labels = imread_indexed(png) if png else np.zeros((40, 48), np.uint8)
            if version == 2016:
                labels = (labels > 0).astype(np.uint8)
            for oid in seq.object_ids:
                expected = mask_to_bbox(labels == int(oid), empty=None) or [-1, -1, -1, -1]
                assert seq.ground_truth_rect[oid][i].tolist() == expected


def test_generated_youtubevos_round_trip_init_frames_follow_meta(workspace, tmp_path):
    root = generated(tmp_path, "youtubevos")
    meta = json.loads((root / "2019/valid/meta.json").read_text())["videos"]
    for key in ("yt2019_valid", "yt2019_valid_all", "yt2019_valid_gt"):
        for seq in get_dataset(key, root=root):
            stems = [Path(f).stem for f in seq.frames]
            starts = {}
            for oid, obj in meta[seq.name]["objects"].items():
                starts.setdefault(obj["frames"][0], []).append(oid)
            assert {stems[i]: sorted(d["object_ids"]) for i, d in seq.init_data.items()} == {
                s: sorted(ids) for s, ids in starts.items()
            }
            assert stems[0] == min(starts)
            if key == "yt2019_valid_gt":
                assert all(p is not None for p in seq.ground_truth_seg)
