"""``python -m pytracking_ext.analysis`` on tiny generated result folders."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from pytracking_ext.analysis import __main__ as cli
from pytracking_ext.analysis import box_metrics as bm
from pytracking_ext.analysis import report as report_module
from pytracking_ext.analysis.report import ReportOptions, run_report
from pytracking_ext.evaluation.data import Sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec, trackerlist
from pytracking_ext.settings import env_settings
from pytracking_ext.utils.io import atomic_savetxt, imwrite_indexed, imwrite_rgb

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_lasot_like(n_seq=3, n_frames=8, seed=0):
    rng = np.random.default_rng(seed)
    attributes = [["FOC", "SV"], ["SV"], ["IV"]]
    sequences = []
    for k in range(n_seq):
        anno = np.column_stack(
            [
                rng.uniform(5, 50, n_frames),
                rng.uniform(5, 50, n_frames),
                rng.uniform(10, 30, n_frames),
                rng.uniform(10, 30, n_frames),
            ]
        ).round(2)
        visible = np.ones(n_frames, bool)
        visible[n_frames // 2] = False
        sequences.append(
            Sequence(
                f"cls-{k + 1}",
                [f"/img/{k}/{i:08d}.jpg" for i in range(n_frames)],
                "lasot",
                anno,
                target_visible=visible,
                attributes=attributes[k % 3],
            )
        )
    return sequences


def write_boxes(spec: TrackerSpec, sequences, settings, noise: float, seed: int):
    rng = np.random.default_rng(seed)
    for seq in sequences:
        pred = seq.ground_truth_rect + rng.normal(0, noise, seq.ground_truth_rect.shape)
        pred[:, 2:] = np.abs(pred[:, 2:]) + 1
        atomic_savetxt(spec.results_dir(settings) / f"{seq.name}.txt", pred, fmt="%.2f")


@pytest.fixture
def lasot_results(workspace, monkeypatch):
    settings = env_settings()
    sequences = make_lasot_like()
    for run in range(2):
        write_boxes(TrackerSpec("good", "p", run), sequences, settings, 1.0, seed=run)
    write_boxes(TrackerSpec("bad", "q"), sequences, settings, 8.0, seed=7)
    monkeypatch.setattr(report_module, "load_sequences", lambda name, settings, root=None: list(sequences))
    return settings, sequences


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cli_writes_summary_tables_and_plots(lasot_results, capsys):
    settings, _ = lasot_results
    assert cli.main(["--trackers", "good:p:0-1", "bad:q", "--dataset", "lasot", "--plot"]) == 0
    folder = settings.result_plot_path
    rows = read_csv(f"{folder}/lasot/summary.csv")
    assert [(r["tracker"], r["param"], r["dataset"]) for r in rows] == [("good", "p", "lasot"), ("bad", "q", "lasot")]
    assert {"auc", "op50", "op75", "precision", "norm_precision"} <= set(rows[0])
    assert all(len(r["auc"].split(".")[1]) == 2 for r in rows)
    md = open(f"{folder}/lasot/summary.md").read()
    assert "| tracker | param | dataset | auc |" in md
    assert "good" in capsys.readouterr().out
    for name in ("success", "precision", "norm_precision", "attributes"):
        with open(f"{folder}/lasot/{name}.png", "rb") as f:
            assert f.read(8) == PNG_MAGIC
    per_seq = read_csv(f"{folder}/lasot/per_sequence.csv")
    assert [r["sequence"] for r in per_seq] == ["cls-1", "cls-2", "cls-3"]
    attrs = read_csv(f"{folder}/lasot/attributes.csv")
    assert {r["attribute"] for r in attrs} == {"FOC", "SV", "IV"}


def test_summary_values_are_run_averaged_sequence_curves(lasot_results):
    settings, sequences = lasot_results
    report = run_report(ReportOptions("lasot", trackerlist("good", "p", range(2))), settings)
    per_seq = []
    for seq in sequences:
        runs = []
        for run in range(2):
            pred = np.loadtxt(TrackerSpec("good", "p", run).results_dir(settings) / f"{seq.name}.txt")
            runs.append(
                bm.sequence_curves(bm.sequence_errors(pred, seq.ground_truth_rect, "lasot", seq.target_visible))
            )
        per_seq.append(np.mean([c.success for c in runs], axis=0))
    expected = np.mean(per_seq, axis=0)
    assert report.evaluations[0].scores.auc == pytest.approx(expected.mean() * 100)
    assert float(report.rows[0]["op75"]) == pytest.approx(expected[15] * 100)


def test_report_name_sets_the_output_folder(lasot_results):
    settings, _ = lasot_results
    assert cli.main(["--trackers", "bad:q", "--dataset", "lasot", "--report", "mine"]) == 0
    rows = read_csv(f"{settings.result_plot_path}/mine/summary.csv")
    assert rows[0]["tracker"] == "bad"


def test_missing_results_file_is_a_one_line_error(lasot_results, capsys):
    settings, _ = lasot_results
    (TrackerSpec("bad", "q").results_dir(settings) / "cls-2.txt").unlink()
    assert cli.main(["--trackers", "good:p:0-1", "bad:q", "--dataset", "lasot"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cls-2.txt" in err and "--skip-missing" in err


def test_skip_missing_drops_the_sequence_for_all_trackers(lasot_results, capsys):
    settings, _ = lasot_results
    (TrackerSpec("bad", "q").results_dir(settings) / "cls-2.txt").unlink()
    assert cli.main(["--trackers", "good:p:0-1", "bad:q", "--dataset", "lasot", "--skip-missing"]) == 0
    assert "skipped 1 sequence(s)" in capsys.readouterr().out
    rows = read_csv(f"{settings.result_plot_path}/lasot/summary.csv")
    assert [r["sequences"] for r in rows] == ["2", "2"]


def test_corrupt_results_file_names_file_and_line(lasot_results, capsys):
    settings, _ = lasot_results
    path = TrackerSpec("bad", "q").results_dir(settings) / "cls-1.txt"
    path.write_text(path.read_text() + "1\t2\t3\n")
    assert cli.main(["--trackers", "bad:q", "--dataset", "lasot"]) == 2
    err = capsys.readouterr().err
    assert "cls-1.txt: line 9 has 3 values" in err


def test_strict_protocol_is_selectable(lasot_results):
    settings, _ = lasot_results
    assert cli.main(["--trackers", "bad:q", "--dataset", "lasot", "--protocol", "strict", "--report", "s"]) == 0
    assert cli.main(["--trackers", "bad:q", "--dataset", "lasot", "--report", "p"]) == 0
    strict = read_csv(f"{settings.result_plot_path}/s/summary.csv")[0]
    default = read_csv(f"{settings.result_plot_path}/p/summary.csv")[0]
    assert float(strict["norm_precision"]) != float(default["norm_precision"])


def test_got10k_report_adds_ao_and_sr_columns(workspace, tmp_path):
    settings = env_settings()
    frames = []
    for i in range(5):
        imwrite_rgb(tmp_path / f"{i + 1:08d}.jpg", np.zeros((40, 60, 3), np.uint8))
        frames.append(str(tmp_path / f"{i + 1:08d}.jpg"))
    anno = np.array([[10, 10, 20, 15]] * 5, np.float64)
    seq = Sequence("GOT-10k_Val_000001", frames, "got10k", anno, target_visible=np.array([1, 1, 0, 1, 1], bool))
    spec = TrackerSpec("t", "p")
    pred = anno.copy()
    pred[3:, 0] += 10  # IoU 1/3 in frames 3 and 4
    atomic_savetxt(spec.results_dir(settings) / f"{seq.name}.txt", pred)
    report = run_report(ReportOptions("got10k_val", [spec]), settings, sequences=[seq])
    row = read_csv(report.folder / "summary.csv")[0]
    assert float(row["ao"]) == pytest.approx(100 * (1 + 1 / 3 + 1 / 3) / 3, abs=0.01)
    assert row["sr50"] == "33.33" and row["sr75"] == "33.33"


def test_vos_report_adds_j_f_and_jf_columns(workspace, tmp_path):
    settings = env_settings()
    spec = TrackerSpec("t", "p")
    label = np.zeros((30, 40), np.uint8)
    label[5:15, 5:15] = 1
    gt_paths = []
    for i in range(4):
        gt_paths.append(str(tmp_path / f"{i:05d}.png"))
        imwrite_indexed(gt_paths[-1], label)
        imwrite_indexed(spec.segmentation_dir(settings) / "vid" / f"{i:05d}.png", label)
    seq = Sequence(
        "vid",
        [f"/x/{i:05d}.jpg" for i in range(4)],
        "DAVIS",
        {"1": np.zeros((4, 4))},
        ground_truth_seg=gt_paths,
        object_ids=["1"],
        multiobj_mode=True,
    )
    report = run_report(ReportOptions("dv2017_val", [spec], plot=True), settings, sequences=[seq])
    row = read_csv(report.folder / "summary.csv")[0]
    assert (row["J"], row["F"], row["JF"]) == ("100.00", "100.00", "100.00")
    assert row["auc"] == ""
    assert read_csv(report.folder / "per_object.csv")[0]["object"] == "1"


def test_youtubevos_report_adds_seen_and_unseen_columns(workspace, tmp_path):
    import json

    from pytracking_ext.utils.io import atomic_write_text

    settings = env_settings()
    spec = TrackerSpec("t", "p")
    root = tmp_path / "ytvos"
    meta = {"videos": {"t0": {"objects": {"1": {"category": "cat", "frames": []}}}}}
    atomic_write_text(root / "2019" / "train" / "meta.json", json.dumps(meta))
    meta = {
        "videos": {"vid": {"objects": {"1": {"category": "cat", "frames": []}, "2": {"category": "yak", "frames": []}}}}
    }
    atomic_write_text(root / "2019" / "valid_gt" / "meta.json", json.dumps(meta))
    gt_paths = []
    for i in range(5):
        label = np.zeros((30, 40), np.uint8)
        label[2:10, 2:10] = 1
        if i >= 1:
            label[15:25, 20:30] = 2  # object 2 starts at frame 1
        gt_paths.append(str(tmp_path / f"{i * 5:05d}.png"))
        imwrite_indexed(gt_paths[-1], label)
        pred = label.copy()
        pred[pred == 2] = 0  # object 2 never predicted: J = 0
        imwrite_indexed(spec.segmentation_dir(settings) / "vid" / f"{i * 5:05d}.png", pred)
    seq = Sequence(
        "vid",
        [f"/x/{i * 5:05d}.jpg" for i in range(5)],
        "YouTubeVOS",
        {"1": np.zeros((5, 4)), "2": np.zeros((5, 4))},
        ground_truth_seg=gt_paths,
        init_data={0: {"object_ids": ["1"]}, 1: {"object_ids": ["2"]}},
        object_ids=["1", "2"],
        multiobj_mode=True,
    )
    options = ReportOptions("yt2019_valid_gt", [spec], dataset_path=str(root))
    row = read_csv(run_report(options, settings, sequences=[seq]).folder / "summary.csv")[0]
    assert (row["J_seen"], row["J_unseen"], row["F_unseen"]) == ("100.00", "0.00", "0.00")
    assert row["overall"] == "50.00"


def test_help_lists_the_documented_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for option in ("--trackers", "--dataset", "--plot", "--report", "--protocol", "--dataset_path", "--skip-missing"):
        assert option in out
