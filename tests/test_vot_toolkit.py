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

from vot.region.io import read_trajectory

from pytracking_ext.synthetic import generate_dataset
from pytracking_ext.utils.vot_region import encode_mask
from pytracking_ext.vot.trackers_ini import trackers_ini_entry

pytestmark = pytest.mark.slow

NUM_SEQUENCES, NUM_FRAMES = 2, 10
#: (tracker, parameters) served through TraX, the name the toolkit knows it by, and the region it reports
TRACKERS = [
    ("opencv_mil", "default", "opencv_mil_default", "Rectangle"),
    ("opencv_mil", "mask", "opencv_mil_mask", "Mask"),
    ("rts", "rts_small", "rts_rts_small", "Mask"),
]
NAMES = [name for _, _, name, _ in TRACKERS]
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
    result = subprocess.run(
        [*vot, *args, "--workspace", str(workspace)],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _make_workspace(root: Path, multiobject: bool) -> tuple[Path, list[str]]:
    dataset = generate_dataset(
        "vot", root / "generated", NUM_SEQUENCES, NUM_FRAMES, seed=0, vot_region="mask", progress=False
    )
    workspace = root / "workspace"
    workspace.mkdir()
    (workspace / "sequences").symlink_to(dataset.root / "sequences", target_is_directory=True)
    names = (dataset.root / "sequences" / "list.txt").read_text().split()
    if multiobject:
        for name in names:
            _add_second_object(dataset.root / "sequences" / name)
    (workspace / "stack.yaml").write_text(STACK.format(multiobject=multiobject))
    (workspace / "config.yaml").write_text("stack: ./stack.yaml\nregistry:\n- ./trackers.ini\n")
    entries = [trackers_ini_entry(tracker, param, multiobject=multiobject) for tracker, param, _, _ in TRACKERS]
    (workspace / "trackers.ini").write_text("\n".join(entries))
    return workspace, names


def _add_second_object(folder: Path) -> None:
    """VOTS layout: ``groundtruth_<id>.txt`` per object; the second object is a still square."""
    (folder / "groundtruth.txt").rename(folder / "groundtruth_1.txt")
    square = np.zeros((240, 320), np.uint8)
    square[10:40, 20:60] = 1
    (folder / "groundtruth_2.txt").write_text((encode_mask(square) + "\n") * NUM_FRAMES)


def _check_results(workspace: Path, names: list[str], object_suffixes: list[str]) -> None:
    for _, _, tracker, region_type in TRACKERS:
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
    _vot(workspace, "analysis", "--name", "tiny", "--format", "json", *NAMES)
    report = json.loads((workspace / "analysis" / "tiny.json").read_text())
    assert set(report["trackers"]) == set(NAMES)
    accuracies = np.array(report["results"]["baseline"]["results"], dtype=float).ravel()
    assert accuracies.shape == (len(NAMES),)
    assert np.all((accuracies > 0.1) & (accuracies <= 1.0))
    return dict(zip(report["trackers"], accuracies))


def test_vot_evaluate_and_analysis_run_rts_and_the_box_and_mask_baselines(tmp_path):
    workspace, names = _make_workspace(tmp_path, multiobject=False)
    _vot(workspace, "evaluate", *NAMES)
    _check_results(workspace, names, [""])
    accuracy = _check_analysis(workspace)
    # the shipped RTS segments the generated objects far better than a box-filled MIL mask
    assert accuracy["rts_rts_small"] > accuracy["opencv_mil_mask"]


def test_vots_multiobject_evaluate_and_analysis(tmp_path):
    workspace, names = _make_workspace(tmp_path, multiobject=True)
    _vot(workspace, "evaluate", *NAMES)
    _check_results(workspace, names, ["_1", "_2"])
    _check_analysis(workspace)
