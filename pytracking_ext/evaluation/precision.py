"""Inference precision: ``fp32``, ``bf16``, or ``auto`` (bf16 only where the device computes it natively).

bf16 pays only on hardware with native bf16 arithmetic: AMX or AVX-512 BF16 on a CPU, tensor cores
of compute capability 8 or newer on CUDA. Elsewhere PyTorch emulates it, which is slower than fp32,
so ``auto`` never chooses it there, and an explicit ``bf16`` on such a device falls back to fp32
with a warning instead of running the slow path.
"""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path

import torch

from ..errors import SettingsError

PRECISIONS = ("fp32", "bf16", "auto")
#: CPU flags (as Linux lists them in /proc/cpuinfo) of native bf16 arithmetic
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
#: CUDA compute capability from which bf16 runs on tensor cores (Ampere)
CUDA_BF16_CAPABILITY = (8, 0)
_CPUINFO = Path("/proc/cpuinfo")

logger = logging.getLogger(__name__)


def cpu_flags(cpuinfo: Path = _CPUINFO) -> frozenset[str]:
    """The CPU's feature flags (empty where the system does not list them)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@functools.cache
def native_bf16(device_type: str) -> bool:
    """Whether ``device_type`` ('cpu' or 'cuda') computes bf16 natively on this machine."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability() >= CUDA_BF16_CAPABILITY
    if device_type == "cpu":
        return any(flag in cpu_flags() for flag in CPU_BF16_FLAGS)
    return False


def resolve_precision(precision: str, device: torch.device | str) -> torch.dtype:
    """The dtype to run a network's convolutions in: ``fp32``, ``bf16`` or ``auto`` on ``device``.

    An explicit ``bf16`` on a device without native support falls back to fp32 with a warning.
    The choice of ``auto``/``bf16`` is logged once per (precision, device type).
    """
    if precision not in PRECISIONS:
        raise SettingsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return torch.float32
    device_type = torch.device(device).type
    native = native_bf16(device_type)
    if precision == "bf16" and not native:
        warnings.warn(
            f"precision 'bf16' asked for, but this {device_type} has no native bf16 arithmetic "
            "(emulated bf16 is slower than fp32): running in fp32",
            stacklevel=2,
        )
    _log_choice(precision, device_type, native)
    return torch.bfloat16 if native else torch.float32


@functools.cache
def _log_choice(precision: str, device_type: str, native: bool) -> None:
    logger.info(
        "precision %s on %s: %s", precision, device_type, "bf16 (native)" if native else "fp32 (no native bf16)"
    )
