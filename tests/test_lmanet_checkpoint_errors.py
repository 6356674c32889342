"""A corrupt or wrong-architecture LMANet checkpoint is a one-line error naming the file and what does not fit.

Bad inference settings of a good checkpoint (``empty_memory``, ``memory_size``) are one line too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ltr_ext.admin.model_constructor import model_constructor
from segmentation_plugins.lmanet import build_lmanet
from segmentation_plugins.run_segmentation import main

REPO_ROOT = Path(__file__).resolve().parents[1]
SMALL_LMANET = dict(backbone="erfnet", memory_size=2, window=3, num_classes=11)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    """A checkpoint of ``run_training lmanet`` form: weights plus the constructor record."""
    torch.manual_seed(0)
    net = model_constructor(build_lmanet)(**SMALL_LMANET)
    path = tmp_path_factory.mktemp("nets") / "lmanet.pth.tar"
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, path)
    return path


@pytest.fixture(scope="module")
def lite0_state_dict(tmp_path_factory):
    """A bare state dict of another LMANet architecture (EfficientNet-Lite0 backbone, 11 classes)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("nets") / "lite0.pth"
    torch.save(build_lmanet(backbone="efficientnet_lite0", memory_size=2, window=3, num_classes=11).state_dict(), path)
    return path


def _truncated(source: Path, folder: Path) -> Path:
    path = folder / "truncated.pth.tar"
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _arguments(param: str, net_path: Path, root: Path) -> list[str]:
    """``run_segmentation`` arguments segmenting the generated CamVid clip with ``net_path``."""
    return ["lmanet", param, "--dataset", "camvid", "--root", str(root), "--out", str(root / "out"),
            "--set", f"net_path={str(net_path)!r}", "--set", "use_gpu=False", "--no-progress"]  # fmt: skip


def _cli(param: str, net_path: Path, root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTRACKING_NETWORK_PATH": str(root)}
    command = [sys.executable, "-m", "segmentation_plugins.run_segmentation", *_arguments(param, net_path, root)]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def _in_process(param: str, net_path: Path, root: Path) -> int:
    return main(_arguments(param, net_path, root))


def _single_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_truncated_checkpoint_is_a_one_line_cli_error(good_checkpoint, tmp_path):
    broken = _truncated(good_checkpoint, tmp_path)
    result = _cli("lite0_camvid", broken, tmp_path)
    line = _single_error_line(result.stderr)
    assert result.returncode == 2 and "net_path" in line and str(broken) in line


def test_state_dict_of_another_architecture_is_a_one_line_cli_error(lite0_state_dict, tmp_path):
    result = _cli("erfnet_cityscapes", lite0_state_dict, tmp_path)
    line = _single_error_line(result.stderr)
    assert result.returncode == 2 and str(lite0_state_dict) in line
    assert "missing keys (" in line and "unexpected keys (" in line and len(line) < 800


def test_garbage_file_names_the_file(tmp_path, capsys):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint at all\n" * 20)
    assert _in_process("lite0_camvid", garbage, tmp_path) == 2
    line = _single_error_line(capsys.readouterr().err)
    assert "net_path" in line and str(garbage) in line


def test_mismatch_summary_names_the_first_keys_and_counts_the_rest(lite0_state_dict, tmp_path, capsys):
    assert _in_process("erfnet_cityscapes", lite0_state_dict, tmp_path) == 2
    line = _single_error_line(capsys.readouterr().err)
    own = set(build_lmanet(backbone="erfnet", memory_size=3, window=21, num_classes=20).state_dict())
    theirs = set(torch.load(lite0_state_dict, weights_only=True))
    missing = sorted(own - theirs)
    assert f"missing keys ({len(missing)})" in line and f"unexpected keys ({len(theirs - own)})" in line
    assert sum(name in line for name in missing) <= 3 and "more" in line


def test_checkpoint_of_a_network_that_is_not_lmanet_is_named(tmp_path, capsys):
    from ltr_ext.train_settings.examples.tiny import tiny_segnet

    net = tiny_segnet()
    path = tmp_path / "tiny.pth.tar"
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, path)
    assert _in_process("lite0_camvid", path, tmp_path) == 2
    line = _single_error_line(capsys.readouterr().err)
    assert str(path) in line and "TinySegNet" in line and "LMANet" in line


def test_unknown_empty_memory_policy_is_a_one_line_error(good_checkpoint, tmp_path, capsys):
    code = main(
        [
            "lmanet",
            "lite0_camvid",
            "--dataset",
            "camvid",
            "--root",
            str(tmp_path),
            "--set",
            f"net_path={str(good_checkpoint)!r}",
            "--set",
            "use_gpu=False",
            "--set",
            "empty_memory='sometimes'",
        ]
    )
    line = _single_error_line(capsys.readouterr().err)
    assert code == 2 and "empty_memory" in line and "'sometimes'" in line and "'available'" in line


@pytest.mark.parametrize("size", [0.5, "3", -2])
def test_streamer_rejects_a_memory_size_that_is_not_a_positive_integer(size):
    from pytracking_ext.errors import PytrackingError
    from segmentation_plugins.lmanet.inference import LMANetStreamer

    net = build_lmanet(**SMALL_LMANET)
    with pytest.raises(PytrackingError, match="memory_size must be a positive integer"):
        LMANetStreamer(net, size)
