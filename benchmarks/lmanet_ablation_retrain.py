"""Thesis Tables 4.1 / 4.2 / 4.3 / 4.10 with every configuration RETRAINED at CamVid scale, next to the
figures of swapping S / the window / the attention at inference on the shipped S = 3, R = 21 model.

Each row (``--rows``, default all) trains LMANet stage 1 (thesis 4.3.5: encoder and decoder from the
shipped single-frame network, frozen; key/value heads and fusion from scratch) with the SAME budget:
``--epochs`` epochs of ``--samples`` clips drawn at random from CamVid train plus the preset's
generated street clips (the stage-1 recipe of ``run_training lmanet lite0_camvid --set stage=1``,
``segmentation_plugins/lmanet/training/recipe.py``, with a fixed number of clips per epoch so that
every memory size costs the same number of steps). Rows train into ``--workspace WS/<row>``; a row
whose last epoch's checkpoint exists is not retrained, and finished evaluations are kept in
``WS/evaluations.json``, so a re-run only does what is missing. Every model is then streamed over
CamVid val (mIoU, unexplained flip rate; ``segmentation_plugins.evaluation``) and the tables (the
thesis' Cityscapes / ERFNet numbers in a column, docs/thesis_at_our_scale.md) go to ``--out``.

    LTR_CAMVID_DIR=../shared/data/camvid OMP_NUM_THREADS=1 python benchmarks/lmanet_ablation_retrain.py \\
        --workspace WS --out table.md [--rows S1 S4 G] [--samples 240] [--epochs 1]
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ltr_ext.admin.checkpoint import CheckpointError, checkpoint_path, latest_checkpoint, read_checkpoint
from ltr_ext.run_training import build_settings
from ltr_ext.trainers import TrainingDiverged, seed_everything
from pytracking_ext.cli import OneLineParser, add_set_argument
from pytracking_ext.errors import PytrackingError
from pytracking_ext.registry import Registry
from pytracking_ext.utils.io import atomic_write_text
from segmentation_plugins.data import CAMVID
from segmentation_plugins.evaluation.runner import evaluate
from segmentation_plugins.lmanet.training import recipe
from segmentation_plugins.lmanet.training.presets import COMMON, PRESETS
from segmentation_plugins.registry import build_segmenter, segmenter_parameters
from segmentation_plugins.shipped import LMANET_LITE0_CAMVID, LMANET_LITE0_CAMVID_SINGLE

PRESET = "lite0_camvid"
STAGE = 1


class AblationError(PytrackingError):
    """A bad row name, a missing model or a failed row of the retraining benchmark."""


@dataclass(frozen=True)
class Row:
    """One retrained configuration: memory size S, window side R (None: global attention), fusion."""

    memory_size: int
    window: int | None = 21
    fusion: str = "gated"

    def overrides(self) -> dict[str, Any]:
        """The preset settings that make this configuration."""
        reading = {"attention": "global"} if self.window is None else {"attention": "local", "window": self.window}
        return {"memory_size": self.memory_size, "fusion": self.fusion, **reading}

    def reading(self) -> dict[str, Any]:
        """What the shipped S = 3, R = 21 model swaps in at inference for this row's swapped figure."""
        return {"attention": "global"} if self.window is None else {"window": self.window}


ROWS = Registry("ablation row")
ROWS.add_all(
    {
        **{f"S{s}": Row(s) for s in range(1, 6)},  # Table 4.1 (S3 is also R21 / gated of Tables 4.2, 4.3)
        "G": Row(3, None),  # Table 4.2, S = 3
        "R41": Row(3, 41),
        "R11": Row(3, 11),
        "R1": Row(3, 1),
        "concat": Row(3, 21, "concat"),  # Table 4.3
    }
)

# The thesis' numbers (Cityscapes val, ERFNet backbone; /work/shared/docs/thesis.txt, section 4.4.2)
THESIS_41 = {0: 72.05, 1: 73.34, 2: 73.41, 3: 73.37, 4: 73.72, 5: 73.46}
THESIS_42 = {
    3: {"G": 73.38, 41: 73.50, 21: 73.37, 11: 73.21, 1: 72.90},
    4: {"G": 73.49, 41: 73.64, 21: 73.72, 11: 73.21, 1: 72.94},
}
THESIS_43 = {"baseline": 72.05, "concat": 73.14, "gated": 73.37}
THESIS_410 = {4: 73.72, 5: 73.69, 6: 73.73, 7: 73.72, 8: 73.70, 9: 73.72, 10: 73.71, 11: 73.72, 12: 73.72,
              13: 73.73, 14: 73.75, 15: 73.77, 16: 73.78, 17: 73.70, 18: 73.78, 19: 73.77}  # fmt: skip
