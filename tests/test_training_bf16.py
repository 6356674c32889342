"""Training with ``--set amp=bf16``: autocast forward and loss, fp32 weights, fp32 when bf16 is not native."""

import pytest
import torch

from ltr_ext.run_training import build_settings
from ltr_ext.run_training import main as run_training
from ltr_ext.train_settings.examples import tiny
from ltr_ext.trainers import LTRTrainer, seed_everything
from pytracking_ext.errors import OverrideError
from pytracking_ext.evaluation import precision

SMALL = [("samples_per_epoch", 32), ("val_samples", 16), ("batch_size", 8)]


def _pretend_cpu(monkeypatch, flags):
    monkeypatch.setattr(precision, "cpu_flags", lambda *args: frozenset(flags))
    precision.native_bf16.cache_clear()


@pytest.fixture
def native(monkeypatch):
    """A CPU with AVX-512 BF16 (whatever this one has)."""
    _pretend_cpu(monkeypatch, {"avx512f", "avx512_bf16"})
    yield
    precision.native_bf16.cache_clear()


@pytest.fixture
def emulated(monkeypatch):
    """A CPU without native bf16 arithmetic."""
    _pretend_cpu(monkeypatch, {"avx2"})
    yield
    precision.native_bf16.cache_clear()


def _train(workspace, epochs, amp="fp32", hook=None):
    settings = build_settings("examples", "tiny", SMALL + [("amp", amp)], str(workspace))
    seed_everything(settings.seed)
    actor, loaders, optimizer, scheduler = tiny.build(settings)
    if hook is not None:
        actor.net.body[0].register_forward_hook(hook)
    trainer = LTRTrainer(actor, loaders, optimizer, settings, scheduler)
    trainer.train(epochs)
    return trainer


def _losses(trainer):
    return trainer.stats["train"]["Loss/total"].history


def test_bf16_forward_runs_under_autocast_and_weights_stay_fp32(native, tmp_path):
    seen = []
    trainer = _train(tmp_path / "bf16", 2, "bf16", hook=lambda module, inputs, output: seen.append(output.dtype))
    assert trainer.amp_dtype == torch.bfloat16
    assert seen and set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in trainer.actor.net.parameters())
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in trainer.actor.net.parameters())
    for state in trainer.optimizer.state.values():
        assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    path = tmp_path / "bf16" / "checkpoints" / "ltr" / "examples" / "tiny" / "TinySegNet_ep0002.pth.tar"
    data = torch.load(path, weights_only=True)
    assert data["settings"]["amp"] == "bf16"
    assert all(v.dtype == torch.float32 for v in data["net"].values() if v.is_floating_point())
    log = (tmp_path / "bf16" / "logs" / "ltr" / "examples" / "tiny.log").read_text()
    assert log.count("amp bf16 on cpu: bf16 autocast") == 1


def test_bf16_loss_decreases_like_fp32(native, tmp_path):
    fp32 = _losses(_train(tmp_path / "fp32", 2, "fp32"))
    bf16 = _losses(_train(tmp_path / "bf16", 2, "bf16"))
    assert len(fp32) == len(bf16) == 2
    assert bf16[1] < bf16[0] and fp32[1] < fp32[0]
    for a, b in zip(fp32, bf16):
        assert abs(a - b) <= 0.02 * a, (fp32, bf16)


def test_fp32_and_auto_without_native_bf16_train_exactly_like_fp32(emulated, tmp_path):
    seen = []
    fp32 = _train(tmp_path / "fp32", 2, "fp32")
    auto = _train(tmp_path / "auto", 2, "auto", hook=lambda module, inputs, output: seen.append(output.dtype))
    assert auto.amp_dtype == torch.float32 and set(seen) == {torch.float32}
    assert _losses(fp32) == _losses(auto)
    for (name, a), b in zip(fp32.actor.net.state_dict().items(), auto.actor.net.state_dict().values()):
        assert torch.equal(a, b), name


def test_explicit_bf16_without_native_support_falls_back_to_fp32_with_a_warning(emulated, tmp_path):
    with pytest.warns(UserWarning, match="no native bf16"):
        trainer = _train(tmp_path / "bf16", 1, "bf16")
    assert trainer.amp_dtype == torch.float32


def test_auto_with_native_bf16_uses_bf16(native, tmp_path):
    settings = build_settings("examples", "tiny", SMALL + [("amp", "auto")], str(tmp_path))
    actor, loaders, optimizer, scheduler = tiny.build(settings)
    assert LTRTrainer(actor, loaders, optimizer, settings, scheduler).amp_dtype == torch.bfloat16


def test_unknown_amp_is_a_one_line_error(workspace, capsys):
    with pytest.raises(OverrideError, match="'amp' .* takes one of fp32, bf16, auto, got 'fp16'"):
        build_settings("examples", "tiny", [("amp", "fp16")])
    assert run_training(["examples", "tiny", "--set", "amp=fp16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "amp" in err and "fp16" in err
