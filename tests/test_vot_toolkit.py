"""End to end: the real VOT toolkit (``vot evaluate`` / ``vot analysis``) runs our TraX server.

A workspace in a temporary folder holds a custom stack and generated sequences in VOT layout;
nothing is downloaded. The first ``vot analysis`` in a fresh environment compiles the toolkit's
numba code (~30 s), hence ``slow``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vot", reason="vot-toolkit is not installed (pip install vot-toolkit attributee==0.1.9)")
pytest.importorskip("trax", reason="vot-trax is not installed")

from vot.region.io import read_trajectory  # noqa: E402

from pytracking_ext.synthetic import generate_dataset  # noqa: E402
from pytracking_ext.utils.vot_region import encode_mask  # noqa: E402
from pytracking_ext.vot.trackers_ini import trackers_ini_entry  # noqa: E402

pytestmark = pytest.mark.slow

NUM_SEQUENCES, NUM_FRAMES = 2, 10
STACK = """title: tiny synthetic stack
experiments:
  baseline:
    type: unsupervised
    repetitions: 1
    multiobject: {multiobject}
    analyses:
      - type: average_accuracy
        name: accuracy
        burnin: 0
"""


def _vot(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    vot = [sys.executable, "-c", "from vot.utilities.cli import main; main()"]
    result = subprocess.run([*vot, *args, "--workspace", str(workspace)], cwd=workspace, capture_output=True,
                            text=True, timeout=600, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _make_workspace(root: Path, multiobject: bool) -> tuple[Path, list[str]]:
    dataset = generate_dataset("vot", root / "generated", NUM_SEQUENCES, NUM_FRAMES, seed=0, vot_region="mask",
                               progress=False)
    workspace = root / "workspace"
    workspace.mkdir()
    (workspace / "sequences").symlink_to(dataset.root / "sequences", target_is_directory=True)
    names = (dataset.root / "sequences" / "list.txt").read_text().split()
    if multiobject:
        for name in names:
            _add_second_object(dataset.root / "sequences" / name)
    (workspace / "stack.yaml").write_text(STACK.format(multiobject=multiobject))
    (workspace / "config.yaml").write_text("stack: ./stack.yaml\nregistry:\n- ./trackers.ini\n")
    entries = [trackers_ini_entry("opencv_mil", param, multiobject=multiobject) for param in ("default", "mask")]
    (workspace / "trackers.ini").write_text("\n".join(entries))
    return workspace, names


def _add_second_object(folder: Path) -> None:
    """VOTS layout: ``groundtruth_<id>.txt`` per object; the second object is a still square."""
    (folder / "groundtruth.txt").rename(folder / "groundtruth_1.txt")
    square = np.zeros((240, 320), np.uint8)
    square[10:40, 20:60] = 1
    (folder / "groundtruth_2.txt").write_text((encode_mask(square) + "\n") * NUM_FRAMES)


def _check_results(workspace: Path, names: list[str], object_suffixes: list[str]) -> None:
    for tracker, region_type in (("opencv_mil_default", "Rectangle"), ("opencv_mil_mask", "Mask")):
        for name in names:
            folder = workspace / "results" / tracker / "baseline" / name
            for suffix in object_suffixes:
                trajectory = read_trajectory(str(folder / f"{name}{suffix}_001.bin"))
                assert len(trajectory) == NUM_FRAMES
                # Frame 0 is the toolkit's initialisation marker, the rest are our replies.
                assert {type(region).__name__ for region in trajectory[1:]} == {region_type}
                times = (folder / f"{name}{suffix}_001_time.value").read_text().split()
                assert len(times) == NUM_FRAMES


def _check_analysis(workspace: Path) -> None:
    _vot(workspace, "analysis", "--name", "tiny", "--format", "json", "opencv_mil_default", "opencv_mil_mask")
    report = json.loads((workspace / "analysis" / "tiny.json").read_text())
    assert set(report["trackers"]) == {"opencv_mil_default", "opencv_mil_mask"}
    accuracies = np.array(report["results"]["baseline"]["results"], dtype=float).ravel()
    assert accuracies.shape == (2,)
    assert np.all((accuracies > 0.1) & (accuracies <= 1.0))


def test_vot_evaluate_and_analysis_run_the_box_and_mask_baselines(tmp_path):
    workspace, names = _make_workspace(tmp_path, multiobject=False)
    _vot(workspace, "evaluate", "opencv_mil_default", "opencv_mil_mask")
    _check_results(workspace, names, [""])
    _check_analysis(workspace)


def test_vots_multiobject_evaluate_and_analysis(tmp_path):
    workspace, names = _make_workspace(tmp_path, multiobject=True)
    _vot(workspace, "evaluate", "opencv_mil_default", "opencv_mil_mask")
    _check_results(workspace, names, ["_1", "_2"])
    _check_analysis(workspace)
