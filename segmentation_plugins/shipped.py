"""The segmentation networks shipped inside this package (``segmentation_plugins/networks``).

What each file was trained on, with which command, and under which terms its training data are
released: ``segmentation_plugins/networks/MODELS.md``.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent / "networks"

#: the shipped files by role (absolute paths, so the network_path setting does not apply to them)
LMANET_LITE0_CAMVID = SHIPPED_DIR / "lmanet_lite0_camvid.safetensors"
LMANET_LITE0_CAMVID_SINGLE = SHIPPED_DIR / "lmanet_lite0_camvid_single.safetensors"
EVS_ICNET_CAMVID_SMALL = SHIPPED_DIR / "evs_icnet_camvid_small.safetensors"
EVS_REFINER_CAMVID_SMALL = SHIPPED_DIR / "evs_refiner_camvid_small.safetensors"
