"""``benchmarks/evs_time_shares.py`` (thesis Fig. 3.5) on a tiny input: parts, shares and the chart."""

from pathlib import Path

import pytest

from script_loading import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "evs_time_shares.py"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT, "evs_time_shares")


def test_every_part_takes_time_and_the_shares_add_up_to_100_percent(script):
    result = script.measure("small", size=(64, 64), runs=2, warmup=1)
    assert set(result.parts) == {*script.PARTS, "other"}
    assert all(result.parts[name] > 0 for name in script.PARTS)
    assert result.icnet_ms > 0 and result.refiner_ms > 0 and result.iam_ms > 0
    assert sum(result.shares.values()) == pytest.approx(100.0)
    text = script.report(result)
    assert "trunk: low-level features" in text and "Refiner + IAM" in text and "% of ICNet" in text


def test_hooks_are_removed_after_the_measurement(script):
    import torch

    calls = []
    original = torch.nn.Module.register_forward_hook

    def counting(self, hook, *args, **kwargs):
        handle = original(self, hook, *args, **kwargs)
        calls.append((self, handle))
        return handle

    torch.nn.Module.register_forward_hook = counting
    try:
        script.measure("small", size=(64, 64), runs=1, warmup=0)
    finally:
        torch.nn.Module.register_forward_hook = original
    assert calls and all(not module._forward_hooks for module, _ in calls)


def test_cli_prints_the_table_and_writes_the_png(script, tmp_path, capsys):
    out = tmp_path / "shares.png"
    assert script.main(["--size", "64x64", "--runs", "1", "--warmup", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sum of the parts" in printed and "100.0%" in printed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_refuses_a_bad_size_in_one_line(script, capsys):
    with pytest.raises(SystemExit) as info:
        script.main(["--size", "64"])
    assert info.value.code != 0
    assert "--size takes WxH" in capsys.readouterr().err
