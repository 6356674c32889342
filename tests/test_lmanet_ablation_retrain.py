"""``benchmarks/lmanet_ablation_retrain.py``: retrain ablation rows once, tabulate retrained vs swapped figures."""

import json
import re
from pathlib import Path

import pytest

from script_loading import load_script
from segmentation_plugins.synthetic import generate_camvid

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "lmanet_ablation_retrain.py"
TINY = ["input_size=(64,48)", "batch_size=2", "num_workers=0", "generated_videos=0", "train_max_frame_step=2"]


def _script():
    return load_script(SCRIPT, "lmanet_ablation_retrain")


@pytest.fixture(scope="module")
def script():
    return _script()


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid")
    generate_camvid(root, videos=1, frames=4, size=(64, 48), seed=5, split=("train", "val"))
    return root


def _run(script, workspace, camvid, out, *extra):
    sets = [arg for value in TINY for arg in ("--set", value)]
    argv = ["--workspace", str(workspace), "--out", str(out), "--camvid", str(camvid), "--samples", "2", *sets]
    return script.main(argv + list(extra))


@pytest.fixture(scope="module")
def first_run(script, camvid, tmp_path_factory):
    """Row S1 trained once on the tiny set (the module's tests read what it left)."""
    base = tmp_path_factory.mktemp("ablation")
    workspace, out = base / "ws", base / "table.md"
    assert _run(script, workspace, camvid, out, "--rows", "S1") == 0
    return workspace, out


def _checkpoints(workspace, row):
    return sorted((workspace / row / "checkpoints").rglob("LMANet_ep*.pth.tar"))


def test_a_row_trains_once_and_is_skipped_on_the_rerun(script, camvid, first_run, capsys):
    workspace, out = first_run
    (checkpoint,) = _checkpoints(workspace, "S1")
    stamp = checkpoint.stat().st_mtime_ns
    capsys.readouterr()
    assert _run(script, workspace, camvid, out, "--rows", "S1") == 0
    printed = capsys.readouterr().out
    assert "[S1] already trained, skipped" in printed and "training" not in printed
    assert "  eval " not in printed  # the evaluations are kept too
    assert _checkpoints(workspace, "S1") == [checkpoint] and checkpoint.stat().st_mtime_ns == stamp


def test_the_table_has_every_thesis_row_and_the_trained_row_filled(first_run):
    text = first_run[1].read_text()
    for title in ("Table 4.1", "Table 4.2", "Table 4.3", "Table 4.10"):
        assert f"## {title}:" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    # headers + Table 4.1 (S = 0..5) + 4.2 (2 x 5) + 4.3 (3) + 4.10 (6 memory sizes)
    assert len(lines) == 4 + 6 + 10 + 3 + 6
    columns = "thesis mIoU (Cityscapes, ERFNet) | retrained mIoU | retrained flips % | swapped mIoU | swapped flips %"
    sections = text.split("## ")[1:]
    for section in sections[:3]:  # Tables 4.1-4.3: the thesis, retrained and swapped columns
        rows = [line for line in section.splitlines() if line.startswith("| ")]
        assert rows[0].endswith(f"| {columns} |") and all(line.count("|") == 7 for line in rows)
    rows = [line for line in sections[3].splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| S at inference |") and all(line.count("|") == 5 for line in rows)
    assert [line.split("|")[1].strip() for line in rows[1:]] == ["4", "6", "8", "12", "16", "19"]
    row_s1 = next(line for line in lines if line.startswith("| 1 |"))
    cells = [cell.strip() for cell in row_s1.strip("|").split("|")]
    assert cells[1] == "73.34"  # the thesis' S = 1 number
    assert all(re.fullmatch(r"\d+\.\d+", cell) for cell in cells[2:])  # retrained and swapped figures
    assert "| S = 3, G | 73.38 | — | — | — | — |" in text  # a row not trained: thesis only


def test_an_unknown_row_name_is_a_one_line_error(script, camvid, tmp_path, capsys):
    assert _run(script, tmp_path / "ws", camvid, tmp_path / "t.md", "--rows", "S1", "S9") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --rows: unknown row 'S9'")
    assert not (tmp_path / "ws").exists() and not (tmp_path / "t.md").exists()


def test_a_row_trained_with_another_budget_is_refused(script, camvid, first_run, capsys):
    workspace, out = first_run
    assert _run(script, workspace, camvid, out, "--rows", "S1", "--samples", "4") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "trained with 2 clips per epoch, not --samples 4" in err


def test_tables_give_the_swapped_figure_of_the_shared_s3_evaluation(script):
    score = {"miou": 50.0, "flips": 1.0}
    text = script.tables({"S3": score, "swapped S3": {"miou": 60.0, "flips": 2.0}}, "budget", "camvid")
    assert "| S = 3, R = 21 | 73.37 | 50.00 | 1.000 | 60.00 | 2.000 |" in text
    assert "| gated fusion (eq. 4.6) | 73.37 | 50.00 | 1.000 | 60.00 | 2.000 |" in text
    assert "| concatenation | 73.14 | — | — | — | — |" in text


def test_a_longer_run_keeps_the_model_of_the_shorter_budget(script, camvid, tmp_path, capsys):
    workspace, out = tmp_path / "ws", tmp_path / "t.md"
    assert _run(script, workspace, camvid, out, "--rows", "S1", "--epochs", "2") == 0
    capsys.readouterr()
    assert _run(script, workspace, camvid, out, "--rows", "S1", "--epochs", "1") == 0
    assert "[S1] already trained, skipped: " in capsys.readouterr().out
    scores = json.loads((workspace / "evaluations.json").read_text())
    assert scores["S1"]["net"].endswith("LMANet_ep0001.pth.tar")
