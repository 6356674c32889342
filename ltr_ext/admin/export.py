"""Make a shippable network file from a training checkpoint:
``python -m ltr_ext.admin.export CHECKPOINT OUT.safetensors``.

Keeps what inference needs (weights, constructor record, net type, epoch) plus a ``net_info`` note
of where it came from (training settings and the last epoch's statistics); drops the optimiser and
scheduler state, which is most of a checkpoint's size. ``OUT`` ending in ``.safetensors`` gets the
safetensors format (tensors plus a JSON record: nothing in it can run; the recommended format),
any other name a ``torch.save`` file. Both load with :func:`ltr_ext.admin.loading.load_network`.
The input may be one of our checkpoints or an official LTR pickle, which makes this the converter
for old files (docs/security.md). Written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint


def _last_stats(stats: Any) -> dict[str, dict[str, float]]:
    """Last epoch's average of every logged value, per loader (from the meters' saved histories)."""
    if not isinstance(stats, dict):
        return {}
    return {
        str(loader): {
            str(name): float(meter["history"][-1])
            for name, meter in meters.items()
            if isinstance(meter, dict) and meter.get("history")
        }
        for loader, meters in stats.items()
        if isinstance(meters, dict)
    }


def inference_checkpoint(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The inference part of a training checkpoint dict (or of a bare state dict, e.g. ``rts50.pth``)."""
    if data and all(isinstance(value, torch.Tensor) for value in data.values()):
        data = {"net": data}
    if not isinstance(data.get("net"), dict):
        raise CheckpointError(f"{source}: not an LTR training checkpoint (no 'net' state dict)")
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    info = {
        "source": Path(source).name,
        "epoch": data.get("epoch"),
        "train_module": settings.get("module_name"),
        "train_settings": settings.get("script_name"),
        "settings": settings,
        "stats": _last_stats(data.get("stats")),
    }
    if not settings and isinstance(data.get("net_info"), dict):
        info = data["net_info"]  # an exported file converted again (e.g. to safetensors) keeps its note
    return {
        "epoch": data.get("epoch"),
        "net_type": data.get("net_type"),
        "net": data["net"],
        "constructor": data.get("constructor"),
        "net_info": info,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ltr_ext.admin.export", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="training checkpoint (*.pth.tar) or an official LTR/PyTracking file")
    parser.add_argument("out", help="output file (*.safetensors recommended; other names get a torch.save file)")
    args = parser.parse_args(argv)
    try:
        data = read_checkpoint(args.checkpoint)
        out = save_checkpoint(Path(args.out), inference_checkpoint(data, args.checkpoint))
    except (CheckpointError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, epoch {data.get('epoch')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
