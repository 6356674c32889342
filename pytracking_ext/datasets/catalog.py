"""The built-in evaluation datasets, one :class:`DatasetSpec` per key.

``pyproject.toml`` registers each under its key in the entry-point group ``pytracking_ext.datasets``
(``lasot = "pytracking_ext.datasets.catalog:LASOT"``); a plugin package registers its own the same way.
Loaders are ``"module:function"`` strings, imported when the dataset is first loaded.
"""

from __future__ import annotations

from typing import Any

from .spec import DatasetSpec

_M = "pytracking_ext.datasets."


def _spec(module: str, function: str, setting: str, **kwargs: Any) -> DatasetSpec:
    attribute_file = kwargs.pop("attribute_file", None)
    prefix = kwargs.pop("attribute_prefix", "")
    return DatasetSpec(f"{_M}{module}:{function}", setting, kwargs, attribute_file, prefix)


LASOT = _spec("lasot", "load_lasot", "lasot_path", attribute_file="LaSOT_attributes.json")
LASOT_TRAIN = _spec("lasot", "load_lasot_train", "lasot_path", attribute_file="LaSOT_attributes.json")
LASOT_EXTENSION_SUBSET = _spec("lasot", "load_lasot_extension_subset", "lasot_extension_subset_path")
GOT10K_TEST = _spec("got10k", "load_got10k", "got10k_path", split="test")
GOT10K_VAL = _spec("got10k", "load_got10k", "got10k_path", split="val")
GOT10K_LTRVAL = _spec("got10k", "load_got10k", "got10k_path", split="ltrval")
TRACKINGNET = _spec("trackingnet", "load_trackingnet", "trackingnet_path")
UAV = _spec("uav", "load_uav", "uav_path", attribute_file="UAV123_attributes.json", attribute_prefix="uav_")
NFS = _spec("nfs", "load_nfs", "nfs_path")
OTB = _spec("otb", "load_otb", "otb_path", attribute_file="otb_attributes.json")
VOT = _spec("vot", "load_vot", "vot_path")
DV2017_VAL = _spec("davis", "load_davis", "davis_dir", version="2017", split="val")
DV2016_VAL = _spec("davis", "load_davis", "davis16_dir", version="2016", split="val")
# the 2016 training clips (ImageSets/2016/train.txt): how well a network fits what it was trained on
DV2016_TRAIN = _spec("davis", "load_davis", "davis16_dir", version="2016", split="train")
DV2017_TEST_DEV = _spec("davis", "load_davis", "davis_testdev_dir", version="2017", split="test-dev")
YT2019_VALID = _spec("youtubevos", "load_youtubevos", "youtubevos_dir", version="2019", split="valid")
YT2019_VALID_ALL = _spec(
    "youtubevos", "load_youtubevos", "youtubevos_dir", version="2019", split="valid", all_frames=True
)
YT2019_TEST = _spec("youtubevos", "load_youtubevos", "youtubevos_dir", version="2019", split="test")
YT2018_VALID_ALL = _spec(
    "youtubevos", "load_youtubevos", "youtubevos_dir", version="2018", split="valid", all_frames=True
)
YT2019_VALID_GT = _spec("youtubevos", "load_youtubevos", "youtubevos_dir", version="2019", split="valid", dense_gt=True)
