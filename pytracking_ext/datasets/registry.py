"""Evaluation datasets by PyTracking's keys: ``get_dataset('lasot', 'otb')`` -> one ``SequenceList``.

Each key maps to a :class:`DatasetSpec`: the loader (``"module:function"``, imported on first
use), the setting that holds the dataset root, and fixed keyword arguments. Loaders are called as
``loader(root, settings, **kwargs)`` and return a :class:`SequenceList`. Every key comes from the
entry-point group ``pytracking_ext.datasets`` (value: a ``DatasetSpec`` or a loader function taking
``(root, settings)``); the built-in specs are in :mod:`.catalog`, declared in ``pyproject.toml``.

The root comes from the ``root`` argument (the runner's ``--dataset_path``) or else from the
setting (``settings.require(...)``, whose error names the setting and its ``PYTRACKING_``
variable).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from ..evaluation.data import SequenceList
from ..registry import Registry
from ..settings import EnvSettings, env_settings
from .attributes import AttributeTable, find_attribute_file, load_attribute_table
from .spec import DatasetSpec

DATASETS = Registry("dataset", "pytracking_ext.datasets")


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of ``name`` (plugin loader functions are wrapped in a spec without a root setting)."""
    item = DATASETS.get(name)
    if isinstance(item, DatasetSpec):
        return item
    if callable(item):
        return DatasetSpec(item, None)
    raise DatasetError(f"dataset '{name}' is registered as {item!r}, which is neither a DatasetSpec nor a loader")


def dataset_root_setting(name: str) -> str | None:
    """The setting naming the root folder of dataset ``name`` (e.g. ``'lasot_path'``)."""
    return dataset_spec(name).root_setting


def dataset_root(name: str, settings: EnvSettings | None = None, root: str | Path | None = None) -> Path | None:
    """The root folder of ``name``: ``root`` when given (must exist), else the setting's value."""
    spec = dataset_spec(name)
    if root is not None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise DatasetError(f"dataset root for '{name}' (--dataset_path) is not a folder: {path}")
        return path
    if spec.root_setting is None:
        return None
    settings = settings or env_settings()
    return settings.require(spec.root_setting, what=f"dataset '{name}'")


def _attribute_table(spec: DatasetSpec, root: Path | None, settings: EnvSettings) -> AttributeTable | None:
    if spec.attribute_file is None:
        return None
    path = find_attribute_file(spec.attribute_file, root, settings.dataspec_path)
    return load_attribute_table(path) if path is not None else None


def _load_one(name: str, settings: EnvSettings, root: str | Path | None) -> tuple[SequenceList, AttributeTable | None]:
    spec = dataset_spec(name)
    folder = dataset_root(name, settings, root)
    sequences = spec.load_function()(folder, settings, **spec.kwargs)
    table = _attribute_table(spec, folder, settings)
    if table is not None:
        for seq in sequences:
            seq.attributes = list(
                table.of(
                    seq.name[len(spec.attribute_prefix) :] if seq.name.startswith(spec.attribute_prefix) else seq.name
                )
            )
    return SequenceList(sequences), table


def get_dataset(*names: str, settings: EnvSettings | None = None, root: str | Path | None = None) -> SequenceList:
    """Concatenate the sequences of the named datasets (``root`` overrides every dataset's folder)."""
    if not names:
        raise DatasetError(f"get_dataset: no dataset name given; known datasets: {', '.join(DATASETS.names())}")
    settings = settings or env_settings()
    result = SequenceList()
    for name in names:
        result += _load_one(name, settings, root)[0]
    return result


def get_dataset_attributes(
    name: str,
    mode: str = "short",
    settings: EnvSettings | None = None,
    root: str | Path | None = None,
    attribute: str | None = None,
) -> dict[str, SequenceList]:
    """``{attribute: sequences having it}`` for datasets with an attribute file, else ``{name: all}``.

    ``mode`` picks the key form ('short' codes such as ``FOC`` or 'long' names); ``attribute``
    (short or long form) restricts the result to that one attribute.
    """
    if mode not in ("short", "long"):
        raise DatasetError(f"get_dataset_attributes: mode must be 'short' or 'long', got '{mode}'")
    settings = settings or env_settings()
    spec = dataset_spec(name)
    sequences, table = _load_one(name, settings, root)
    if table is None:
        if spec.attribute_file is not None:
            folder = dataset_root(name, settings, root)
            raise DatasetError(
                f"dataset '{name}': attribute file {spec.attribute_file} not found in {folder} "
                f"or in setting dataspec_path ({settings.dataspec_path or 'unset'})"
            )
        if attribute is not None:
            raise DatasetError(f"dataset '{name}' has no attributes (asked for '{attribute}')")
        return {name: sequences}
    wanted = [table.short_name(attribute)] if attribute is not None else list(table.short)
    result: dict[str, SequenceList] = {}
    for short in wanted:
        key = short if mode == "short" else table.long_name(short)
        result[key] = SequenceList([seq for seq in sequences if short in seq.attributes])
    return result
