"""Presence precision / recall / F1 (pytracking_ext.analysis.presence_metrics) and its analysis hook."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytracking_ext.analysis import __main__ as cli
from pytracking_ext.analysis import presence_metrics as pm
from pytracking_ext.analysis.evaluate import evaluate_presence, group_specs
from pytracking_ext.errors import ResultsError
from pytracking_ext.evaluation.data import Sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.settings import env_settings


def test_counts_on_a_hand_made_case():
    # visible: 6 frames, absent: 4; declared present at 0.5: 5 of the visible, 1 of the absent
    scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.1, 0.6, 0.2, 0.1, 0.0]
    present = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    r = pm.presence_at(scores, np.asarray(present, bool), 0.5)
    assert (r.frames, r.absent_frames) == (10, 4)
    assert r.precision == pytest.approx(5 / 6) and r.recall == pytest.approx(5 / 6)
    assert r.f1 == pytest.approx(5 / 6)
    assert r.absent_precision == pytest.approx(3 / 4) and r.absent_recall == pytest.approx(3 / 4)
    assert r.absent_f1 == pytest.approx(3 / 4)


def test_a_score_equal_to_the_threshold_counts_as_present():
    r = pm.presence_at([0.5, 0.2], [True, False], 0.5)
    assert r.precision == 1.0 and r.recall == 1.0 and r.absent_recall == 1.0


def test_no_absent_frame_leaves_absent_recall_undefined_and_counts_false_alarms():
    r = pm.presence_at([0.9, 0.1, 0.8], [True, True, True], 0.5)
    assert math.isnan(r.absent_recall) and math.isnan(r.absent_f1)
    assert r.absent_precision == 0.0  # the one declared-absent frame is a false alarm
    assert r.recall == pytest.approx(2 / 3) and r.precision == 1.0


def test_nothing_declared_present_gives_nan_precision_and_zero_recall():
    r = pm.presence_at([0.1, 0.2], [True, False], 0.9)
    assert math.isnan(r.precision) and r.recall == 0.0 and math.isnan(r.f1)


def test_all_wrong_gives_zero_f1():
    r = pm.presence_at([0.0, 1.0], [True, False], 0.5)
    assert r.f1 == 0.0 and r.absent_f1 == 0.0


def test_sweep_picks_the_threshold_separating_the_classes():
    present = np.array([True] * 5 + [False] * 5)
    scores = np.r_[np.full(5, 0.7), np.full(5, 0.2)]
    best = pm.best_threshold(pm.presence_sweep(scores, present))
    assert best.absent_f1 == 1.0 and best.f1 == 1.0
    assert best.threshold == pytest.approx(0.21)  # ties: the smallest perfect threshold


def test_summary_reports_the_chosen_threshold():
    summary = pm.summarize([0.9, 0.1], [True, False], threshold=0.3, sequences=1)
    assert summary.at_threshold.threshold == 0.3 and summary.at_threshold.f1 == 1.0
    assert "at presence_threshold 0.30" in pm.format_summary("t", summary)


def test_mismatched_lengths_and_nan_are_errors():
    with pytest.raises(ValueError, match="3 presence scores for 2"):
        pm.presence_at([0.1, 0.2, 0.3], [True, False], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        pm.presence_at([float("nan")], [True], 0.5)


def test_ground_truth_uses_visibility_flags_else_box_size():
    boxes = np.array([[1, 1, 5, 5], [0, 0, 0, 0], [np.nan] * 4, [1, 1, 5, 5]], float)
    flagged = Sequence("a", ["f"] * 4, "lasot", boxes, target_visible=np.array([1, 1, 0, 1], bool))
    assert pm.ground_truth_presence(flagged).tolist() == [True, True, False, True]
    plain = Sequence("b", ["f"] * 4, "got10k", boxes)
    assert pm.ground_truth_presence(plain).tolist() == [True, False, False, True]


def test_bad_presence_file_names_file_and_line(tmp_path):
    path = tmp_path / "s_object_presence_scores.txt"
    path.write_text("0.5\nabc\n")
    with pytest.raises(ResultsError, match=r"s_object_presence_scores.txt: line 2"):
        pm.read_presence_scores(path)
    with pytest.raises(ResultsError, match="not found"):
        pm.read_presence_scores(tmp_path / "missing.txt")


def _results(tmp_path, monkeypatch, scores_by_seq):
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("PYTRACKING_RESULT_PLOT_PATH", str(tmp_path / "plots"))
    settings = env_settings()
    spec = TrackerSpec("rts", "rts_small")
    folder = spec.results_dir(settings)
    folder.mkdir(parents=True)
    sequences = []
    for name, (scores, visible) in scores_by_seq.items():
        n = len(visible)
        boxes = np.tile([5.0, 5.0, 10.0, 10.0], (n, 1))
        sequences.append(Sequence(name, [f"/x/{i}.jpg" for i in range(n)], "lasot", boxes, target_visible=visible))
        if scores is not None:
            (folder / f"{name}_object_presence_scores.txt").write_text("\n".join(f"{s:.6f}" for s in scores))
    return settings, spec, sequences


def test_evaluate_presence_pools_sequences_with_files_and_skips_the_init_frame(tmp_path, monkeypatch):
    visible = np.array([1, 1, 0, 0, 1], bool)
    settings, spec, sequences = _results(
        tmp_path,
        monkeypatch,
        {"a": ([0.0, 0.9, 0.1, 0.2, 0.8], visible), "b": ([1.0, 0.9, 0.9, 0.1, 0.9], visible), "c": (None, visible)},
    )
    ev = evaluate_presence(sequences, group_specs([spec])[0], settings, threshold=0.5)
    assert ev.presence.sequences == 2 and ev.presence.best.frames == 8
    at = ev.presence.at_threshold
    assert (at.absent_precision, at.absent_recall) == (1.0, 0.75)


def test_evaluate_presence_without_files_leaves_no_summary(tmp_path, monkeypatch):
    settings, spec, sequences = _results(tmp_path, monkeypatch, {"a": (None, np.ones(3, bool))})
    assert evaluate_presence(sequences, group_specs([spec])[0], settings).presence is None


def test_evaluate_presence_reads_the_parameter_sets_threshold(tmp_path, monkeypatch):
    settings, spec, sequences = _results(tmp_path, monkeypatch, {"a": ([1.0, 0.9, 0.1], np.array([1, 1, 0], bool))})
    ev = evaluate_presence(sequences, group_specs([spec])[0], settings)
    from pytracking_ext.trackers import get_parameters

    assert ev.presence.at_threshold.threshold == get_parameters("rts", "rts_small").presence_threshold


def test_presence_file_of_wrong_length_is_an_error(tmp_path, monkeypatch):
    settings, spec, sequences = _results(tmp_path, monkeypatch, {"a": ([1.0, 0.9], np.ones(3, bool))})
    with pytest.raises(ResultsError, match="2 presence scores, the sequence has 3 frames"):
        evaluate_presence(sequences, group_specs([spec])[0], settings)


def test_cli_prints_presence_lines(tmp_path, monkeypatch, capsys):
    visible = np.array([1, 1, 0, 0, 1], bool)
    settings, spec, sequences = _results(tmp_path, monkeypatch, {"a": ([1.0, 0.9, 0.1, 0.2, 0.8], visible)})
    folder = spec.results_dir(settings)
    (folder / "a.txt").write_text("\n".join("5,5,10,10" for _ in range(5)))
    monkeypatch.setattr(cli, "run_report", _run_report_with(sequences))
    assert cli.main(["--trackers", "rts:rts_small", "--dataset", "toy", "--presence-threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "presence rts_rts_small: 1 sequences, 4 frames (2 absent)" in out
    assert "at --presence-threshold 0.50: present P/R/F1 100.0/100.0/100.0" in out


def _run_report_with(sequences):
    from pytracking_ext.analysis import report

    def run(options, settings):
        return report.run_report(options, settings, sequences=sequences)

    return run


def test_the_summary_table_has_presence_columns_when_results_have_scores(tmp_path, monkeypatch):
    from pytracking_ext.analysis.tables import summary_columns, summary_row

    visible = np.array([1, 1, 0, 0, 1], bool)
    settings, spec, sequences = _results(tmp_path, monkeypatch, {"a": ([1.0, 0.9, 0.1, 0.2, 0.8], visible)})
    ev = evaluate_presence(sequences, group_specs([spec])[0], settings, threshold=0.5)
    row = summary_row(ev, "toy", 1)
    assert (row["presence_threshold"], row["absent_recall"], row["absent_f1_best"]) == (0.5, 100.0, 100.0)
    assert "absent_f1_best_threshold" in summary_columns([row])
    bare = summary_row(evaluate_presence(sequences[:0], group_specs([spec])[0], settings), "toy", 0)
    assert "presence_threshold" not in summary_columns([bare])
