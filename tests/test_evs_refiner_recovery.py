"""``benchmarks/evs_refiner_recovery.py`` (thesis Table 3.1 at the refined offset) on generated CamVid."""

import json
from pathlib import Path

import pytest

from script_loading import load_script
from segmentation_plugins.synthetic import generate_camvid

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "evs_refiner_recovery.py"
# CPU-sized EVS with seeded random networks (11 CamVid classes)
TINY_EVS = ["random_weights=True", "icnet_config='small'", "use_gpu=False", "num_classes=11", "threaded=False"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT, "evs_refiner_recovery")


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory):
    """One run of 6 labelled frames: one clip of S = 5 for EVS 06 / 07, three of S = 2."""
    return generate_camvid(tmp_path_factory.mktemp("camvid"), videos=1, frames=6, size=(64, 48), seed=3, split="val")


def rows_by_name(table: dict) -> dict[str, dict]:
    """Rows by name, the recovery rows without their parenthesis."""
    named = {}
    for row in table["rows"]:
        named[row["row"].split(" (")[0] if "Recovery" in row["row"] else row["row"]] = row["values"]
    return named


def test_runs_the_points_in_thesis_mode_and_recovery_is_the_difference(script, camvid_root, tmp_path, capsys):
    out = tmp_path / "recovery"
    sets = [arg for value in TINY_EVS for arg in ("--set", value)]
    assert script.main(["--root", str(camvid_root), "--out", str(out), *sets]) == 0
    table = json.loads((out / "recovery.json").read_text())
    rows = rows_by_name(table)
    assert {"Baseline (ICNet)", "EVS 02", "EVS 03", "EVS 06", "EVS 07", "Recovery 1", "Recovery 4"} <= set(rows)
    assert {"thesis Recovery 1", "thesis Recovery 4"} <= set(rows)
    for recovery, refined, warped in (("Recovery 1", "EVS 02", "EVS 03"), ("Recovery 4", "EVS 06", "EVS 07")):
        for column in table["columns"]:
            a, b = rows[refined][column], rows[warped][column]
            expected = None if a is None or b is None else a - b
            assert rows[recovery][column] == pytest.approx(expected)
    for point, distance in (("evs02", "1"), ("evs06", "4")):  # scored at the refined offset
        result = json.loads((out / f"{point}_thesis" / "results.json").read_text())
        assert result["mode"] == "thesis" and list(result["miou_by_distance"]) == [distance]
    printed = capsys.readouterr().out
    assert "Recovery 4 (EVS 06 - EVS 07, 4 propagation(s))" in printed
    assert "| thesis Recovery 1 (Cityscapes) |" in (out / "recovery.md").read_text()


def fake_results(folder: Path, point: str, miou: float, pole: float, mode: str = "thesis") -> None:
    (folder / f"{point}_thesis").mkdir(parents=True)
    result = {"param": point, "mode": mode, "miou": miou, "class_iou": {"pole": pole, "pedestrian": None}}
    (folder / f"{point}_thesis" / "results.json").write_text(json.dumps(result))


def test_existing_results_are_read_and_the_thesis_recovery_is_mapped(script, tmp_path):
    for point, miou, pole in (("evs02", 50.0, 3.0), ("evs03", 49.5, 1.0), ("evs06", 47.0, 2.5), ("evs07", 46.0, 0.5)):
        fake_results(tmp_path, point, miou, pole)
    assert script.main(["--results", str(tmp_path), "--out", str(tmp_path / "t")]) == 0
    rows = rows_by_name(json.loads((tmp_path / "t" / "recovery.json").read_text()))
    assert "Baseline (ICNet)" not in rows  # optional row, no evs01 results
    assert rows["Recovery 1"] == {"mIoU": pytest.approx(0.5), "pole": pytest.approx(2.0), "pedestrian": None}
    assert rows["Recovery 4"]["pole"] == pytest.approx(2.0)
    # thesis Table 3.1: pole +3.0 / +4.7, person (CamVid pedestrian) +2.1 / +5.7, mIoU +0.6 / +0.8
    assert rows["thesis Recovery 1"] == {"mIoU": 0.6, "pole": 3.0, "pedestrian": 2.1}
    assert rows["thesis Recovery 4"] == {"mIoU": 0.8, "pole": 4.7, "pedestrian": 5.7}


def test_a_results_file_of_another_mode_is_refused_in_one_line(script, tmp_path, capsys):
    for point in ("evs02", "evs03", "evs06"):
        fake_results(tmp_path, point, 50.0, 1.0)
    fake_results(tmp_path, "evs07", 50.0, 1.0, mode="stream")
    assert script.main(["--results", str(tmp_path), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "expected 'evs07' in mode 'thesis'" in err and err.count("\n") == 1
    assert not (tmp_path / "t" / "recovery.json").exists()
