"""Make a shippable network file from a training checkpoint:
``python -m ltr_ext.admin.export CHECKPOINT OUT``.

Keeps what inference needs (weights, constructor record, net type, epoch) plus a ``net_info`` note
of where it came from (training settings and the last epoch's statistics); drops the optimiser and
scheduler state, which is most of a checkpoint's size. The result loads with
:func:`ltr_ext.admin.loading.load_network` like any LTR checkpoint. Written atomically.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint


def _last_stats(stats: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    """Last epoch's average of every logged value, per loader (from the meters' saved histories)."""
    return {loader: {name: float(meter["history"][-1]) for name, meter in meters.items() if meter.get("history")}
            for loader, meters in (stats or {}).items()}


def inference_checkpoint(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The inference part of a training checkpoint dict."""
    if not isinstance(data.get("net"), dict):
        raise CheckpointError(f"{source}: not an LTR training checkpoint (no 'net' state dict)")
    settings = data.get("settings") or {}
    info = {"source": Path(source).name, "epoch": data.get("epoch"),
            "train_module": settings.get("module_name"), "train_settings": settings.get("script_name"),
            "settings": settings, "stats": _last_stats(data.get("stats"))}
    return {"epoch": data.get("epoch"), "net_type": data.get("net_type"), "net": data["net"],
            "constructor": data.get("constructor"), "net_info": info}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ltr_ext.admin.export", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="training checkpoint (*.pth.tar)")
    parser.add_argument("out", help="output file")
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
