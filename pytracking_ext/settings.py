"""Every setting of the project, evaluation and training, resolved without any hand-edited ``local.py``.

Two groups share one resolver (:mod:`pytracking_ext.settings_resolver`) and one settings file:

- evaluation (:class:`EnvSettings`, PyTracking's names): ``PYTRACKING_<NAME>``, top-level keys;
- training (:class:`EnvironmentSettings`, LTR's names, CamVid and Cityscapes included):
  ``LTR_<NAME>``, keys of the ``[ltr]`` table.

Each setting is resolved in this order:

1. an explicit override passed to :func:`env_settings` / :func:`ltr_env_settings`,
2. the environment variable (``PYTRACKING_LASOT_PATH``, ``LTR_CAMVID_DIR``),
3. the settings file: ``$PYTRACKING_SETTINGS`` or ``~/.config/pytracking_ext/settings.toml``
   (a legacy PyTracking/LTR ``local.py`` is accepted too when that variable points at one; a file
   the variable names must exist - an empty one, or ``/dev/null``, means no settings),
4. a default under the group's workspace folder (``workspace_dir``, itself ``./workspace`` unless set).

Dataset paths default to empty; asking for an empty one raises a one-line error naming the
setting and the variable to set. ``python -m pytracking_ext.settings`` lists every setting and
where its value came from; ``--init`` writes a commented template (an existing file is never
overwritten).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SettingsError
from .settings_resolver import (
    DEFAULT_SETTINGS_FILE,
    SETTINGS_FILE_VARIABLE,
    MissingFolderError,
    ResolvedSettings,
    SettingsGroup,
    groups,
    register_group,
    resolve,
    settings_file_path,
)
from .utils.io import atomic_write_text

ENV_PREFIX = "PYTRACKING_"
LTR_ENV_PREFIX = "LTR_"

EVALUATION = SettingsGroup(
    title="evaluation",
    prefix=ENV_PREFIX,
    table=None,
    workspace_defaults={
        "results_path": "tracking_results",
        "segmentation_path": "segmentation_results",
        "network_path": "networks",
        "result_plot_path": "result_plots",
        "cache_dir": "cache",
        "got_packed_results_path": "packed_results/got10k",
        "tn_packed_results_path": "packed_results/trackingnet",
        "got_reports_path": "got10k_reports",
    },
    descriptions={
        "workspace_dir": "folder under which all derived defaults live",
        "results_path": "box, time and score text results",
        "segmentation_path": "per-frame PNG masks of segmentation trackers",
        "network_path": "folder of network weights (relative net paths of parameter files)",
        "result_plot_path": "analysis reports: tables, plots, summary.csv",
        "cache_dir": "generated metadata (DAVIS/YouTube-VOS scans); never inside a dataset",
        "lasot_path": "LaSOT root: the folder holding the class folders (airplane/, ...)",
        "got10k_path": "GOT-10k root: holds train/, val/, test/",
        "trackingnet_path": "TrackingNet root: holds TEST/ (and TRAIN_0..11)",
        "uav_path": "UAV123 root: holds data_seq/ and anno/",
        "nfs_path": "NFS root in PyTracking's layout: sequences/ and anno/",
        "otb_path": "OTB-100 root: one folder per sequence",
        "vot_path": "VOT root: one folder per sequence (or a toolkit sequences/ folder)",
        "davis_dir": "DAVIS 2017 root: JPEGImages/, Annotations/, ImageSets/",
        "davis16_dir": "DAVIS 2016 root (same layout as 2017)",
        "youtubevos_dir": "YouTube-VOS root: holds 2018/ and/or 2019/",
    },
)

TRAINING = SettingsGroup(
    title="training",
    prefix=LTR_ENV_PREFIX,
    table="ltr",
    workspace_defaults={"tensorboard_dir": "tensorboard", "pretrained_networks": "pretrained_networks"},
    descriptions={
        "workspace_dir": "training workspace: checkpoints/, logs/, generated/, cache/",
        "tensorboard_dir": "TensorBoard scalars, one folder per project",
        "pretrained_networks": "backbone and stage-1 weights named by train settings",
        "pregenerated_masks": "RTS recipe: masks generated for GOT-10k and LaSOT (got10k_masks/, lasot_masks/)",
        "lasot_dir": "LaSOT root (training)",
        "got10k_dir": "GOT-10k root (training): holds train/",
        "trackingnet_dir": "TrackingNet root (training)",
        "coco_dir": "COCO root: images and annotations/",
        "lvis_dir": "LVIS root",
        "davis_dir": "DAVIS 2017 root (training)",
        "davis16_dir": "DAVIS 2016 root (training)",
        "youtubevos_dir": "YouTube-VOS root (training): holds 2018/ and/or 2019/",
        "cityscapes_dir": "Cityscapes root (LMANet training, run_segmentation --dataset cityscapes)",
        "camvid_dir": "CamVid root in the SegNet layout (LMANet/EVS training, run_segmentation --dataset camvid)",
    },
)


@register_group
@dataclass
class EnvSettings(ResolvedSettings):
    """All PyTracking settings (including the ones upstream forgot to define)."""

    group = EVALUATION

    workspace_dir: str = ""
    results_path: str = ""
    segmentation_path: str = ""
    network_path: str = ""
    result_plot_path: str = ""
    cache_dir: str = ""
    otb_path: str = ""
    nfs_path: str = ""
    uav_path: str = ""
    tpl_path: str = ""
    vot_path: str = ""
    got10k_path: str = ""
    lasot_path: str = ""
    lasot_extension_subset_path: str = ""
    trackingnet_path: str = ""
    oxuva_path: str = ""
    davis_dir: str = ""
    davis16_dir: str = ""
    davis_testdev_dir: str = ""
    youtubevos_dir: str = ""
    lasot_mask_path: str = ""
    got10k_mask_path: str = ""
    trackingnet_mask_path: str = ""
    dataspec_path: str = ""
    avist_path: str = ""
    lagot_path: str = ""
    mobiface_path: str = ""
    got_packed_results_path: str = ""
    got_reports_path: str = ""
    tn_packed_results_path: str = ""


@register_group
@dataclass
class EnvironmentSettings(ResolvedSettings):
    """LTR's ``settings.env`` fields, including the ones upstream read but never generated.

    ``ltr_ext.admin.environment`` hands this class to training code; it lives here so that the
    settings command and the settings file know every training folder without importing training.
    """

    group = TRAINING

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


def setting_names() -> list[str]:
    """The evaluation settings (top-level keys of the settings file)."""
    return EnvSettings.names()


def env_settings(**overrides: Any) -> EnvSettings:
    """Resolve every evaluation setting (argument > ``PYTRACKING_<NAME>`` > settings file > default)."""
    return resolve(EnvSettings, overrides)


def ltr_env_settings(**overrides: Any) -> EnvironmentSettings:
    """Resolve every training setting (argument > ``LTR_<NAME>`` > ``[ltr]`` of the settings file > default)."""
    return resolve(EnvironmentSettings, overrides)


def template_text() -> str:
    """A commented TOML template listing every setting of every group with its variable."""
    lines = [
        "# pytracking_ext settings. Uncomment what you need; environment variables",
        "# PYTRACKING_<NAME> (top-level keys) and LTR_<NAME> (keys of [ltr]) override this file,",
        "# and unset values use the defaults shown.",
        "",
    ]
    for cls in groups():
        group = cls.group
        if group.table is not None:
            lines += [f"# {group.title} settings ({group.prefix}<NAME>)", f"[{group.table}]", ""]
        for name in cls.names():
            desc = group.descriptions.get(name, "")
            lines.append(
                f"# {desc + '; ' if desc else ''}env {group.variable(name)}; default {group.default_text(name)}"
            )
            lines.append(f'# {name} = ""')
            lines.append("")
    return "\n".join(lines)


def write_template(path: Path, force: bool = False) -> Path:
    """Write the template to ``path``; refuse to replace an existing file unless ``force``."""
    path = Path(path).expanduser()
    if path.exists() and not force:
        raise SettingsError(f"{path} exists; not overwriting it (pass --force to replace it)")
    atomic_write_text(path, template_text())
    return path


def listing() -> list[str]:
    """Every setting of every group with its value and where it came from (the settings command's output)."""
    resolved = [(cls, resolve(cls, {})) for cls in groups()]  # resolve all first: an error prints nothing else
    path = settings_file_path()
    # A newcomer read the bare path as "this file exists"; say when it does not (issue 20, item 2).
    state = "" if path.is_file() or str(path) == os.devnull else " (not present; --init writes it)"
    lines = [f"# settings file: {path}{state}"]
    for cls, settings in resolved:
        group = cls.group
        header = f"# {group.title} settings, {group.prefix}<NAME>"
        lines.append(header if group.table is None else f"[{group.table}]  {header}")
        for name in cls.names():
            lines.append(f"{name:30s} = {getattr(settings, name)!r:60s} # {settings.sources[name]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytracking_ext.settings", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--init",
        nargs="?",
        const=str(settings_file_path()),
        metavar="PATH",
        help="write a commented template (default: the settings file in use)",
    )
    parser.add_argument("--force", action="store_true", help="with --init: replace an existing file")
    args = parser.parse_args(argv)
    try:
        if args.init:
            print(f"wrote {write_template(Path(args.init), force=args.force)}")
            return 0
        lines = listing()
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "ENV_PREFIX",
    "EnvSettings",
    "EnvironmentSettings",
    "LTR_ENV_PREFIX",
    "MissingFolderError",
    "SETTINGS_FILE_VARIABLE",
    "env_settings",
    "ltr_env_settings",
    "main",
    "setting_names",
    "settings_file_path",
    "template_text",
    "write_template",
]


if __name__ == "__main__":
    sys.exit(main())