#: every row, in the tables' order (the registry lists names sorted)
ROW_ORDER = ("S1", "S2", "S3", "S4", "S5", "G", "R41", "R11", "R1", "concat")
#: Table 4.10: memory sizes at inference for the model trained with S = 4
INFERENCE_SIZES = (4, 6, 8, 12, 16, 19)


# ----- training ------------------------------------------------------------------------------------------
def row_settings(
    name: str, workspace: Path, budget: tuple[int, int], camvid: str, init: Path, assignments: list[tuple[str, Any]]
) -> Any:
    """The stage-1 settings of row ``name`` with ``budget`` (epochs, clips per epoch) on ``camvid``
    (``--set`` assignments win over the row's own values)."""
    epochs, samples = budget
    fixed = {**ROWS.get(name).overrides(), "init_checkpoint": str(init)}
    given = dict(assignments)
    chosen = [(k, v) for k, v in fixed.items() if k not in given] + list(assignments)
    settings = build_settings("lmanet", PRESET, chosen, str(workspace))
    settings.env.camvid_dir = camvid
    settings.defaults(preset=PRESET, description=f"LMANet {PRESET} stage 1, ablation row {name}")
    # samples_per_epoch is recorded in the checkpoints' settings: a row trained with another budget is refused
    settings.defaults(
        **{**COMMON, **PRESETS[PRESET], "stage": STAGE, "max_epochs": epochs, "samples_per_epoch": samples}
    )
    settings.project_path = recipe.project_path(settings, STAGE)
    return settings


def checkpoint_dir(settings: Any) -> Path:
    """Where the trainer writes this row's checkpoints."""
    return Path(settings.env.workspace_dir) / "checkpoints" / settings.project_path


def trained_checkpoint(settings: Any) -> Path | None:
    """The row's checkpoint of epoch ``max_epochs`` (None while it is not written yet).

    The trainer keeps every epoch's file, so a row run longer elsewhere in the workspace still gives
    the model of exactly this budget; one of another ``--samples`` is refused.
    """
    latest = latest_checkpoint(checkpoint_dir(settings), "LMANet")
    if latest is None:
        return None
    recorded = (read_checkpoint(latest).get("settings") or {}).get("samples_per_epoch")
    if recorded != settings.samples_per_epoch:
        raise AblationError(
            f"{latest}: trained with {recorded} clips per epoch, not --samples {settings.samples_per_epoch}; "
            "give another --workspace"
        )
    path = checkpoint_path(checkpoint_dir(settings), "LMANet", int(settings.max_epochs))
    return path if path.is_file() else None


def train(settings: Any) -> None:
    """Stage 1 of the recipe with ``settings.samples_per_epoch`` random clips per epoch (every row: the same steps)."""
    seed_everything(int(settings.seed))  # the memory heads start from the same draw in every row
    recipe.train_stage(settings, STAGE)


def share_caches(workspace: Path, row_workspace: Path) -> None:
    """Rows share the generated street clips and the class-weight cache (written once, by the first row)."""
    for name in ("generated", "cache"):
        shared, link = workspace / "_shared" / name, row_workspace / name
        shared.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            row_workspace.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(shared, row_workspace), target_is_directory=True)


