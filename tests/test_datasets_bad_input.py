"""Broken dataset input fails with one-line errors that name the file, setting or argument."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytracking_ext.datasets import get_dataset, get_dataset_attributes
from pytracking_ext.datasets.own_video import sequence_from_folder, sequence_from_video
from pytracking_ext.errors import DatasetError, SettingsError, TrackerInputError, UnknownNameError
from test_datasets import (
    make_davis,
    make_got10k,
    make_lasot,
    make_lasot_sequence,
    make_table_dataset,
    make_vot_workspace,
    make_youtubevos,
    otb_entries,
    uav_entries,
    write_attributes,
    write_frames,
    write_lines,
)


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_unknown_dataset_name_lists_known_keys(workspace):
    with pytest.raises(UnknownNameError) as err:
        get_dataset("lasott")
    assert "lasott" in one_line(err) and "lasot_extension_subset" in str(err.value) and "dv2017_val" in str(err.value)


def test_unset_root_setting_names_setting_and_variable(workspace):
    with pytest.raises(SettingsError) as err:
        get_dataset("lasot")
    assert "lasot_path" in one_line(err) and "PYTRACKING_LASOT_PATH" in str(err.value)


def test_setting_pointing_to_missing_folder_is_reported(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_OTB_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(SettingsError) as err:
        get_dataset("otb")
    assert "otb_path" in one_line(err) and "nowhere" in str(err.value)


def test_missing_root_argument_names_dataset_path(workspace, tmp_path):
    with pytest.raises(DatasetError) as err:
        get_dataset("uav", root=tmp_path / "missing")
    assert "--dataset_path" in one_line(err) and "missing" in str(err.value)


def test_missing_sequence_folder_is_named(workspace, tmp_path):
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=tmp_path)  # built-in list: airplane-1 comes first
    assert "airplane-1" in one_line(err)


def test_empty_sequence_folder_is_named(workspace, tmp_path):
    root = make_got10k(tmp_path, names=("v",), n=2)
    for p in (root / "val" / "v").glob("*.jpg"):
        p.unlink()
    with pytest.raises(DatasetError) as err:
        get_dataset("got10k_val", root=root)
    assert "no *.jpg frames" in one_line(err) and "val/v" in str(err.value)


def test_missing_frame_files_are_named(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=3)
    (root / "cat" / "cat-1" / "img" / "00000003.jpg").unlink()
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "00000003.jpg" in one_line(err)


def test_short_groundtruth_line_is_reported_with_line_number(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=3)
    write_lines(root / "cat/cat-1/groundtruth.txt", [[1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 4]])
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "groundtruth.txt" in one_line(err) and "line 2" in str(err.value)


def test_wrong_number_of_values_everywhere_is_reported(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=2)
    write_lines(root / "cat/cat-1/groundtruth.txt", [[1, 2, 3, 4, 5]] * 2)
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "expected 4" in one_line(err)


def test_text_in_a_number_field_is_reported(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=2)
    write_lines(root / "cat/cat-1/groundtruth.txt", [[1, 2, 3, 4], [1, "abc", 3, 4]])
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "groundtruth.txt" in one_line(err) and "abc" in str(err.value)


def test_fewer_groundtruth_lines_than_frames(workspace, tmp_path):
    root = make_got10k(tmp_path, names=("v",), n=3)
    write_lines(root / "val/v/groundtruth.txt", [[1, 2, 3, 4]] * 2)
    with pytest.raises(DatasetError) as err:
        get_dataset("got10k_val", root=root)
    assert "2 ground-truth lines for 3 frames" in one_line(err)


def test_more_groundtruth_lines_than_frames(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "otb", otb_entries()[1:])
    write_lines(root / "David/groundtruth_rect.txt", [[1, 2, 3, 4]] * 5)
    with pytest.raises(DatasetError) as err:
        get_dataset("otb", root=root)
    assert "more lines than frames" in one_line(err) and "David" in str(err.value)


def test_lasot_flag_file_of_wrong_length(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=3)
    (root / "cat/cat-1/out_of_view.txt").write_text("0,0")
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "out_of_view.txt" in one_line(err) and "2 flags for 3 frames" in str(err.value)


def test_nan_boxes_are_rejected_outside_uav(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "otb", otb_entries()[1:])
    write_lines(root / "David/groundtruth_rect.txt", [[1, 2, 3, 4], ["NaN"] * 4, [1, 2, 3, 4]])
    with pytest.raises(DatasetError) as err:
        get_dataset("otb", root=root)
    assert "NaN" in one_line(err) and "line 2" in str(err.value)


def test_nan_boxes_are_accepted_for_uav_but_not_at_frame_0(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "uav", uav_entries()[:1])
    write_lines(root / "anno/UAV123/bike1.txt", [["NaN"] * 4, [1, 2, 3, 4], [1, 2, 3, 4]])
    with pytest.raises(DatasetError) as err:
        get_dataset("uav", root=root)
    assert "init box of frame 0" in one_line(err) and "bike1.txt" in str(err.value)


def test_zero_size_boxes_are_allowed_after_frame_0(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=3)
    write_lines(root / "cat/cat-1/groundtruth.txt", [[1, 2, 3, 4], [0, 0, 0, 0], [1, 2, 3, 4]])
    assert get_dataset("lasot", root=root)[0].ground_truth_rect[1].tolist() == [0, 0, 0, 0]


def test_zero_size_init_box_is_rejected(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=2)
    write_lines(root / "cat/cat-1/groundtruth.txt", [[1, 2, 0, 4], [1, 2, 3, 4]])
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "init box of frame 0" in one_line(err) and "cat-1/groundtruth.txt" in str(err.value)


def test_empty_groundtruth_file_is_named(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=2)
    (root / "cat/cat-1/groundtruth.txt").write_text("\n")
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "empty" in one_line(err) and "groundtruth.txt" in str(err.value)


def test_unknown_attribute_lists_known_ones(workspace, tmp_path):
    root = make_lasot(tmp_path)
    write_attributes(root / "LaSOT_attributes.json", {"bird-2": ["FOC"], "airplane-1": []})
    with pytest.raises(UnknownNameError) as err:
        get_dataset_attributes("lasot", root=root, attribute="XYZ")
    assert "XYZ" in one_line(err) and "FOC (Full Occlusion)" in str(err.value)


def test_missing_attribute_file_names_the_file_and_dataspec_path(workspace, tmp_path):
    with pytest.raises(DatasetError) as err:
        get_dataset_attributes("lasot", root=make_lasot(tmp_path))
    assert "LaSOT_attributes.json" in one_line(err) and "dataspec_path" in str(err.value)


def test_bad_attribute_mode_is_named(workspace, tmp_path):
    with pytest.raises(DatasetError) as err:
        get_dataset_attributes("lasot", mode="medium", root=tmp_path)
    assert "mode" in one_line(err) and "medium" in str(err.value)


def test_sequence_table_for_another_dataset_is_rejected(workspace, tmp_path):
    root = make_table_dataset(tmp_path, "uav", uav_entries())
    with pytest.raises(DatasetError) as err:
        get_dataset("otb", root=root)
    assert "sequence_table.json" in one_line(err) and "'uav'" in str(err.value)


def test_sequence_table_entry_without_fields_is_named(workspace, tmp_path):
    (tmp_path / "sequence_table.json").write_text(json.dumps({"dataset": "uav", "sequences": [{"name": "uav_x"}]}))
    with pytest.raises(DatasetError) as err:
        get_dataset("uav", root=tmp_path)
    assert "uav_x" in one_line(err) and "startFrame" in str(err.value)


def test_vot_line_with_wrong_value_count(workspace, tmp_path):
    root = make_vot_workspace(tmp_path, names=("rect",))
    write_lines(root / "sequences/rect/groundtruth.txt", [[1, 2, 3, 4]] * 2 + [[1, 2, 3, 4, 5]])
    with pytest.raises(DatasetError) as err:
        get_dataset("vot", root=root)
    assert "groundtruth.txt line 3" in one_line(err)


def test_vot_nan_region_is_rejected(workspace, tmp_path):
    root = make_vot_workspace(tmp_path, names=("rect",))
    write_lines(root / "sequences/rect/groundtruth.txt", [[1, 2, 3, 4], ["nan"] * 4, [1, 2, 3, 4]])
    with pytest.raises(DatasetError) as err:
        get_dataset("vot", root=root)
    assert "line 2" in one_line(err)


def test_davis_init_frame_without_objects(workspace, tmp_path):
    from pytracking_ext.utils.io import imwrite_indexed

    root = make_davis(tmp_path, names=("v",), n=2)
    imwrite_indexed(root / "Annotations/480p/v/00000.png", np.zeros((24, 32), np.uint8))
    with pytest.raises(DatasetError) as err:
        get_dataset("dv2017_val", root=root)
    assert "00000.png" in one_line(err) and "no object" in str(err.value)


def test_davis_missing_split_list(workspace, tmp_path):
    with pytest.raises(DatasetError) as err:
        get_dataset("dv2017_val", root=tmp_path)
    assert "ImageSets/2017/val.txt" in one_line(err)


def test_youtubevos_start_frame_missing_from_mask(workspace, tmp_path):
    root = make_youtubevos(tmp_path)
    meta_path = root / "2019/valid/meta.json"
    meta = json.loads(meta_path.read_text())
    meta["videos"]["0a1b2c3d4e"]["objects"]["3"] = {"category": "x", "frames": ["00010"]}
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DatasetError) as err:
        get_dataset("yt2019_valid", root=root)
    assert "00010.png" in one_line(err) and "object 3" in str(err.value)


def test_youtubevos_corrupt_meta_json(workspace, tmp_path):
    root = make_youtubevos(tmp_path)
    (root / "2019/valid/meta.json").write_text("{not json")
    with pytest.raises(DatasetError) as err:
        get_dataset("yt2019_valid", root=root)
    assert "meta.json" in one_line(err)


def test_own_folder_needs_an_init_box_or_mask(tmp_path):
    write_frames(tmp_path, ["a.jpg"])
    with pytest.raises(TrackerInputError) as err:
        sequence_from_folder(tmp_path)
    assert "init_box" in one_line(err)


def test_own_folder_rejects_an_invalid_init_box(tmp_path):
    write_frames(tmp_path, ["a.jpg"])
    with pytest.raises(TrackerInputError) as err:
        sequence_from_folder(tmp_path, init_box=[1, 1, float("nan"), 4])
    assert "init_box" in one_line(err)


def test_own_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DatasetError) as err:
        sequence_from_folder(tmp_path, init_box=[1, 1, 4, 4])
    assert "no images" in one_line(err) and str(tmp_path) in str(err.value)


def test_missing_video_file_is_named(workspace, tmp_path):
    with pytest.raises(DatasetError) as err:
        sequence_from_video(tmp_path / "nope.mp4", init_box=[1, 1, 4, 4])
    assert "nope.mp4" in one_line(err)


def test_webcam_sequence_needs_max_frames(workspace):
    with pytest.raises(DatasetError) as err:
        sequence_from_video(0, init_box=[1, 1, 4, 4])
    assert "max_frames" in one_line(err)


def test_lasot_sequence_name_without_number(workspace, tmp_path):
    make_lasot_sequence(tmp_path, "cat-1", 2)
    (tmp_path / "sequence_table.json").write_text(json.dumps({"sequences": [{"name": "cat"}]}))
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=tmp_path)
    assert "'cat'" in one_line(err)
