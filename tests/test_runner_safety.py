"""The dataset runner is safe by default: results commit as a unit, the results folder is checked
before any tracking, Ctrl-C ends with one line, and degenerate init boxes get the right message."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pytracking_ext import run_experiment, run_tracker
from pytracking_ext.errors import PytrackingError, TrackerInputError
from pytracking_ext.evaluation import running, tracker_factory
from pytracking_ext.evaluation.results import results_complete
from pytracking_ext.evaluation.running import run_dataset, run_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.settings import env_settings
from pytracking_ext.synthetic import generate
from pytracking_ext.trackers.base import BaseTracker
from pytracking_ext.trackers.rts.box_init import box_to_mask as rts_box_to_mask
from pytracking_ext.utils.boxes import box_to_mask
from seqgen import moving_square_sequence

MASK_SPEC = TrackerSpec("opencv_mil", "mask")
REPO_ROOT = Path(__file__).resolve().parents[1]


class ShiftTracker(BaseTracker):
    """Deterministic mask tracker: the box moves ``SHIFT`` px right per frame (old and new runs differ by SHIFT)."""

    SHIFT = 1.0
    multiobj_mode = "default"

    def predicts_segmentation_mask(self) -> bool:
        return True

    def initialize(self, image, info):
        self.box, self.shape = list(info["init_bbox"]), image.shape[:2]
        return {"target_bbox": list(self.box), "segmentation": box_to_mask(self.box, self.shape)}

    def track(self, image, info=None):
        self.box[0] += self.SHIFT
        return {"target_bbox": list(self.box), "segmentation": box_to_mask(self.box, self.shape)}


@pytest.fixture
def shift_tracker(monkeypatch):
    monkeypatch.setattr(tracker_factory, "get_tracker_class", lambda name: ShiftTracker)
    return ShiftTracker


def _output_trees(workspace: Path) -> list[Path]:
    return [workspace / "tracking_results", workspace / "segmentation_results"]


def _snapshot(workspace: Path) -> dict[str, bytes]:
    """Deterministic result files (no times, no hidden bookkeeping) by path."""
    files = {}
    for tree in _output_trees(workspace):
        for path in sorted(tree.rglob("*")):
            if (
                path.is_file()
                and not path.name.startswith(".")
                and not path.name.endswith("_time.txt")
                and not any(part.startswith(".") for part in path.relative_to(tree).parts)
            ):
                files[str(path.relative_to(workspace))] = path.read_bytes()
    return files


def _restore(workspace: Path, backup: Path) -> None:
    for tree in _output_trees(workspace):
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(backup / tree.name, tree)


def _interrupt_at_replace(monkeypatch, n: int) -> list[int]:
    """Make the ``n``-th ``os.replace`` (every committed file goes through one) raise KeyboardInterrupt."""
    calls = [0]
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            raise KeyboardInterrupt
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_interrupted_overwrite_never_leaves_a_mix_that_counts_as_complete(
    workspace, tmp_path, shift_tracker, monkeypatch
):
    seq = moving_square_sequence(tmp_path, frames=4)
    settings = env_settings()
    ShiftTracker.SHIFT = 1.0
    assert run_sequence(seq, MASK_SPEC)[0] == "done"
    old = _snapshot(workspace)
    backup = tmp_path / "backup"
    for tree in _output_trees(workspace):
        shutil.copytree(tree, backup / tree.name)
    ShiftTracker.SHIFT = 2.0
    assert run_sequence(seq, MASK_SPEC, overwrite=True)[0] == "done"
    new = _snapshot(workspace)
    assert old != new

    n = 1
    while True:
        _restore(workspace, backup)
        with monkeypatch.context() as patch:
            calls = _interrupt_at_replace(patch, n)
            with contextlib.suppress(KeyboardInterrupt):
                run_sequence(seq, MASK_SPEC, overwrite=True, progress=False)
        if calls[0] < n:
            break  # the run finished before the n-th replace: every point has been tried
        state = _snapshot(workspace)
        complete = results_complete(seq, MASK_SPEC, settings, with_masks=True)
        assert not complete or state in (old, new), f"a mix of old and new files counts as complete (replace {n})"
        status, _ = run_sequence(seq, MASK_SPEC, progress=False)
        assert status == ("skipped" if complete else "done"), f"replace {n}"
        assert _snapshot(workspace) in (old, new) and results_complete(seq, MASK_SPEC, settings, with_masks=True)
        n += 1
    assert n > 5


def test_interrupted_overwrite_is_retracked_by_the_next_run(workspace, tmp_path, shift_tracker, monkeypatch):
    seq = moving_square_sequence(tmp_path, frames=4)
    ShiftTracker.SHIFT = 1.0
    run_sequence(seq, MASK_SPEC)
    ShiftTracker.SHIFT = 2.0

    def interrupted(self, image, info=None):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ShiftTracker, "track", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_sequence(seq, MASK_SPEC, overwrite=True, progress=False)
    assert run_sequence(seq, MASK_SPEC, progress=False)[0] == "done"
    boxes = np.loadtxt(workspace / "tracking_results" / "opencv_mil" / "mask" / "seq.txt")
    assert boxes[-1, 0] == boxes[0, 0] + 3 * 2.0  # the new tracker's results


def test_result_file_changed_after_commit_is_not_complete(workspace, tmp_path, shift_tracker):
    seq = moving_square_sequence(tmp_path, frames=3)
    run_sequence(seq, MASK_SPEC)
    (workspace / "tracking_results" / "opencv_mil" / "mask" / "seq.txt").write_text("1\t2\t3\t4\n")
    assert not results_complete(seq, MASK_SPEC, env_settings(), with_masks=True)
    assert run_sequence(seq, MASK_SPEC)[0] == "done"


def test_overwrite_removes_the_old_outputs_the_new_run_does_not_write(workspace, tmp_path):
    three = moving_square_sequence(tmp_path / "a", frames=3, objects=3, with_masks=True, size=(80, 120))
    run_sequence(three, MASK_SPEC)
    results = workspace / "tracking_results" / "opencv_mil" / "mask"
    assert (results / "seq_3.txt").is_file()
    two = moving_square_sequence(tmp_path / "b", frames=3, objects=2, with_masks=True, size=(80, 120))
    assert run_sequence(two, MASK_SPEC, overwrite=True)[0] == "done"
    assert (results / "seq_2.txt").is_file() and not (results / "seq_3.txt").exists()


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_unwritable_results_folder_fails_in_one_line_before_any_tracking(
    workspace, tmp_path, monkeypatch, capsys, where
):
    root = generate("lasot", tmp_path / "lasot", num_sequences=1, num_frames=3, seed=1)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(blocker if where == "file" else blocker / "results"))
    tracked = []
    monkeypatch.setattr(running, "track_sequence", lambda *a, **k: tracked.append(1))
    code = run_tracker.main(["opencv_mil", "default", "--dataset_name", "lasot", "--dataset_path", str(root)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error")]
    assert code == 2 and not tracked and "Traceback" not in err
    assert len(errors) == 1 and str(blocker) in errors[0] and "not writable" in errors[0]


def test_unwritable_segmentation_folder_fails_before_tracking_a_mask_tracker(workspace, tmp_path, monkeypatch):
    seq = moving_square_sequence(tmp_path, frames=3)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("PYTRACKING_SEGMENTATION_PATH", str(blocker))
    tracked = []
    monkeypatch.setattr(running, "track_sequence", lambda *a, **k: tracked.append(1))
    with pytest.raises(PytrackingError, match="blocker") as info:
        run_dataset([seq], [MASK_SPEC])
    assert not tracked and "\n" not in str(info.value)


def test_ctrl_c_in_run_experiment_prints_one_line_and_exits_130(workspace, tmp_path, monkeypatch, capsys):
    seqs = [moving_square_sequence(tmp_path, name=f"s{i}", frames=3, seed=i) for i in range(3)]
    calls = []

    def init_then_interrupt_on_the_second(self, image, info):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, image, info)

    from pytracking_ext.trackers.opencv_baselines import OpenCVTracker

    original = OpenCVTracker.initialize
    monkeypatch.setattr(OpenCVTracker, "initialize", init_then_interrupt_on_the_second)
    monkeypatch.setattr(
        run_experiment, "load_experiment", lambda module, name: lambda: ([TrackerSpec("opencv_mil", "default")], seqs)
    )
    code = run_experiment.main(["any", "thing"])
    captured = capsys.readouterr()
    assert code == 130 and "Traceback" not in captured.err + captured.out
    assert "interrupted: 1 of 3 sequences finished" in captured.err
    results = workspace / "tracking_results" / "opencv_mil" / "default"
    assert (results / "s0.txt").is_file() and not (results / "s1.txt").exists()


def test_ctrl_c_with_worker_processes_stops_them_and_keeps_finished_sequences(workspace, tmp_path, monkeypatch):
    seqs = [moving_square_sequence(tmp_path, name=f"s{i}", frames=3, seed=i) for i in range(3)]
    report = running._report

    def report_then_interrupt(bar, summary, key, status, message):
        report(bar, summary, key, status, message)
        raise KeyboardInterrupt

    monkeypatch.setattr(running, "_report", report_then_interrupt)
    spec = TrackerSpec("opencv_mil", "default")
    summary = run_dataset(seqs, [spec], threads=1)
    assert summary.interrupted and summary.exit_code == 130 and summary.finished == 1 and summary.total == 3
    finished = summary.done[0].split("/")[1]
    assert results_complete(next(s for s in seqs if s.name == finished), spec, env_settings(), with_masks=False)


def _lasot(root: Path):
    from pytracking_ext.datasets import get_dataset

    return get_dataset("lasot", settings=env_settings(), root=str(root))


SLOW_RUN = """
import sys, time
from pytracking_ext.trackers.opencv_baselines import OpenCVTracker
original = OpenCVTracker.track
def slow(self, image, info=None):
    time.sleep(0.03)
    return original(self, image, info)