# ----- evaluation ------------------------------------------------------------------------------------------
class Evaluations:
    """CamVid val scores by key, kept in ``WS/evaluations.json`` (written after each one) for re-runs."""

    def __init__(self, path: Path, camvid: str) -> None:
        self.path, self.camvid = path, camvid
        self.scores: dict[str, dict] = json.loads(path.read_text()) if path.is_file() else {}

    def get(self, key: str, net_path: Path, param: str, **params: Any) -> dict:
        """mIoU and flip rate of ``net_path`` run with parameter set ``param`` changed by ``params``."""
        if self.scores.get(key, {}).get("net") != str(net_path):  # not run yet, or for another checkpoint
            start = time.perf_counter()
            settings = segmenter_parameters("lmanet", param)
            settings.net_path = str(net_path)
            settings.use_gpu = torch.cuda.is_available()
            for name, value in params.items():
                setattr(settings, name, value)
            with build_segmenter("lmanet", settings) as segmenter:
                report = evaluate(segmenter, CAMVID, "camvid", self.camvid, "val", "stream", progress=False).as_dict()
            self.scores[key] = {
                "miou": report["miou"],
                "flips": report["temporal_flip_rate"],
                "net": str(net_path),
                "seconds": round(time.perf_counter() - start, 1),
            }
            atomic_write_text(self.path, json.dumps(self.scores, indent=1) + "\n")
            score = self.scores[key]
            print(f"  eval {key:<24} mIoU {score['miou']:6.2f}  flips {score['flips']:6.3f} %", flush=True)
        return self.scores[key]


def _cell(score: dict | None) -> str:
    return "—" if score is None else f"{score['miou']:.2f}"


def _flips(score: dict | None) -> str:
    return "—" if score is None else f"{score['flips']:.3f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


COLUMNS = ("thesis mIoU (Cityscapes, ERFNet)", "retrained mIoU", "retrained flips %", "swapped mIoU", "swapped flips %")
HEADER = "| {first} | " + " | ".join(COLUMNS) + " |\n" + "|---" * (len(COLUMNS) + 1) + "|\n"


def _line(label: str, thesis: float | None, retrained: dict | None, swapped: dict | None) -> str:
    cells = (_num(thesis), _cell(retrained), _flips(retrained), _cell(swapped), _flips(swapped))
    return f"| {label} | " + " | ".join(cells) + " |\n"


def tables(scores: dict[str, dict], budget: str, camvid: str) -> str:
    """The four thesis tables as markdown (``—``: not run / not applicable)."""
    get = scores.get
    baseline = get("single")
    out = [
        "# LMANet ablations at CamVid scale: retrained vs swapped at inference\n\n",
        f"Data: CamVid val streamed at 15 Hz (`{camvid}`), EfficientNet-Lite0 at 320x240, 11 classes. "
        f"Retrained: {budget}. Swapped: the shipped S = 3, R = 21 model "
        "(`lmanet_lite0_camvid.safetensors`) with S / the window / global attention changed at inference. "
        "Thesis: Cityscapes val, ERFNet, trained to convergence. Flips: unexplained label flips "
        "(% of stable pixels). S = 0 is the shipped single-frame network.\n\n",
        "## Table 4.1: memory size S (R = 21)\n\n",
        HEADER.format(first="S"),
        _line("0", THESIS_41[0], baseline, baseline),
    ]
    out += [_line(str(s), THESIS_41[s], get(f"S{s}"), get(f"swapped S{s}")) for s in range(1, 6)]
    out += ["\n## Table 4.2: global (G) vs local window R\n\n", HEADER.format(first="S, reading")]
    for s in (3, 4):
        for reading, row in (("G", "G"), (41, "R41"), (21, f"S{s}"), (11, "R11"), (1, "R1")):
            retrained = get(row) if s == 3 or reading == 21 else None
            label = f"S = {s}, " + ("G" if reading == "G" else f"R = {reading}")
            swapped = get(f"swapped S{s}" + ("" if reading == 21 else f" {row}"))
            out.append(_line(label, THESIS_42[s][reading], retrained, swapped))
    out += [
        "\n## Table 4.3: fusion (S = 3, R = 21)\n\n",
        HEADER.format(first="model"),
        _line("baseline (single frame)", THESIS_43["baseline"], baseline, baseline),
        _line("concatenation", THESIS_43["concat"], get("concat"), None),
        _line("gated fusion (eq. 4.6)", THESIS_43["gated"], get("S3"), get("swapped S3")),
    ]
    out += [
        "\n## Table 4.10: model trained with S = 4, memory size at inference\n\n",
        "| S at inference | thesis mIoU (Cityscapes, ERFNet) | retrained S = 4 mIoU | flips % |\n|---|---|---|---|\n",
    ]
    for s in INFERENCE_SIZES:
        score = get("S4" if s == 4 else f"S4 at S{s}")
        out.append(f"| {s} | {_num(THESIS_410[s])} | {_cell(score)} | {_flips(score)} |\n")
    return "".join(out)


