"""Inference precision: fp32 by default, bf16 only where the device computes it natively."""

from __future__ import annotations

import pytest
import torch

from pytracking_ext.errors import SettingsError
from pytracking_ext.evaluation import precision
from pytracking_ext.evaluation.network_loading import NetworkSpec


@pytest.fixture
def cpu_has_bf16(monkeypatch):
    """Pretend the CPU does (True) or does not (False) have native bf16 arithmetic."""

    def pretend(native: bool) -> None:
        precision.native_bf16.cache_clear()
        monkeypatch.setattr(precision, "cpu_flags", lambda *_: frozenset({"avx512_bf16"} if native else {"avx2"}))

    yield pretend
    precision.native_bf16.cache_clear()


def test_fp32_is_the_default_and_never_depends_on_the_device():
    assert NetworkSpec("x.pth").precision == "fp32"
    assert precision.resolve_precision("fp32", "cpu") is torch.float32


def test_auto_takes_bf16_only_with_native_support(cpu_has_bf16):
    cpu_has_bf16(True)
    assert precision.resolve_precision("auto", "cpu") is torch.bfloat16
    cpu_has_bf16(False)
    assert precision.resolve_precision("auto", "cpu") is torch.float32


def test_explicit_bf16_without_native_support_falls_back_to_fp32_with_a_warning(cpu_has_bf16):
    cpu_has_bf16(False)
    with pytest.warns(UserWarning, match="no native bf16"):
        assert precision.resolve_precision("bf16", "cpu") is torch.float32


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n")
    assert {"avx512_bf16", "amx_tile"} <= precision.cpu_flags(info)
    assert precision.cpu_flags(tmp_path / "missing") == frozenset()


def test_unknown_precision_is_a_one_line_settings_error():
    with pytest.raises(SettingsError, match="precision must be one of fp32, bf16, auto, got 'fp16'"):
        NetworkSpec("x.pth", precision="fp16").dtype("cpu")
