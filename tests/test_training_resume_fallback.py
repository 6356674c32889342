"""Resume skips an unreadable latest checkpoint (with a one-line warning) and never retrains over them silently."""

from __future__ import annotations

import fractions

import pytest
import torch

from ltr_ext.admin.checkpoint import CheckpointError
from ltr_ext.run_training import build_settings
from ltr_ext.run_training import main as run_training
from ltr_ext.train_settings.examples import tiny
from ltr_ext.trainers import LTRTrainer, seed_everything

SMALL = [("samples_per_epoch", 32), ("val_samples", 16), ("batch_size", 8)]
CLI_SMALL = ["--set", "samples_per_epoch=32", "--set", "val_samples=16", "--set", "batch_size=8"]


def _trainer(workspace) -> LTRTrainer:
    settings = build_settings("examples", "tiny", list(SMALL), str(workspace))
    seed_everything(settings.seed)
    actor, loaders, optimizer, scheduler = tiny.build(settings)
    return LTRTrainer(actor, loaders, optimizer, settings, scheduler)


def _folder(workspace):
    return workspace / "checkpoints" / "ltr" / "examples" / "tiny"


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.fixture
def two_epochs(tmp_path):
    """A workspace holding the checkpoints of epochs 1 and 2 of the tiny example."""
    workspace = tmp_path / "ws"
    _trainer(workspace).train(2)
    return workspace


def test_truncated_latest_checkpoint_resumes_from_the_previous_epoch(two_epochs, capsys):
    broken = _folder(two_epochs) / "TinySegNet_ep0002.pth.tar"
    _truncate(broken)
    trainer = _trainer(two_epochs)
    trainer.train(2)
    out, err = capsys.readouterr()
    assert "resuming after epoch 1" in out
    warning = [line for line in err.splitlines() if "TinySegNet_ep0002.pth.tar" in line]
    assert len(warning) == 1 and "TinySegNet_ep0001.pth.tar" in warning[0]
    assert trainer.epoch == 2 and torch.load(broken, weights_only=True)["epoch"] == 2


def test_fallback_warning_is_written_to_the_training_log(two_epochs):
    _truncate(_folder(two_epochs) / "TinySegNet_ep0002.pth.tar")
    _trainer(two_epochs).train(2)
    log = (two_epochs / "logs" / "ltr" / "examples" / "tiny.log").read_text()
    assert "TinySegNet_ep0002.pth.tar" in log and "resumed from" in log and "TinySegNet_ep0001.pth.tar" in log


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(two_epochs, tmp_path):
    straight = _trainer(tmp_path / "straight")
    straight.train(3)
    _truncate(_folder(two_epochs) / "TinySegNet_ep0002.pth.tar")
    resumed = _trainer(two_epochs)
    resumed.train(3)
    for (name, a), b in zip(straight.actor.net.state_dict().items(), resumed.actor.net.state_dict().values()):
        assert torch.equal(a, b), name


def test_checkpoint_without_training_fields_is_skipped(two_epochs, capsys):
    torch.save({"epoch": 2}, _folder(two_epochs) / "TinySegNet_ep0002.pth.tar")
    trainer = _trainer(two_epochs)
    assert trainer.load_checkpoint() and trainer.epoch == 1
    assert "TinySegNet_ep0002.pth.tar" in capsys.readouterr().err


def test_no_readable_checkpoint_stops_with_a_one_line_error(two_epochs):
    folder = _folder(two_epochs)
    for path in folder.glob("*.pth.tar"):
        _truncate(path)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    with pytest.raises(CheckpointError) as err:
        _trainer(two_epochs).train(2)
    text = str(err.value)
    assert "\n" not in text and "TinySegNet_ep0001.pth.tar" in text and "TinySegNet_ep0002.pth.tar" in text
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before  # nothing retrained over them


def test_cli_with_no_readable_checkpoint_exits_with_one_line(two_epochs, capsys):
    for path in _folder(two_epochs).glob("*.pth.tar"):
        _truncate(path)
    code = run_training(["examples", "tiny", "--workspace", str(two_epochs), *CLI_SMALL, "--set", "max_epochs=2"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert "TinySegNet_ep0001.pth.tar" in err and "TinySegNet_ep0002.pth.tar" in err and "Traceback" not in err


def test_checkpoint_naming_a_foreign_class_never_advises_weights_only_false(two_epochs, capsys):
    path = _folder(two_epochs) / "TinySegNet_ep0002.pth.tar"
    data = torch.load(path, weights_only=True)
    data["extra"] = fractions.Fraction(1, 3)  # a pickled object: plain-data loading refuses it
    torch.save(data, path)
    trainer = _trainer(two_epochs)
    assert trainer.load_checkpoint() and trainer.epoch == 1
    err = capsys.readouterr().err
    assert "TinySegNet_ep0002.pth.tar" in err and "weights_only" not in err and err.count("\n") == 1