OpenCVTracker.track = slow
from pytracking_ext.run_tracker import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_in_run_tracker_keeps_finished_sequences_and_exits_130(workspace, tmp_path):
    root = generate("lasot", tmp_path / "lasot", num_sequences=3, num_frames=25, seed=1)
    results = workspace / "tracking_results" / "opencv_mil" / "default"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    args = ["opencv_mil", "default", "--dataset_name", "lasot", "--dataset_path", str(root)]
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not list(results.glob("*.txt")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # let the first sequence's commit finish; the second one tracks for ~0.75 s
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted: ") and " of 3 sequences finished" in last and str(results) in last
    finished = int(last.split()[1])
    assert 1 <= finished < 3
    # The finished sequences are complete and skipped; the interrupted one is tracked again.
    resume = run_dataset(_lasot(root), [TrackerSpec("opencv_mil", "default")])
    assert len(resume.skipped) == finished and len(resume.done) == 3 - finished


def test_sub_pixel_init_box_inside_the_image_is_too_small_not_outside(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=2)
    seq.init_data[0]["bbox"] = [10.0, 10.0, 0.5, 0.5]
    status, message = run_sequence(seq, TrackerSpec("opencv_mil", "default"))
    assert status == "failed" and "too small" in message and "1x1" in message and "outside" not in message
    seq.init_data[0]["bbox"] = [500.0, 10.0, 0.5, 0.5]  # off the image it stays "outside"
    assert "outside the 80x64 image" in run_sequence(seq, TrackerSpec("opencv_mil", "default"))[1]


def test_rts_box_init_rejects_a_sub_pixel_box_as_too_small():
    image = np.zeros((40, 50, 3), np.uint8)
    with pytest.raises(TrackerInputError, match="too small"):
        rts_box_to_mask(image, [10.0, 10.0, 0.5, 0.5], "box")
