"""Missing annotation files and empty sequence folders are one-line DatasetErrors naming the file or folder."""

from __future__ import annotations

import shutil

import pytest

from pytracking_ext.datasets import get_dataset
from pytracking_ext.datasets.common import read_boxes
from pytracking_ext.errors import DatasetError
from test_datasets import make_got10k, make_lasot


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_got10k_sequence_without_groundtruth_names_the_file(workspace, tmp_path):
    root = make_got10k(tmp_path, names=("v",), n=2)
    (root / "val/v/groundtruth.txt").unlink()
    with pytest.raises(DatasetError) as err:
        get_dataset("got10k_val", root=root)
    assert "val/v/groundtruth.txt" in one_line(err) and "not found" in str(err.value)


def test_got10k_test_split_without_groundtruth_names_the_file(workspace, tmp_path):
    root = make_got10k(tmp_path, split="test", names=("t",), n=2, first_only=True)
    (root / "test/t/groundtruth.txt").unlink()
    with pytest.raises(DatasetError) as err:
        get_dataset("got10k_test", root=root)
    assert "test/t/groundtruth.txt" in one_line(err)


def test_empty_lasot_sequence_folder_is_named(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=2)
    folder = root / "cat" / "cat-1"
    shutil.rmtree(folder)
    folder.mkdir()
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "cat/cat-1" in one_line(err) and "empty" in str(err.value)


def test_lasot_sequence_without_groundtruth_names_the_file(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=2)
    (root / "cat/cat-1/groundtruth.txt").unlink()
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "cat-1/groundtruth.txt" in one_line(err) and "not found" in str(err.value)


def test_groundtruth_that_is_a_folder_is_named(tmp_path):
    (tmp_path / "groundtruth.txt").mkdir()
    with pytest.raises(DatasetError) as err:
        read_boxes(tmp_path / "groundtruth.txt")
    assert "groundtruth.txt" in one_line(err)


def test_unreadable_groundtruth_is_named(tmp_path, monkeypatch):
    path = tmp_path / "groundtruth.txt"
    path.write_text("1,2,3,4\n")
    real_read_text = type(path).read_text

    def denied(self, *args, **kwargs):  # what a file without read permission gives (root ignores chmod)
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(type(path), "read_text", denied)
    with pytest.raises(DatasetError) as err:
        read_boxes(path)
    assert "groundtruth.txt" in one_line(err) and "Permission denied" in str(err.value)


def test_lasot_flag_file_that_is_not_text_is_named(workspace, tmp_path):
    root = make_lasot(tmp_path, names=("cat-1",), n=2)
    (root / "cat/cat-1/full_occlusion.txt").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DatasetError) as err:
        get_dataset("lasot", root=root)
    assert "full_occlusion.txt" in one_line(err) and "not a text file" in str(err.value)


def test_vot_groundtruth_that_is_not_text_is_named(workspace, tmp_path):
    from test_datasets import make_vot_workspace

    root = make_vot_workspace(tmp_path, names=("rect",))
    (root / "sequences/rect/groundtruth.txt").write_bytes(b"\xff\xfe\x00\x81" * 8)
    with pytest.raises(DatasetError) as err:
        get_dataset("vot", root=root)
    assert "rect/groundtruth.txt" in one_line(err) and "not a text file" in str(err.value)
