"""``benchmarks/box_init_quality.py``: first-frame J of box-init methods, GrabCut variants, several roots."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking_ext.utils.io import imwrite_indexed
from script_loading import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "box_init_quality.py"


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT, "box_init_quality")


def _davis_root(root: Path, name: str) -> Path:
    """One sequence: a red disc on grey noise, annotated on its first frame."""
    rng = np.random.default_rng(0)
    image = rng.integers(90, 140, (120, 160, 3)).astype(np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    cv2.circle(mask, (80, 60), 25, 1, -1)
    image[mask > 0] = (30, 30, 200)  # BGR red
    (root / "JPEGImages" / "480p" / name).mkdir(parents=True)
    (root / "Annotations" / "480p" / name).mkdir(parents=True)
    cv2.imwrite(str(root / "JPEGImages" / "480p" / name / "00000.jpg"), image)
    imwrite_indexed(root / "Annotations" / "480p" / name / "00000.png", mask)
    return root


def test_grabcut_variants_and_several_roots_give_one_row_per_clip_and_a_column_per_run(script, tmp_path, capsys):
    one, two = _davis_root(tmp_path / "a", "disc"), _davis_root(tmp_path / "b", "disc2")
    script.main(["--davis", str(one), str(two), "--repeat", "1", "--grabcut-variants", "3x64"])
    lines = capsys.readouterr().out.splitlines()
    assert "J grabcut_3x64" in lines[0] and "J box" in lines[0]
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in lines[2:]}
    assert set(rows) == {"disc", "disc2", "**mean**"}
    box_j, grabcut_j, variant_j = (float(v) for v in rows["disc"][:3])
    assert grabcut_j > box_j and variant_j > box_j  # both GrabCut runs find the disc inside its box


def test_a_trackers_refined_box_init_mask_is_scored_too(script, tmp_path, capsys):
    root = _davis_root(tmp_path / "a", "disc")
    script.main(["--davis", str(root), "--methods", "box", "--repeat", "1", "--refined-by", "rts:rts_small"])
    lines = capsys.readouterr().out.splitlines()
    assert "J refined_rts_small" in lines[0]
    box_j, refined_j = (float(v) for v in lines[2].split("|")[2:4])
    assert refined_j > box_j  # GrabCut plus the tracker's refinement finds the disc inside its box


def test_a_malformed_tracker_is_one_line(script, tmp_path, capsys):
    with pytest.raises(SystemExit):
        script.main(["--davis", str(tmp_path), "--refined-by", "rts"])
    assert "--refined-by: tracker 'rts': expected NAME:PARAM" in capsys.readouterr().err


def test_a_malformed_variant_is_one_line(script, tmp_path, capsys):
    with pytest.raises(SystemExit):
        script.main(["--davis", str(tmp_path), "--grabcut-variants", "three"])
    assert "--grabcut-variants (ITERxSIDE): expected AxB such as 3x480" in capsys.readouterr().err
