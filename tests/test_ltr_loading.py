"""Batching with stack_dim, rebuilding networks from checkpoints, strict loading, legacy LTR files."""

import sys
import types

import numpy as np
import pytest
import torch

from ltr_ext.admin.checkpoint import CheckpointError, save_checkpoint
from ltr_ext.admin.loading import StateDictMismatch, load_network, load_state_dict_strict
from ltr_ext.data.loader import LTRLoader, stack_collate
from ltr_ext.data.tensordict import TensorDict
from ltr_ext.train_settings.examples.tiny import TinySegNet, tiny_segnet


def test_stack_dim_one_gives_frames_first_batches():
    samples = [
        TensorDict(images=torch.zeros(3, 2, 4, 4), name="a", box=np.zeros((3, 4)), meta={"id": 1}, extra=None)
        for _ in range(5)
    ]
    batch = stack_collate(samples, stack_dim=1)
    assert batch["images"].shape == (3, 5, 2, 4, 4) and batch["box"].shape == (3, 5, 4)
    assert batch["name"] == ["a"] * 5 and batch["extra"] == [None] * 5
    assert batch["meta"]["id"].tolist() == [1] * 5


def test_stack_dim_zero_stacks_a_new_leading_dimension():
    batch = stack_collate([{"x": torch.ones(2), "y": [torch.zeros(1), 3.5]}] * 4, stack_dim=0)
    assert batch["x"].shape == (4, 2) and batch["y"][0].shape == (4, 1) and batch["y"][1].dtype == torch.float64


def test_loader_with_workers_batches_like_the_main_process():
    data = [TensorDict(x=torch.full((2,), float(i))) for i in range(6)]
    loader = LTRLoader("train", data, batch_size=3, num_workers=2, stack_dim=1)
    batches = list(loader)
    assert len(batches) == 2 and batches[0]["x"].shape == (2, 3)


def _checkpoint(path, net, **extra):
    save_checkpoint(
        path,
        {
            "epoch": 1,
            "net_type": type(net).__name__,
            "net": net.state_dict(),
            "constructor": net.constructor.to_dict(),
            **extra,
        },
    )
    return path


def test_load_network_rebuilds_from_the_stored_constructor(tmp_path):
    net = tiny_segnet(channels=4)
    path = _checkpoint(tmp_path / "TinySegNet_ep0001.pth.tar", net)
    loaded, data = load_network(tmp_path)  # a folder: the latest checkpoint in it
    assert isinstance(loaded, TinySegNet) and loaded.head.in_channels == 4
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), loaded.state_dict().values()))
    assert data["epoch"] == 1 and load_network(path)[0].constructor.kwds == {"channels": 4}


def test_constructor_arguments_can_be_overridden_and_strictness_names_keys(tmp_path):
    path = _checkpoint(tmp_path / "TinySegNet_ep0001.pth.tar", tiny_segnet(channels=4))
    with pytest.raises(StateDictMismatch, match=r"shape mismatches .*body.0.weight"):
        load_network(path, channels=8)


def test_strict_loading_lists_missing_and_unexpected_keys():
    net = TinySegNet(4)
    state = net.state_dict()
    state.pop("head.bias")
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(StateDictMismatch, match=r"missing keys \(1\): head.bias .*unexpected keys \(1\): extra.weight"):
        load_state_dict_strict(net, state)


def test_bare_state_dict_needs_and_uses_a_constructor(tmp_path):
    torch.save(TinySegNet(4).state_dict(), tmp_path / "bare.pth")
    with pytest.raises(CheckpointError, match="constructor="):
        load_network(tmp_path / "bare.pth")
    net, _ = load_network(tmp_path / "bare.pth", constructor=TinySegNet, channels=4)
    assert isinstance(net, TinySegNet)


def test_missing_truncated_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found|no such"):
        load_network(tmp_path / "nope.pth.tar")
    good = _checkpoint(tmp_path / "TinySegNet_ep0001.pth.tar", tiny_segnet(channels=4))
    (tmp_path / "cut.pth.tar").write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="cut.pth.tar"):
        load_network(tmp_path / "cut.pth.tar")
    (tmp_path / "text.pth.tar").write_text("hello")
    with pytest.raises(CheckpointError, match="text.pth.tar"):
        load_network(tmp_path / "text.pth.tar")


def test_official_ltr_pickle_loads_without_the_original_modules(tmp_path, monkeypatch):
    # Fake the official module layout just long enough to write a checkpoint the way LTR does.
    fake = types.ModuleType("ltr.admin.model_constructor")

    class NetConstructor:
        def __init__(self, fun_name, fun_module, args, kwds):
            self.fun_name, self.fun_module, self.args, self.kwds = fun_name, fun_module, args, kwds

    NetConstructor.__module__, NetConstructor.__qualname__ = "ltr.admin.model_constructor", "NetConstructor"
    fake.NetConstructor = NetConstructor
    settings_mod = types.ModuleType("ltr.admin.settings")

    class Settings:
        pass

    Settings.__module__, Settings.__qualname__ = "ltr.admin.settings", "Settings"
    settings_mod.Settings = Settings
    for name, module in {
        "ltr": types.ModuleType("ltr"),
        "ltr.admin": types.ModuleType("ltr.admin"),
        "ltr.admin.model_constructor": fake,
        "ltr.admin.settings": settings_mod,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    net = TinySegNet(4)
    official = {
        "epoch": 200,
        "actor_type": "X",
        "net_type": "TinySegNet",
        "net": net.state_dict(),
        "constructor": NetConstructor("tiny_segnet", "ltr_ext.train_settings.examples.tiny", (), {"channels": 4}),
        "settings": Settings(),
        "stats": {"train": object.__new__(Settings)},
    }
    torch.save(official, tmp_path / "official.pth.tar")
    for name in ("ltr", "ltr.admin", "ltr.admin.model_constructor", "ltr.admin.settings"):
        monkeypatch.delitem(sys.modules, name)
    loaded, data = load_network(tmp_path / "official.pth.tar")
    assert isinstance(loaded, TinySegNet) and data["epoch"] == 200 and "settings" not in data
