"""Evaluation datasets by PyTracking's keys (``get_dataset('lasot', 'otb')``); the registry and the
loading are in :mod:`.registry`, the built-in keys in :mod:`.catalog`."""

from .registry import DATASETS, dataset_root, dataset_root_setting, dataset_spec, get_dataset, get_dataset_attributes
from .spec import DatasetSpec

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "dataset_root",
    "dataset_root_setting",
    "dataset_spec",
    "get_dataset",
    "get_dataset_attributes",
]
