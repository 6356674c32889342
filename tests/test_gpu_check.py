"""benchmarks/gpu_check.py runs end to end on the CPU at tiny sizes, so that the GPU check cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--threads", "1", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_gpu_check_prints_its_table_on_the_cpu_and_says_when_the_fixtures_are_absent(workspace, tmp_path):
    done = _run(
        "--shared", str(tmp_path / "no_shared"), "--size", "48x64", "--frames", "2", "--cuda-graphs", timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "parity: skipped, no official fixtures under" in out
    assert "--cuda-graphs / --compile: CUDA only, skipped on this device" in out
    table = out.split("\ntable (cpu", 1)[1].splitlines()[2:]
    whats = [line[:28].strip() for line in table]
    for expected in ("rts tracker rts50", "rts net step rts50", "lmanet step P=21 S=3", "evs evs03"):
        assert expected in whats, out
    assert len(table) >= 8 and not any("failed" in line for line in table), out
    for line in table:  # ms per frame and frames per second are positive numbers
        ms, fps = (float(v) for v in line[60:78].split())
        assert ms > 0 and fps > 0, line


@pytest.mark.slow
def test_gpu_check_parity_on_the_cpu_is_within_the_test_suites_bounds(workspace, shared_dir):
    """70-100 s on one busy core: the network forward and the 30-frame tracker run."""
    done = _run("--shared", str(shared_dir), "--skip-speed", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "parity on cpu: all within bounds" in done.stdout
    assert done.stdout.count(" ok\n") == 4, done.stdout
