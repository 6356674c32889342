"""The whole evaluation pipeline on generated benchmarks: generate -> run_tracker -> analysis."""

import csv

from pytracking_ext import run_tracker
from pytracking_ext.analysis.__main__ import main as analysis_main
from pytracking_ext.demo import main as demo_main
from pytracking_ext.synthetic import generate


def _summary(workspace, report):
    with open(workspace / "result_plots" / report / "summary.csv") as f:
        return list(csv.DictReader(f))


def test_lasot_format_run_and_analysis(workspace, tmp_path):
    root = generate("lasot", tmp_path / "lasot", num_sequences=2, num_frames=12, seed=1)
    assert run_tracker.main(["opencv_mil", "default", "--dataset_name", "lasot", "--dataset_path", str(root)]) == 0
    assert (
        analysis_main(
            [
                "--trackers",
                "opencv_mil:default",
                "--dataset",
                "lasot",
                "--dataset_path",
                str(root),
                "--plot",
                "--report",
                "e2e",
            ]
        )
        == 0
    )
    row = _summary(workspace, "e2e")[0]
    assert row["tracker"] == "opencv_mil" and 0 <= float(row["auc"]) <= 100
    assert (workspace / "result_plots" / "e2e" / "success.png").stat().st_size > 1000


def test_davis_format_run_and_vos_analysis(workspace, tmp_path):
    root = generate("davis", tmp_path / "davis", num_sequences=2, num_frames=8, seed=2, num_objects=2)
    assert run_tracker.main(["opencv_mil", "mask", "--dataset_name", "dv2017_val", "--dataset_path", str(root)]) == 0
    assert (
        analysis_main(
            ["--trackers", "opencv_mil:mask", "--dataset", "dv2017_val", "--dataset_path", str(root), "--report", "vos"]
        )
        == 0
    )
    row = _summary(workspace, "vos")[0]
    assert 0 < float(row["JF"]) <= 100


def test_unknown_dataset_lists_the_known_keys(workspace, capsys):
    assert run_tracker.main(["opencv_mil", "default", "--dataset_name", "nope"]) == 2
    assert "known datasets:" in capsys.readouterr().err


def test_unknown_tracker_fails_before_any_sequence_runs(workspace, tmp_path, capsys):
    root = generate("lasot", tmp_path / "lasot", num_sequences=1, num_frames=3, seed=1)
    assert run_tracker.main(["nope", "default", "--dataset_name", "lasot", "--dataset_path", str(root)]) == 2
    assert "known trackers: " in capsys.readouterr().err


def test_demo_runs_on_its_embedded_default(workspace, tmp_path):
    assert demo_main(["--out", str(tmp_path / "demo"), "--num-sequences", "1", "--num-frames", "10"]) == 0
    assert (tmp_path / "demo" / "result_plots" / "demo" / "success.png").is_file()
    assert list((tmp_path / "demo").glob("overlay_*.mp4"))
