"""Issue 20's newcomer items: worker/threads names and a quiet pool (4), named per-sequence metrics (5),
seeded OpenCV baseline (6), one line per finished sequence in logs (7), honest presence files, contours (9)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from pytracking_ext.evaluation.running import build_tracker, run_sequence, track_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.settings import env_settings
from pytracking_ext.synthetic import generate
from pytracking_ext.utils.io import DAVIS_PALETTE
from pytracking_ext.utils.progress import Progress
from pytracking_ext.visualization import draw_overlay
from seqgen import moving_square_sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
MIL = TrackerSpec("opencv_mil", "default")


def _run_tracker(args: list[str], workspace: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-m", "pytracking_ext.run_tracker", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)


def test_two_worker_run_ends_without_leaked_semaphore_warning_and_one_line_per_sequence(workspace, tmp_path):
    root = generate("lasot", tmp_path / "lasot", num_sequences=3, num_frames=6, seed=2)
    args = ["opencv_mil", "default", "--dataset_name", "lasot", "--dataset_path", str(root), "--workers", "2"]
    result = _run_tracker(args, workspace)
    assert result.returncode == 0, result.stderr
    assert "leaked semaphore" not in result.stderr and "resource_tracker" not in result.stderr
    lines = result.stderr.strip().splitlines()  # stderr is a pipe here: no bars, one line per sequence
    assert len(lines) == 3 and all(line.startswith("sequences ") and "FPS" in line for line in lines)
    assert "\r" not in result.stderr


def test_threads_option_of_run_tracker_names_its_new_name(workspace):
    result = _run_tracker(["opencv_mil", "default", "--threads", "2"], workspace)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--threads was renamed --workers" in result.stderr


def test_progress_prints_one_line_per_item_when_not_a_terminal():
    stream = io.StringIO()
    with Progress(2, "sequences", stream=stream) as bar:
        bar.advance("a: 1.0 FPS")
        bar.advance("b: 2.0 FPS")
    assert stream.getvalue() == "sequences 1/2: a: 1.0 FPS\nsequences 2/2: b: 2.0 FPS\n"
    quiet = io.StringIO()
    with Progress(5, "frames", lines=False, stream=quiet) as bar:
        bar.advance()
    assert quiet.getvalue() == ""


def test_opencv_baseline_gives_the_same_boxes_after_another_tracker_ran(tmp_path, one_cv2_thread):
    seq = moving_square_sequence(tmp_path, frames=8, size=(96, 128))

    def boxes():
        return np.asarray(track_sequence(build_tracker(MIL), seq, progress=False).target_bbox)

    first = boxes()
    # What another tracker in the process does to the shared random generators.
    cv2.randu(np.zeros((64, 64), np.float32), 0, 1)
    boxes()
    np.testing.assert_array_equal(first, boxes())


def test_per_sequence_csv_names_the_metric_of_each_column(workspace, tmp_path):
    from pytracking_ext.analysis.report import ReportOptions, run_report
    from pytracking_ext.datasets import get_dataset

    root = generate("lasot", tmp_path / "lasot", num_sequences=2, num_frames=6, seed=4)
    sequences = list(get_dataset("lasot", settings=env_settings(), root=str(root)))
    for seq in sequences:
        assert run_sequence(seq, MIL, progress=False)[0] == "done"
    report = run_report(ReportOptions("lasot", [MIL]), env_settings(), sequences)
    rows = list(csv.DictReader(open(report.folder / "per_sequence.csv")))
    label = report.evaluations[0].group.label
    assert list(rows[0]) == ["sequence", f"{label}_auc", f"{label}_avg_overlap_valid"]
    mean_auc = np.mean([float(r[f"{label}_auc"]) for r in rows])
    assert abs(mean_auc - report.rows[0]["auc"]) < 0.01  # the summary's AUC is this column's mean


def test_no_presence_file_for_a_tracker_without_presence_scores(workspace, tmp_path, monkeypatch):
    from pytracking_ext.trackers.opencv_baselines import OpenCVTracker

    seq = moving_square_sequence(tmp_path, frames=4)
    assert run_sequence(seq, MIL, progress=False)[0] == "done"
    results = MIL.results_dir(env_settings())
    assert np.loadtxt(results / f"{seq.name}_object_presence_scores.txt").shape == (4,)

    original_init, original_track = OpenCVTracker.initialize, OpenCVTracker.track

    def without_score(method):
        def call(self, *args, **kwargs):
            out = method(self, *args, **kwargs)
            out.pop("object_presence_score", None)
            return out

        return call

    monkeypatch.setattr(OpenCVTracker, "initialize", without_score(original_init))
    monkeypatch.setattr(OpenCVTracker, "track", without_score(original_track))
    assert run_sequence(seq, MIL, overwrite=True, progress=False)[0] == "done"
    assert not (results / f"{seq.name}_object_presence_scores.txt").exists()
    assert (results / f"{seq.name}.txt").exists()


def test_overlay_outlines_each_mask_in_its_palette_colour():
    image = np.full((40, 40, 3), (200, 0, 0), np.uint8)  # a red scene: the red tint alone is invisible
    mask = np.zeros((40, 40), np.uint8)
    mask[10:30, 5:15] = 1
    mask[10:30, 25:35] = 2
    out = draw_overlay(image, None, mask)
    for object_id, column in [(1, 10), (2, 30)]:
        across_top_edge = out[6:15, column]
        assert np.any(np.all(across_top_edge == DAVIS_PALETTE[object_id], axis=-1))
        assert np.any(np.all(across_top_edge == (0, 0, 0), axis=-1))  # the dark edge under the outline


def test_presence_scores_are_kept_only_where_every_frame_has_one():
    from pytracking_ext.evaluation.running import complete_presence_scores

    assert complete_presence_scores([1.0, 0.5, 0.0], 3) == [1.0, 0.5, 0.0]
    assert complete_presence_scores([0.5, 0.0], 3) == []  # a frame without a score: no file at all
    per_object = [{"1": 1.0, "2": 1.0}, {"1": 0.4}, {"1": 0.3, "2": 0.9}]
    assert complete_presence_scores(per_object, 3) == [{"1": 1.0}, {"1": 0.4}, {"1": 0.3}]


def test_settings_listing_says_when_the_settings_file_is_not_present(tmp_path, monkeypatch):
    from pytracking_ext.settings import listing

    monkeypatch.setenv("PYTRACKING_SETTINGS", "")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert listing()[0].endswith("settings.toml (not present; --init writes it)")
