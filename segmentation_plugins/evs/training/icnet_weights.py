"""A new ICNet for ``evs icnet`` and the trained one (latest checkpoint or ``icnet_checkpoint``) for ``evs refiner``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ltr_ext.admin.checkpoint import latest_checkpoint, read_checkpoint
from ltr_ext.admin.loading import StateDictMismatch, load_state_dict_strict
from ltr_ext.admin.model_constructor import model_constructor
from pytracking_ext.errors import SettingsError

from ..models import build_icnet as _new_icnet


def icnet_project_path(settings: Any) -> str:
    """The checkpoint folder of ``evs icnet`` with this preset and ICNet configuration."""
    return f"ltr/{settings.module_name}/icnet_{settings.preset}_{settings.icnet_config}"


def build_icnet(settings: Any) -> torch.nn.Module:
    """A new ICNet of the preset's configuration (its constructor is recorded for checkpoints)."""
    return model_constructor(_new_icnet)(config=settings.icnet_config, num_classes=settings.num_classes)


def icnet_checkpoint(settings: Any) -> Path:
    """``--set icnet_checkpoint=PATH``, else the latest checkpoint of ``evs icnet`` with this preset and config."""
    if settings.icnet_checkpoint:
        path = Path(settings.icnet_checkpoint).expanduser()
        if not path.is_file():
            raise SettingsError(f"icnet_checkpoint {path}: no such file")
        return path
    folder = Path(settings.env.workspace_dir) / "checkpoints" / icnet_project_path(settings)
    path = latest_checkpoint(folder, "ICNet")
    if path is None:
        raise SettingsError(
            f"no ICNet checkpoint in {folder}: train it first (python -m ltr_ext.run_training "
            f"{settings.module_name} icnet --set preset={settings.preset}) or give one with "
            "--set icnet_checkpoint=PATH"
        )
    return path


def load_icnet(settings: Any) -> tuple[torch.nn.Module, Path]:
    """The trained ICNet (strict loading) and the checkpoint it came from."""
    path = icnet_checkpoint(settings)
    data = read_checkpoint(path)
    if data.get("net_type", "ICNet") != "ICNet":
        raise SettingsError(f"{path}: a checkpoint of a {data['net_type']}, not of an ICNet")
    net = build_icnet(settings)
    try:
        load_state_dict_strict(net, data.get("net", data), source=str(path))
    except StateDictMismatch as err:
        wanted = f"an ICNet '{settings.icnet_config}' with {settings.num_classes} classes"
        raise SettingsError(f"not {wanted}: {err}") from None
    return net, path
