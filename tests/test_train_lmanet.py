"""``run_training lmanet``: single-frame run, then stage 1 and stage 2, on generated CamVid-layout videos."""

import pytest
import torch

from ltr_ext.admin.checkpoint import latest_checkpoint, read_checkpoint
from ltr_ext.run_training import main as run_training
from segmentation_plugins.synthetic import generate_camvid

TINY = [
    "--set",
    "input_size=(64,48)",
    "--set",
    "batch_size=2",
    "--set",
    "max_epochs=1",
    "--set",
    "num_workers=0",
    "--set",
    "pretrained_backbone=False",
    "--set",
    "generated_videos=0",
    "--set",
    "memory_size=2",
    "--set",
    "window=3",
    "--set",
    "train_max_frame_step=2",
]


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid")
    generate_camvid(root, videos=2, frames=5, size=(64, 48), seed=3, split="train")
    return root


def _train(workspace, *extra):
    return run_training(["lmanet", "lite0_camvid", "--workspace", str(workspace), *TINY, *extra])


def _checkpoint(workspace, project):
    return latest_checkpoint(workspace / "checkpoints" / "ltr" / "lmanet" / project)


def test_stages_train_in_order_each_from_the_previous_weights(camvid, workspace, monkeypatch):
    monkeypatch.setenv("LTR_CAMVID_DIR", str(camvid))
    assert _train(workspace) == 0
    single = read_checkpoint(_checkpoint(workspace, "lite0_camvid_single"))
    assert single["net_type"] == "SingleFrameNet"
    assert _train(workspace, "--set", "stage=1") == 0
    stage1 = read_checkpoint(_checkpoint(workspace, "lite0_camvid_stage1_S2_P3"))
    assert stage1["net_type"] == "LMANet"
    # stage 1 keeps the single-frame encoder and decoder frozen: their weights are unchanged
    for key, value in single["net"].items():
        assert torch.equal(stage1["net"][key], value), key
    assert _train(workspace, "--set", "stage=2") == 0
    stage2 = read_checkpoint(_checkpoint(workspace, "lite0_camvid_stage2_S2_P3"))
    encoder = [k for k in single["net"] if k.startswith("encoder.") and "running" not in k]
    decoder = [k for k in single["net"] if not k.startswith("encoder.") and k.endswith("weight")]
    assert all(torch.equal(stage2["net"][k], single["net"][k]) for k in encoder)
    assert any(not torch.equal(stage2["net"][k], single["net"][k]) for k in decoder)


def test_stage_1_without_a_single_frame_run_names_what_to_run(camvid, workspace, monkeypatch, capsys):
    monkeypatch.setenv("LTR_CAMVID_DIR", str(camvid))
    assert _train(workspace, "--set", "stage=1") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run_training lmanet lite0_camvid --set stage='single'" in err


def test_missing_camvid_folder_names_the_variable(workspace, monkeypatch, capsys):
    monkeypatch.delenv("LTR_CAMVID_DIR", raising=False)
    assert _train(workspace) == 2
    assert "LTR_CAMVID_DIR" in capsys.readouterr().err


def test_memory_configurations_train_into_separate_folders():
    from types import SimpleNamespace

    from segmentation_plugins.lmanet.training import project_path

    local = SimpleNamespace(module_name="lmanet", preset="lite0_camvid", memory_size=4, window=11, attention="local")
    glob = SimpleNamespace(**{**vars(local), "attention": "global"})
    assert project_path(local, 1) == "ltr/lmanet/lite0_camvid_stage1_S4_P11"
    assert project_path(glob, 2) == "ltr/lmanet/lite0_camvid_stage2_S4_global"
