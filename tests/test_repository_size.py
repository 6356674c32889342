"""The repository's size rules (developers' guide): shipped models within their budgets, nothing else large."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
MODEL_FOLDERS = ("pytracking_ext/networks", "segmentation_plugins/networks")


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout: the size rules apply to the repository's tracked files")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def _shipped_models() -> list[Path]:
    return sorted(p for folder in MODEL_FOLDERS for p in (ROOT / folder).glob("*.safetensors"))


def test_each_shipped_model_is_at_most_20_mb_and_all_together_at_most_50_mb():
    models = _shipped_models()
    assert models, "no shipped model found"
    sizes = {p.name: p.stat().st_size for p in models}
    assert all(size <= 20 * MB for size in sizes.values()), sizes
    assert sum(sizes.values()) <= 50 * MB, sizes


def test_shipped_segmentation_models_are_at_most_15_mb_each():
    sizes = {p.name: p.stat().st_size for p in (ROOT / "segmentation_plugins" / "networks").glob("*.safetensors")}
    assert all(size <= 15 * MB for size in sizes.values()), sizes


def test_no_other_tracked_file_is_over_5_mb():
    models = set(_shipped_models())
    large = [str(p.relative_to(ROOT)) for p in _tracked_files() if p not in models and p.stat().st_size > 5 * MB]
    assert not large
