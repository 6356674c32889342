"""Per-dataset scoring rules of PyTracking's box analysis, keyed by ``Sequence.dataset``.

The defaults cover OTB/NFS/TPL/TrackingNet/VOT-style sequences; the rule sets below hold the
exceptions PyTracking makes (NaN absence rows in UAV123, LaSOT's visibility flags and length
rule) and name the extra metric families a dataset reports (GOT-10k AO/SR, VOS J/F).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry


@dataclass(frozen=True)
class DatasetRules:
    """How one dataset's box results are pre-processed and which metric families it reports."""

    # NaN rows in the annotation mark absent targets (otherwise NaN is an error).
    allow_nan_annotation: bool = False
    # A prediction shorter than the annotation is an error instead of being padded with zeros.
    short_prediction_is_error: bool = False
    # Centre error given to invalid frames (PyTracking: +Inf, but -1 for UAV123).
    invalid_center_error: float = float("inf")
    # Frames with target_visible == False get +Inf centre and normalised errors (LaSOT).
    invisible_errors_are_inf: bool = False
    # Whether Sequence.target_visible takes part in the validity mask of the box metrics.
    # PyTracking's GOT-10k reader never set it, so its AUC counts absent frames as invalid-by-box
    # only; keeping that here reproduces PyTracking's numbers while AO/SR use the flags.
    visibility_in_validity: bool = True
    # Metric families: 'box' (AUC, OP, precision), 'got10k' (AO, SR), 'vos' (J, F).
    families: tuple[str, ...] = ("box",)


DEFAULT_RULES = DatasetRules()

# PyTracking's exceptions to the defaults, one object per rule set; pyproject.toml declares which
# dataset tags use them (entry-point group below), as a plugin declares the rules of its own datasets.
UAV_RULES = DatasetRules(allow_nan_annotation=True, invalid_center_error=-1.0)
LASOT_RULES = DatasetRules(short_prediction_is_error=True, invisible_errors_are_inf=True)
GOT10K_RULES = DatasetRules(visibility_in_validity=False, families=("box", "got10k"))
VOS_RULES = DatasetRules(families=("vos",))

DATASET_RULES = Registry("analysis dataset tag", entry_point_group="pytracking_ext.analysis_rules")


def rules_for(dataset: str) -> DatasetRules:
    """The rules of dataset tag ``dataset`` (the defaults for tags without exceptions)."""
    return DATASET_RULES.get(dataset) if dataset in DATASET_RULES else DEFAULT_RULES
