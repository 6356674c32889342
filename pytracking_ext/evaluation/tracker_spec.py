"""Identity of one evaluated tracker run and where its results live (PyTracking's layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..settings import EnvSettings, env_settings


@dataclass(frozen=True)
class TrackerSpec:
    """``name``/``param`` with an optional run id; ``rts50`` run 2 stores under ``rts50_002``."""

    name: str
    param: str
    run_id: int | None = None
    display_name: str | None = None

    @property
    def folder(self) -> str:
        return self.param if self.run_id is None else f"{self.param}_{self.run_id:03d}"

    @property
    def label(self) -> str:
        if self.display_name:
            return self.display_name
        return f"{self.name}_{self.folder}"

    def results_dir(self, settings: EnvSettings | None = None) -> Path:
        """``<results_path>/<name>/<param>[_<run:03d>]``: box, time and score files."""
        settings = settings or env_settings()
        return Path(settings.results_path) / self.name / self.folder

    def segmentation_dir(self, settings: EnvSettings | None = None) -> Path:
        """``<segmentation_path>/<name>/<param>[_<run:03d>]``: one PNG folder per sequence."""
        settings = settings or env_settings()
        return Path(settings.segmentation_path) / self.name / self.folder


def trackerlist(name: str, param: str, run_ids=None, display_name: str | None = None) -> list[TrackerSpec]:
    """One spec per run id (``None``, an int, or an iterable such as ``range(5)``)."""
    if run_ids is None or isinstance(run_ids, int):
        return [TrackerSpec(name, param, run_ids, display_name)]
    return [TrackerSpec(name, param, r, display_name) for r in run_ids]


def parse_tracker_arg(text: str) -> list[TrackerSpec]:
    """``NAME:PARAM[:RUNIDS]`` with RUNIDS like ``0``, ``0-4`` or ``0,2,5`` (command-line form)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise ValueError(f"tracker '{text}': expected NAME:PARAM or NAME:PARAM:RUNIDS")
    if len(parts) == 2:
        return trackerlist(parts[0], parts[1])
    runs: list[int] = []
    for chunk in parts[2].split(","):
        if "-" in chunk:
            lo, hi = chunk.split("-", 1)
            runs.extend(range(int(lo), int(hi) + 1))
        else:
            runs.append(int(chunk))
    return trackerlist(parts[0], parts[1], runs)
