"""LTR's environment settings (``workspace_dir``, dataset folders, ...) without a ``local.py``.

Each field is resolved as: ``LTR_<NAME>`` environment variable, then a default. Paths derived
from the workspace (``tensorboard_dir``, ``pretrained_networks``) follow ``workspace_dir``
unless set themselves. Dataset folders default to empty and are checked only when used.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

ENV_PREFIX = "LTR_"

_DATASET_DIRS = ("lasot_dir", "got10k_dir", "trackingnet_dir", "coco_dir", "lvis_dir", "sbd_dir", "imagenet_dir",
                 "imagenetdet_dir", "ecssd_dir", "hkuis_dir", "msra10k_dir", "davis_dir", "davis16_dir",
                 "davis_testdev_dir", "youtubevos_dir", "lasot_candidate_matching_dataset_path",
                 "imagenet_vid_gmot_dir", "tao_burst_dir", "cityscapes_dir", "camvid_dir")


@dataclass
class EnvironmentSettings:
    """LTR's fields, including the ones upstream read but never generated."""

    workspace_dir: str = ""
    tensorboard_dir: str = ""
    pretrained_networks: str = ""
    pregenerated_masks: str = ""
    lasot_dir: str = ""
    got10k_dir: str = ""
    trackingnet_dir: str = ""
    coco_dir: str = ""
    lvis_dir: str = ""
    sbd_dir: str = ""
    imagenet_dir: str = ""
    imagenetdet_dir: str = ""
    ecssd_dir: str = ""
    hkuis_dir: str = ""
    msra10k_dir: str = ""
    davis_dir: str = ""
    davis16_dir: str = ""
    davis_testdev_dir: str = ""
    youtubevos_dir: str = ""
    lasot_candidate_matching_dataset_path: str = ""
    imagenet_vid_gmot_dir: str = ""
    tao_burst_dir: str = ""
    cityscapes_dir: str = ""
    camvid_dir: str = ""

    def require(self, name: str) -> Path:
        """Setting ``name`` as an existing folder, or a one-line error saying how to set it."""
        value = getattr(self, name, None)
        if value is None:
            raise KeyError(f"unknown LTR setting '{name}'")
        if not value:
            raise FileNotFoundError(f"LTR setting '{name}' is not set: export {ENV_PREFIX}{name.upper()}=/path")
        path = Path(value).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"LTR setting '{name}' points to {path}, which is not a folder")
        return path


def env_settings(**overrides: str) -> EnvironmentSettings:
    """Resolve every field: explicit override, ``LTR_<NAME>``, then the default."""
    settings = EnvironmentSettings()
    for f in fields(EnvironmentSettings):
        value = overrides.get(f.name) or os.environ.get(ENV_PREFIX + f.name.upper(), "")
        setattr(settings, f.name, value)
    if not settings.workspace_dir:
        settings.workspace_dir = str(Path.cwd() / "workspace")
    if not settings.tensorboard_dir:
        settings.tensorboard_dir = str(Path(settings.workspace_dir) / "tensorboard")
    if not settings.pretrained_networks:
        settings.pretrained_networks = str(Path(settings.workspace_dir) / "pretrained_networks")
    return settings
