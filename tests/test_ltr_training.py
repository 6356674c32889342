"""Training core: settings, run_training, trainer, checkpoints, resume, NaN stop, determinism."""

import pytest
import torch

from ltr_ext.admin.checkpoint import latest_checkpoint
from ltr_ext.admin.environment import env_settings
from ltr_ext.run_training import build_settings
from ltr_ext.run_training import main as run_training
from ltr_ext.train_settings import get_settings_module
from ltr_ext.train_settings.examples import tiny
from ltr_ext.trainers import LTRTrainer, TrainingDiverged, seed_everything
from pytracking_ext.errors import UnknownNameError

SMALL = [("samples_per_epoch", 32), ("val_samples", 16), ("batch_size", 8)]


def _settings(workspace, **extra):
    settings = build_settings("examples", "tiny", SMALL + list(extra.items()), str(workspace))
    seed_everything(settings.seed)
    return settings


def _train(workspace, epochs, **extra):
    settings = _settings(workspace, **extra)
    actor, loaders, optimizer, scheduler = tiny.build(settings)
    trainer = LTRTrainer(actor, loaders, optimizer, settings, scheduler)
    trainer.train(epochs)
    return trainer


def test_environment_variables_override_ltr_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("LTR_WORKSPACE_DIR", str(tmp_path))
    monkeypatch.setenv("LTR_LASOT_DIR", "/data/lasot")
    env = env_settings()
    assert env.lasot_dir == "/data/lasot" and env.tensorboard_dir == str(tmp_path / "tensorboard")


def test_missing_dataset_dir_names_the_variable(workspace):
    with pytest.raises(FileNotFoundError, match="LTR_GOT10K_DIR"):
        env_settings().require("got10k_dir")


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownNameError, match="known train modules: .*examples"):
        get_settings_module("nope", "tiny")
    with pytest.raises(UnknownNameError, match="known settings: tiny"):
        get_settings_module("examples", "nope")


def test_checkpoint_has_ltr_fields_and_loads_with_weights_only(workspace):
    _train(workspace, 1)
    path = workspace / "checkpoints" / "ltr" / "examples" / "tiny" / "TinySegNet_ep0001.pth.tar"
    data = torch.load(path, weights_only=True)
    assert {
        "epoch",
        "actor_type",
        "net_type",
        "net",
        "net_info",
        "constructor",
        "optimizer",
        "stats",
        "settings",
        "lr_scheduler",
    } <= set(data)
    assert data["epoch"] == 1 and data["net_type"] == "TinySegNet" and data["actor_type"] == "TinyActor"
    assert data["constructor"]["fun_name"] == "tiny_segnet"


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    straight = _train(tmp_path / "a", 2)
    _train(tmp_path / "b", 1)
    resumed = _train(tmp_path / "b", 2)
    assert resumed.epoch == 2
    for (name, a), b in zip(straight.actor.net.state_dict().items(), resumed.actor.net.state_dict().values()):
        assert torch.equal(a, b), name


def test_same_seed_gives_the_same_losses(tmp_path):
    first = _train(tmp_path / "a", 1).stats["train"]["Loss/total"].history
    second = _train(tmp_path / "b", 1).stats["train"]["Loss/total"].history
    assert first == second


def test_nan_loss_stops_naming_the_iteration_and_keeps_the_last_checkpoint(workspace, monkeypatch):
    settings = _settings(workspace)
    actor, loaders, optimizer, scheduler = tiny.build(settings)
    trainer = LTRTrainer(actor, loaders, optimizer, settings, scheduler)
    trainer.train(1)
    original = type(actor).__call__

    def poisoned(self, data):
        loss, stats = original(self, data)
        return loss * float("nan"), stats

    monkeypatch.setattr(type(actor), "__call__", poisoned)
    with pytest.raises(TrainingDiverged, match="epoch 2, iteration 1"):
        trainer.train(2)
    folder = workspace / "checkpoints" / "ltr" / "examples" / "tiny"
    assert latest_checkpoint(folder).name == "TinySegNet_ep0001.pth.tar"


def test_run_training_cli_trains_writes_logs_and_resumes(workspace, capsys):
    args = ["examples", "tiny", "--set", "samples_per_epoch=16", "--set", "val_samples=8", "--set", "max_epochs=1"]
    assert run_training(args) == 0
    assert (workspace / "logs" / "ltr" / "examples" / "tiny.log").read_text().count("epoch 1") >= 1
    assert list((workspace / "tensorboard" / "ltr" / "examples" / "tiny" / "train").glob("events.*"))
    assert run_training(args[:-2] + ["--set", "max_epochs=2"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out


def test_run_training_unknown_settings_exit_code(workspace, capsys):
    assert run_training(["examples", "nope"]) == 2
    assert "known settings" in capsys.readouterr().err


def test_bad_set_argument_is_rejected(capsys):
    with pytest.raises(SystemExit):
        run_training(["examples", "tiny", "--set", "no-equals"])
    assert "key=value" in capsys.readouterr().err