def evaluate_all(evals: Evaluations, trained: dict[str, Path], single: Path, shipped: Path) -> dict[str, dict]:
    """Every figure the tables need that its models allow (the retrained ones from ``trained``)."""
    scores = {"single": evals.get("single", single, f"{PRESET}_single")}
    for name, path in trained.items():
        row = ROWS.get(name)
        scores[name] = evals.get(name, path, PRESET, memory_size=row.memory_size)
        if row.fusion != "gated":
            continue  # the shipped model has the gated fusion: no swapped figure
        if row.window == 21:
            scores[f"swapped S{row.memory_size}"] = evals.get(
                f"swapped S{row.memory_size}", shipped, PRESET, memory_size=row.memory_size
            )
        else:
            for s in (3, 4):  # Table 4.2's two lines
                key = f"swapped S{s} {name}"
                scores[key] = evals.get(key, shipped, PRESET, memory_size=s, **row.reading())
        if name == "S4":
            for s in INFERENCE_SIZES[1:]:
                scores[f"S4 at S{s}"] = evals.get(f"S4 at S{s}", path, PRESET, memory_size=s)
    return scores


# ----- the command -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, required=True, help="rows train into WS/<row>")
    parser.add_argument("--out", type=Path, required=True, help="the markdown tables")
    parser.add_argument("--rows", nargs="+", default=list(ROW_ORDER), help=f"rows ({', '.join(ROW_ORDER)})")
    parser.add_argument("--samples", type=int, default=240, help="training clips per epoch (every row)")
    parser.add_argument("--epochs", type=int, default=1, help="stage-1 epochs (every row)")
    parser.add_argument("--camvid", default=None, help="CamVid root (default: LTR_CAMVID_DIR)")
    parser.add_argument("--single", type=Path, default=LMANET_LITE0_CAMVID_SINGLE, help="single-frame init + S = 0")
    parser.add_argument("--shipped", type=Path, default=LMANET_LITE0_CAMVID, help="the S = 3, R = 21 model swapped")
    parser.add_argument("--threads", type=int, default=1)
    add_set_argument(parser, "override a training setting of every row (e.g. num_workers=0)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.workspace = args.workspace.resolve()  # parameter sets resolve relative net paths elsewhere
    try:
        unknown = [name for name in args.rows if name not in ROWS.names()]
        if unknown:
            raise AblationError(f"--rows: unknown row {unknown[0]!r}; rows: {', '.join(ROW_ORDER)}")
        for path, option in ((args.single, "--single"), (args.shipped, "--shipped")):
            if not path.is_file():
                raise AblationError(f"{option}: {path} not found")
        if args.camvid is None:
            from ltr_ext.admin.environment import env_settings

            args.camvid = str(env_settings().require("camvid_dir"))
        trained: dict[str, Path] = {}
        for name in args.rows:
            row_ws = args.workspace / name
            budget = (args.epochs, args.samples)
            settings = row_settings(name, row_ws, budget, args.camvid, args.single, args.assignments)
            done = trained_checkpoint(settings)
            if done is None:
                share_caches(args.workspace, row_ws)
                print(f"[{name}] training {args.epochs} x {args.samples} clips into {row_ws}", flush=True)
                start = time.perf_counter()
                with settings.declaring():
                    train(settings)
                done = trained_checkpoint(settings)
                if done is None:
                    raise AblationError(f"[{name}] training ended without a checkpoint in {checkpoint_dir(settings)}")
                print(f"[{name}] trained in {time.perf_counter() - start:.0f} s: {done}", flush=True)
            else:
                print(f"[{name}] already trained, skipped: {done}", flush=True)
            trained[name] = done
        evals = Evaluations(args.workspace / "evaluations.json", args.camvid)
        scores = evaluate_all(evals, trained, args.single, args.shipped)
        budget = f"stage 1, {args.epochs} epoch(s) x {args.samples} clips from the shipped single-frame network"
        text = tables(scores, budget, args.camvid)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, text)
        print(text)
        print(f"wrote {args.out}")
    except (PytrackingError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (TrainingDiverged, CheckpointError) as err:  # a row's training failed; the finished rows are kept
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
