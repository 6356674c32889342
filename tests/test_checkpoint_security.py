"""Loading a model file never runs code: malicious files through every loading entry point.

Each malicious file, if anything in it ran, would create a marker file. Every entry point must
refuse it with a one-line error (naming the file) and the marker must never appear. The family
covers pickle protocols, container formats (zip, the pre-1.6 torch format, a bare pickle),
callables (``os.system``, ``eval``, ``exec``, a numpy helper that runs a string), nesting inside
containers and inside a pickled LTR ``Settings``, and plain-data constructor records naming a
function to import, in torch files and in safetensors files.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import torch.nn as nn

try:  # a numpy helper that runs a string: the kind of callable an allowlist of whole modules lets in
    from numpy.testing._private.utils import runstring
except ImportError:  # a later numpy without it: that payload is then left out
    runstring = None

from ltr_ext.admin.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from ltr_ext.admin.export import main as export_main
from ltr_ext.admin.loading import load_network
from ltr_ext.train_settings.examples.tiny import tiny_segnet
from pytracking_ext.errors import PytrackingError

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Call:
    """Pickles as ``function(*args)``: what a malicious file runs on a careless ``pickle.load``."""

    def __init__(self, function: Callable, *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _touch_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


# name -> payload that creates ``marker`` when unpickled with an unrestricted unpickler
PAYLOADS: dict[str, Callable[[Path], Call]] = {
    "os.system": lambda marker: Call(os.system, f"touch {marker}"),
    "builtins.eval": lambda marker: Call(builtins.eval, _touch_code(marker)),
    "builtins.exec": lambda marker: Call(builtins.exec, _touch_code(marker)),
    "subprocess.call": lambda marker: Call(subprocess.call, ["touch", str(marker)]),
    **({"numpy runstring": lambda marker: Call(runstring, _touch_code(marker), {})} if runstring else {}),
}

# where the payload sits inside an otherwise ordinary checkpoint
PLACES: dict[str, Callable[[Any], Any]] = {
    "top level": lambda payload: payload,
    "net_info field": lambda payload: {"net": tiny_segnet(2).state_dict(), "net_info": payload},
    "inside the state dict": lambda payload: {"net": {**tiny_segnet(2).state_dict(), "evil": payload}},
    "nested in containers": lambda payload: {
        "net": tiny_segnet(2).state_dict(),
        "stats": {"train": [(1, {"x": [payload]})]},
    },
}


def _save_torch(obj: Any, path: Path, protocol: int = 2, zip_format: bool = True) -> Path:
    torch.save(obj, path, pickle_protocol=protocol, _use_new_zipfile_serialization=zip_format)
    return path


def _save_bare_pickle(obj: Any, path: Path, protocol: int = 4) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.fixture
def ltr_modules(monkeypatch):
    """Fake ``ltr.admin.*`` modules while a test writes a file the way LTR does (removed before loading)."""
    created: dict[str, types.ModuleType] = {}

    def make(module: str, name: str) -> type:
        for depth in range(1, module.count(".") + 2):
            part = ".".join(module.split(".")[:depth])
            if part not in created:
                created[part] = types.ModuleType(part)
                monkeypatch.setitem(sys.modules, part, created[part])
        cls = type(name, (), {"__module__": module, "__qualname__": name})
        setattr(created[module], name, cls)
        return cls

    yield make
    for part in created:
        monkeypatch.delitem(sys.modules, part, raising=False)


def _drop_fake_modules() -> None:
    for name in [n for n in sys.modules if n == "ltr" or n.startswith("ltr.")]:
        del sys.modules[name]


def _malicious_files(tmp_path: Path, marker: Path) -> dict[str, Path]:
    """One file per (payload, protocol/format, place) combination worth telling apart."""
    files = {}
    for name, payload in PAYLOADS.items():
        for protocol in (0, 2, 4, 5):
            path = tmp_path / f"{name.replace(' ', '_')}_p{protocol}.pth.tar"
            files[f"{name} protocol {protocol}"] = _save_torch(
                PLACES["net_info field"](payload(marker)), path, protocol
            )
    for place, wrap in PLACES.items():
        path = tmp_path / f"eval_{place.replace(' ', '_')}.pth.tar"
        files[f"eval {place}"] = _save_torch(wrap(PAYLOADS["builtins.eval"](marker)), path, 4)
    files["legacy torch format"] = _save_torch(
        PLACES["net_info field"](PAYLOADS["os.system"](marker)), tmp_path / "old_format.pth", 2, zip_format=False
    )
    for protocol in (0, 4):
        files[f"bare pickle protocol {protocol}"] = _save_bare_pickle(
            PLACES["top level"](PAYLOADS["builtins.exec"](marker)), tmp_path / f"bare_p{protocol}.pkl", protocol
        )
    return files


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a malicious checkpoint ran code"


def _assert_refused(load: Callable[[Path], Any], path: Path, marker: Path) -> str:
    with pytest.raises((CheckpointError, PytrackingError)) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and message.strip(), message
    assert "weights_only=False" not in message
    assert not marker.exists(), f"{path.name} ran code"
    return message


def test_no_malicious_pickle_runs_through_read_checkpoint(tmp_path, marker):
    for label, path in _malicious_files(tmp_path, marker).items():
        message = _assert_refused(read_checkpoint, path, marker)
        assert path.name in message, label


def test_refusal_names_the_global_it_refuses(tmp_path, marker):
    path = _save_torch(PLACES["net_info field"](PAYLOADS["os.system"](marker)), tmp_path / "evil.pth.tar", 4)
    message = _assert_refused(read_checkpoint, path, marker)
    assert "posix.system" in message or "os.system" in message


def test_no_malicious_pickle_runs_through_load_network(tmp_path, marker):
    for path in _malicious_files(tmp_path, marker).values():
        _assert_refused(load_network, path, marker)


def test_trainer_resume_reads_without_legacy_classes_and_refuses_them_too(tmp_path, marker, ltr_modules):
    settings_class = ltr_modules("ltr.admin.settings", "Settings")
    path = _save_torch({"net": tiny_segnet(2).state_dict(), "settings": settings_class()}, tmp_path / "x.pth.tar")
    _drop_fake_modules()
    message = _assert_refused(lambda p: read_checkpoint(p, legacy=False), path, marker)
    assert "ltr.admin.settings.Settings" in message


def test_payload_inside_a_pickled_ltr_settings_does_not_run(tmp_path, marker, ltr_modules):
    settings_class = ltr_modules("ltr.admin.settings", "Settings")
    settings = settings_class()
    settings.env = PAYLOADS["builtins.eval"](marker)
    path = _save_torch({"net": tiny_segnet(2).state_dict(), "settings": settings}, tmp_path / "settings.pth.tar", 4)
    _drop_fake_modules()
    message = _assert_refused(load_network, path, marker)
    assert "builtins.eval" in message


def test_pickled_ltr_settings_whose_reduce_calls_a_function_does_not_run(tmp_path, marker, ltr_modules):
    settings_class = ltr_modules("ltr.admin.settings", "Settings")
    settings_class.__reduce__ = lambda self: (os.system, (f"touch {marker}",))
    path = _save_torch({"net": tiny_segnet(2).state_dict(), "settings": settings_class()}, tmp_path / "s.pth.tar")
    _drop_fake_modules()
    _assert_refused(load_network, path, marker)


def test_an_allowed_ltr_class_called_with_arguments_stays_inert(tmp_path, marker, ltr_modules):
    # LTR's own class names are admitted, but only as stand-ins: calling one with a payload does nothing
    stats_class = ltr_modules("ltr.admin.stats", "AverageMeter")
    stats_class.__reduce__ = lambda self: (stats_class, (f"touch {marker}",))
    net = tiny_segnet(2)
    path = _save_torch(
        {
            "net": net.state_dict(),
            "stats": {"train": {"Loss": stats_class()}},
            "constructor": net.constructor.to_dict(),
        },
        tmp_path / "stats.pth.tar",
    )
    _drop_fake_modules()
    loaded, data = load_network(path)
    assert "stats" not in data and isinstance(loaded, nn.Module) and not marker.exists()


def _record(module: str, name: str, *args: Any) -> dict[str, Any]:
    return {"fun_module": module, "fun_name": name, "args": list(args), "kwds": {}}


@pytest.mark.parametrize(
    "record",
    [
        _record("os", "system", "touch {marker}"),
        _record("builtins", "eval", "open({marker!r}, 'w').close()"),
        _record("subprocess", "call", ["touch", "{marker}"]),
        _record("dlframework.os", "system", "touch {marker}"),
    ],
    ids=["os.system", "builtins.eval", "subprocess.call", "dlframework-prefixed"],
)
def test_constructor_record_naming_an_unregistered_function_is_refused(tmp_path, marker, record):
    record = json.loads(json.dumps(record).replace("{marker}", str(marker)))
    path = save_checkpoint(tmp_path / "record.pth.tar", {"net": tiny_segnet(2).state_dict(), "constructor": record})
    message = _assert_refused(load_network, path, marker)
    assert "unknown network constructor" in message and "record.pth.tar" in message


def test_constructor_record_in_an_official_ltr_pickle_is_refused(tmp_path, marker, ltr_modules):
    constructor_class = ltr_modules("ltr.admin.model_constructor", "NetConstructor")
    record = constructor_class()
    record.fun_name, record.fun_module, record.args, record.kwds = "system", "os", (f"touch {marker}",), {}
    path = _save_torch({"net": tiny_segnet(2).state_dict(), "constructor": record}, tmp_path / "official.pth.tar")
    _drop_fake_modules()
    assert "os.system" in _assert_refused(load_network, path, marker)


def test_constructor_record_in_a_safetensors_file_is_refused(tmp_path, marker):
    state = {"net": tiny_segnet(2).state_dict(), "constructor": _record("os", "system", f"touch {marker}")}
    path = save_checkpoint(tmp_path / "evil.safetensors", state)
    assert "os.system" in _assert_refused(load_network, path, marker)


def test_constructor_record_with_arguments_its_constructor_does_not_take_is_one_line(tmp_path, marker):
    record = {**tiny_segnet(2).constructor.to_dict(), "kwds": {"channels": 2, "payload": "x"}}
    path = save_checkpoint(tmp_path / "odd.pth.tar", {"net": tiny_segnet(2).state_dict(), "constructor": record})
    assert "cannot build" in _assert_refused(load_network, path, marker)


def test_malformed_constructor_record_is_one_line(tmp_path, marker):
    path = save_checkpoint(tmp_path / "odd.pth.tar", {"net": tiny_segnet(2).state_dict(), "constructor": [1, 2]})
    assert "constructor record" in _assert_refused(load_network, path, marker)


def _entry_points(tmp_path: Path) -> dict[str, Callable[[Path], Any]]:
    """Every place that reads a checkpoint named by a user, as ``load(path)``."""
    from ltr_ext.train_settings.rts import load_lwl_parts
    from parameter.evs import operating_point
    from pytracking_ext.evaluation.network_loading import NetworkSpec
    from pytracking_ext.evaluation.network_loading import load_network as tracker_load_network
    from segmentation_plugins.evs.training import load_icnet
    from segmentation_plugins.lmanet.training import build_network
    from segmentation_plugins.registry import build_segmenter, segmenter_parameters

    def evs(path: Path) -> Any:
        params = operating_point("evs07")
        params.icnet_config, params.use_gpu, params.icnet_weights = "small", False, str(path)
        return build_segmenter("evs", params)

    def lmanet(path: Path) -> Any:
        params = segmenter_parameters("lmanet", "lite0_camvid")
        params.net_path, params.use_gpu = str(path), False
        return build_segmenter("lmanet", params)

    def export(path: Path) -> None:
        out = tmp_path / "exported.safetensors"
        if export_main([str(path), str(out)]) != 0:
            raise CheckpointError("export refused the file")
        raise AssertionError("export accepted a malicious file")

    evs_settings = SimpleNamespace(icnet_checkpoint=None, icnet_config="small", num_classes=11)
    lmanet_settings = SimpleNamespace(
        backbone="erfnet",
        memory_size=2,
        window=3,
        num_classes=11,
        attention="local",
        init_checkpoint=None,
        fusion="gated",
    )
    return {
        "run_tracker (NetworkSpec)": lambda path: tracker_load_network(NetworkSpec(str(path)), "cpu"),
        "run_segmentation evs --set icnet_weights": evs,
        "run_segmentation lmanet --set net_path": lmanet,
        "ltr_ext.admin.export": export,
        "run_training rts --set lwl_checkpoint": lambda path: load_lwl_parts(nn.Module(), path),
        "run_training evs refiner --set icnet_checkpoint": lambda path: load_icnet(
            SimpleNamespace(**{**vars(evs_settings), "icnet_checkpoint": str(path)})
        ),
        "run_training lmanet --set init_checkpoint": lambda path: build_network(
            SimpleNamespace(**{**vars(lmanet_settings), "init_checkpoint": str(path)}), 2
        ),
    }


def test_every_loading_entry_point_refuses_malicious_files(tmp_path, marker, capsys):
    files = {
        "pickle": _save_torch(PLACES["net_info field"](PAYLOADS["builtins.eval"](marker)), tmp_path / "a.pth.tar", 4),
        "state dict": _save_torch(
            PLACES["inside the state dict"](PAYLOADS["os.system"](marker)), tmp_path / "b.pth.tar", 2
        ),
        "record": save_checkpoint(
            tmp_path / "c.pth.tar",
            {"net": tiny_segnet(2).state_dict(), "constructor": _record("os", "system", f"touch {marker}")},
        ),
    }
    for entry, load in _entry_points(tmp_path).items():
        for kind, path in files.items():
            if kind == "record" and entry not in (
                "run_tracker (NetworkSpec)",
                "run_segmentation lmanet --set net_path",
            ):
                continue  # these build their own network and never read the record
            _assert_refused(load, path, marker)
    stderr = capsys.readouterr().err
    assert all(line.startswith("error: ") for line in stderr.splitlines())


def test_export_cli_refuses_a_malicious_file_with_one_line(tmp_path, marker):
    path = _save_torch(PLACES["top level"](PAYLOADS["os.system"](marker)), tmp_path / "evil.pth.tar", 4)
    out = tmp_path / "out.safetensors"
    result = subprocess.run(
        [sys.executable, "-m", "ltr_ext.admin.export", str(path), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 2 and not out.exists()
    assert len(result.stderr.strip().splitlines()) == 1 and "evil.pth.tar" in result.stderr
    assert "Traceback" not in result.stderr


def test_safetensors_export_round_trips_and_loads(tmp_path):
    net = tiny_segnet(3)
    training = save_checkpoint(
        tmp_path / "TinySegNet_ep0002.pth.tar",
        {
            "epoch": 2,
            "net_type": "TinySegNet",
            "net": net.state_dict(),
            "constructor": net.constructor.to_dict(),
            "optimizer": {"state": {}, "param_groups": []},
            "settings": {"module_name": "examples", "script_name": "tiny"},
            "stats": {"train": {"Loss": {"history": [0.5, 0.25]}}},
        },
    )
    out = tmp_path / "tiny.safetensors"
    assert export_main([str(training), str(out)]) == 0
    loaded, data = load_network(out)
    assert isinstance(loaded, type(net)) and data["epoch"] == 2 and data["net_type"] == "TinySegNet"
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert data["net_info"]["stats"] == {"train": {"Loss": 0.25}} and "optimizer" not in data


def test_safetensors_file_without_a_record_reads_as_a_bare_state_dict(tmp_path):
    from safetensors.torch import save_file

    net = tiny_segnet(2)
    save_file(net.state_dict(), tmp_path / "bare.safetensors")
    data = read_checkpoint(tmp_path / "bare.safetensors")
    assert set(data) == set(net.state_dict())
    loaded, _ = load_network(tmp_path / "bare.safetensors", constructor=lambda: tiny_segnet(2))
    assert torch.equal(loaded.state_dict()["head.weight"], net.state_dict()["head.weight"])


def test_damaged_safetensors_files_are_one_line_errors(tmp_path, marker):
    good = save_checkpoint(tmp_path / "good.safetensors", {"net": tiny_segnet(2).state_dict()})
    (tmp_path / "cut.safetensors").write_bytes(good.read_bytes()[:-10])
    _assert_refused(read_checkpoint, tmp_path / "cut.safetensors", marker)
    header = good.read_bytes()
    length = int.from_bytes(header[:8], "little")
    broken = (
        header[:8]
        + header[8 : 8 + length].replace(b"ltr_ext.checkpoint/1", b"ltr_ext.checkpoint/9")
        + header[8 + length :]
    )
    (tmp_path / "other.safetensors").write_bytes(broken)
    assert "record" in _assert_refused(read_checkpoint, tmp_path / "other.safetensors", marker)


def test_saving_something_a_safetensors_record_cannot_hold_is_one_line(tmp_path):
    with pytest.raises(
        CheckpointError, match="x.safetensors: field 'optimizer.fn' holds a builtin_function_or_method"
    ) as info:
        save_checkpoint(tmp_path / "x.safetensors", {"net": tiny_segnet(2).state_dict(), "optimizer": {"fn": len}})
    assert "\n" not in str(info.value) and not (tmp_path / "x.safetensors").exists()


def test_official_ltr_training_pickle_with_its_record_still_loads(tmp_path, ltr_modules):
    from ltr_ext.models.rts.rts_net import OFFICIAL_RTS50_KWARGS

    constructor_class = ltr_modules("ltr.admin.model_constructor", "NetConstructor")
    settings_class = ltr_modules("ltr.admin.settings", "Settings")
    env_class = ltr_modules("ltr.admin.local", "EnvironmentSettings")
    meter_class = ltr_modules("ltr.admin.stats", "AverageMeter")
    record = constructor_class()
    record.fun_name, record.fun_module = "steepest_descent_resnet50_with_clf_encoder", "ltr.models.rts.rts_net"
    record.args, record.kwds = (
        (),
        {
            **OFFICIAL_RTS50_KWARGS,
            "backbone_pretrained": True,
            "decoder_input_layers": ("layer4", "layer3", "layer2", "layer1"),
        },
    )
    settings, meter = settings_class(), meter_class()
    settings.env, settings.batch_size, meter.history = env_class(), 15, [0.5]
    from ltr_ext.models.rts import build_rts50

    torch.manual_seed(0)
    state = build_rts50().state_dict()
    path = _save_torch(
        {
            "epoch": 200,
            "net_type": "RTSNet",
            "net": state,
            "constructor": record,
            "settings": settings,
            "stats": {"train": {"Loss/total": meter}},
        },
        tmp_path / "RTSNet_ep0200.pth.tar",
    )
    _drop_fake_modules()
    net, data = load_network(path)
    assert data["epoch"] == 200 and "settings" not in data and "stats" not in data
    assert torch.equal(net.state_dict()["clf_encoder.label_pred.0.weight"], state["clf_encoder.label_pred.0.weight"])
    out = tmp_path / "rts50.safetensors"
    assert export_main([str(path), str(out)]) == 0
    assert load_network(out)[1]["constructor"]["fun_name"] == "steepest_descent_resnet50_with_clf_encoder"


def test_official_record_with_another_architecture_is_refused_not_built(tmp_path, ltr_modules):
    from ltr_ext.models.rts.rts_net import OFFICIAL_RTS50_KWARGS

    record = {
        "fun_module": "ltr.models.rts.rts_net",
        "fun_name": "steepest_descent_resnet50_with_clf_encoder",
        "args": [],
        "kwds": {**OFFICIAL_RTS50_KWARGS, "num_filters": 32},
    }
    path = save_checkpoint(tmp_path / "other.pth.tar", {"net": {}, "constructor": record})
    with pytest.raises(CheckpointError, match=r"other\.pth\.tar: .*num_filters=32") as info:
        load_network(path)
    assert "\n" not in str(info.value)


def test_shipped_model_is_a_safetensors_file_that_loads():
    from parameter.rts.rts_small import SHIPPED

    assert SHIPPED.suffix == ".safetensors"
    net, data = load_network(SHIPPED)
    assert data["constructor"]["fun_name"] == "build_rts_small" and isinstance(net, nn.Module)


def test_plain_torch_checkpoints_still_load_through_weights_only(tmp_path):
    buffer = io.BytesIO()
    net = tiny_segnet(2)
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict(), "epoch": 3}, buffer)
    (tmp_path / "plain.pth.tar").write_bytes(buffer.getvalue())
    loaded, data = load_network(tmp_path / "plain.pth.tar")
    assert data["epoch"] == 3 and loaded.constructor.args == (2,)
