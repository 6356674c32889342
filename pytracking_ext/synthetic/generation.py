"""Write one synthetic dataset: validate the options, pick the format's writer, run it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .common import GeneratedDataset, GenerationSpec
from .formats import FORMATS

_OPTIONS = {f.name for f in dataclasses.fields(GenerationSpec)} - {"num_sequences", "num_frames", "seed"}


def make_spec(num_sequences: int, num_frames: int, seed: int, **options) -> GenerationSpec:
    """Validated :class:`GenerationSpec`; unknown option names raise ``ValueError`` listing the known ones."""
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; known options: {', '.join(sorted(_OPTIONS))}")
    return GenerationSpec(num_sequences, num_frames, seed, **options)


def generate_dataset(
    format: str, out: Path, num_sequences: int, num_frames: int, seed: int, **options
) -> GeneratedDataset:
    """Write dataset ``format`` under ``out``; returns its root and the setting to point at it."""
    writer = FORMATS.get(format)
    spec = make_spec(num_sequences, num_frames, seed, **options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return writer(out, spec)


def generate(format: str, out: Path, num_sequences: int, num_frames: int, seed: int, **options) -> Path:
    """Write dataset ``format`` under ``out`` and return the dataset root.

    Options: ``width``, ``height`` (default 320x240), ``num_objects`` (DAVIS 2017, YouTube-VOS;
    default 2), ``vot_region`` (``rectangle``/``polygon``/``mask``), ``davis_version`` (2016/2017),
    ``distractors`` (look-alikes of the first object per video; default None: 0 or 1),
    ``progress`` (tqdm bar, default True).
    """
    return generate_dataset(format, out, num_sequences, num_frames, seed, **options).root
