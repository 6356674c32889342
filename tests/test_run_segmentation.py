"""``python -m segmentation_plugins.run_segmentation``: LMANet end to end on generated CamVid-layout data."""

import json

import pytest
import torch

from ltr_ext.admin.model_constructor import model_constructor
from segmentation_plugins.data import CAMVID
from segmentation_plugins.lmanet import build_lmanet
from segmentation_plugins.run_segmentation import main
from segmentation_plugins.synthetic import generate_camvid


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid")
    generate_camvid(root, videos=1, frames=5, size=(64, 48), seed=1, split="val")
    return root


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    net = model_constructor(build_lmanet)(backbone="erfnet", memory_size=2, window=3, num_classes=11)
    path = tmp_path_factory.mktemp("nets") / "lmanet.pth.tar"
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, path)
    return path


def _run(camvid_root, checkpoint, out, *extra):
    return main(
        [
            "lmanet",
            "lite0_camvid",
            "--dataset",
            "camvid",
            "--root",
            str(camvid_root),
            "--out",
            str(out),
            "--set",
            f"net_path={str(checkpoint)!r}",
            "--set",
            "input_size=None",
            "--no-progress",
            *extra,
        ]
    )


def test_benchmark_run_writes_results_with_every_class(camvid_root, checkpoint, tmp_path, capsys):
    assert _run(camvid_root, checkpoint, tmp_path / "out", "--save-predictions") == 0
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    assert result["frames"] == result["scored_frames"] == 5
    assert list(result["class_iou"]) == list(CAMVID.names)
    assert 0 <= result["miou"] <= 100 and result["fps"] > 0
    assert len(list((tmp_path / "out" / "predictions").glob("*.png"))) == 5
    assert "mIoU" in capsys.readouterr().out


def test_memory_size_can_change_at_inference(camvid_root, checkpoint, tmp_path):
    assert _run(camvid_root, checkpoint, tmp_path / "out", "--set", "memory_size=1") == 0
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    assert result["overrides"]["memory_size"] == "1"


def test_clip_mode_scores_one_frame_per_clip(camvid_root, checkpoint, tmp_path):
    assert _run(camvid_root, checkpoint, tmp_path / "out", "--mode", "clip", "--clip-length", "3") == 0
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (result["scored_frames"], result["frames"]) == (3, 9)


def test_own_video_folder(camvid_root, checkpoint, tmp_path):
    code = main(
        [
            "lmanet",
            "lite0_camvid",
            "--input",
            str(camvid_root / "val"),
            "--out",
            str(tmp_path / "own"),
            "--set",
            f"net_path={str(checkpoint)!r}",
            "--set",
            "input_size=None",
            "--no-progress",
        ]
    )
    assert code == 0
    assert len(list((tmp_path / "own" / "labels").glob("*.png"))) == 5 and (tmp_path / "own" / "overlay.mp4").is_file()


def test_missing_weights_is_a_one_line_error(camvid_root, tmp_path, capsys):
    assert _run(camvid_root, tmp_path / "nope.pth", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.pth" in err


def test_unknown_parameter_set_lists_the_known_ones(capsys):
    assert main(["lmanet", "nope", "--dataset", "camvid", "--root", "."]) == 2
    assert "lite0_camvid" in capsys.readouterr().err
