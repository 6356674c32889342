"""Throughput of one run of the EVS pipeline (:class:`RunStats`) and its collector."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ...segmenter import SegmentationOutput


@dataclass
class RunStats:
    """Throughput of one :meth:`EVSPipeline.run` (the frames whose output reached the caller)."""

    frames: int
    keyframes: int
    forced_keyframes: int
    refined: int
    wall_s: float  # first frame taken from the iterable -> last output ready
    latencies_s: list[float] = field(default_factory=list)
    ready_s: list[float] = field(default_factory=list)  # each output's ready time since the first arrival

    @property
    def fps(self) -> float:
        """Frames per second over the whole run (pipeline fill included)."""
        return self.frames / self.wall_s if self.wall_s > 0 else float("nan")

    def fps_after(self, skip: int) -> float:
        """Frames per second after the first ``skip`` outputs (steady state once the pipeline is full)."""
        if skip < 1 or len(self.ready_s) <= skip:
            return self.fps
        span = self.ready_s[-1] - self.ready_s[skip - 1]
        return (len(self.ready_s) - skip) / span if span > 0 else float("nan")

    @property
    def latency_median_s(self) -> float:
        return statistics.median(self.latencies_s) if self.latencies_s else float("nan")

    @property
    def latency_max_s(self) -> float:
        return max(self.latencies_s) if self.latencies_s else float("nan")


class StatsCollector:
    """Counts the outputs of a run as the caller receives them; :meth:`result` gives the :class:`RunStats`."""

    def __init__(self) -> None:
        self.counts = {"keyframe": 0, "forced_keyframe": 0, "refined": 0}
        self.latencies: list[float] = []
        self.ready: list[float] = []
        self.first_arrival: float | None = None

    def add(self, output: SegmentationOutput, ready: float) -> None:
        """Count ``output``, ready at ``ready`` (``time.perf_counter``)."""
        if self.first_arrival is None:
            self.first_arrival = ready - output.info["latency_s"]
        for key in self.counts:
            self.counts[key] += bool(output.info.get(key))
        self.latencies.append(output.info["latency_s"])
        self.ready.append(ready - self.first_arrival)

    def result(self) -> RunStats:
        """The statistics of the outputs counted so far."""
        return RunStats(
            len(self.ready),
            self.counts["keyframe"],
            self.counts["forced_keyframe"],
            self.counts["refined"],
            self.ready[-1] if self.ready else 0.0,
            self.latencies,
            self.ready,
        )
