"""benchmarks/long_video.py run tiny, and the tracker state through the API does not grow per frame."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytracking_ext import VideoTracker
from pytracking_ext.trackers import TRACKERS, BaseTracker, TrackerParams
from pytracking_ext.trackers.base import state_footprint
from script_loading import load_script

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "long_video.py"


def _benchmark_module():
    return load_script(BENCHMARK, "long_video_benchmark")


def test_benchmark_prints_one_row_per_window_and_the_ratios(workspace, capsys):
    # in this process (torch is imported already): the command line is what the benchmark parses
    code = _benchmark_module().main(["--frames", "12", "--every", "4", "--objects", "1", "--size", "96x64"])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = [line.split() for line in out.out.splitlines() if re.match(r"\s*\d+\s+\d", line)]
    assert [int(r[0]) for r in rows] == [4, 8, 12]
    assert all(float(r[1]) > 0 and float(r[2]) > 0 and float(r[3]) > 0 for r in rows)
    # the state columns (KiB, items) are equal on every row: nothing kept per frame
    assert len({(r[4], r[5]) for r in rows}) == 1
    assert re.search(r"last / first after warm-up .*memory \d\.\d+, time \d\.\d+, CPU time \d\.\d+", out.out)


def test_a_bounded_deque_counts_at_its_capacity_and_a_list_at_its_length():
    holder = type("Holder", (), {})()
    holder.history, holder.log = deque([1.0], maxlen=60), [1.0]
    assert state_footprint(holder)[1] == 61
    holder.history.extend([2.0] * 10)
    holder.log.append(2.0)
    assert state_footprint(holder)[1] == 62  # only the unbounded list grew


def test_benchmark_rejects_a_bad_size():
    out = subprocess.run([sys.executable, str(BENCHMARK), "--size", "big"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--size" in out.stderr


def test_rts_state_through_the_api_does_not_grow_per_frame(workspace):
    video = _benchmark_module().MovingDiscs((160, 96), 2)
    tracker = VideoTracker("rts", "rts_small")
    first, label = video.frame(0)
    for oid in (1, 2):
        tracker.add_object(first, mask=label == oid)
    sizes = []
    for index in range(1, 13):
        tracker.track(video.frame(index)[0])
        if index in (4, 12):
            sizes.append(state_footprint(tracker))
    (bytes_before, items_before), (bytes_after, items_after) = sizes
    # anything kept per frame adds at least one item per frame and object (16 here); the RTS
    # diagnostics hold a few more or fewer keys depending on the branch a frame took
    assert items_after - items_before < 8 and bytes_after <= 1.01 * bytes_before


class LeakyTracker(BaseTracker):
    """Appends to a list every frame: what :func:`state_footprint` must catch."""

    def initialize(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        self.history: list[np.ndarray] = []
        self.box = list(info["init_bbox"])
        return {"target_bbox": self.box}

    def track(self, image: np.ndarray, info: dict[str, Any] | None = None) -> dict[str, Any]:
        self.history.append(np.zeros(4))
        return {"target_bbox": self.box}


def _footprint_growth(frames: list[np.ndarray]) -> tuple[int, int]:
    """Growth of the state footprint (bytes, items) of a ``VideoTracker`` over ``frames[2:]``."""
    tracker = VideoTracker("api_test_leaky", TrackerParams())
    tracker.add_object(frames[0], box=(5, 5, 10, 10))
    tracker.track(frames[1])
    before = state_footprint(tracker)
    for frame in frames[2:]:
        tracker.track(frame)
    after = state_footprint(tracker)
    return after[0] - before[0], after[1] - before[1]


def test_state_footprint_sees_per_frame_growth_and_the_api_keeps_none(monkeypatch):
    TRACKERS.names()
    monkeypatch.setitem(TRACKERS._items, "api_test_leaky", LeakyTracker)
    frames = [np.full((40, 60, 3), i, np.uint8) for i in range(12)]
    assert _footprint_growth(frames) == (10 * 32, 10)

    monkeypatch.setattr(LeakyTracker, "track", lambda self, image, info=None: {"target_bbox": self.box})
    assert _footprint_growth(frames) == (0, 0)
