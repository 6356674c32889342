"""LMANet preset 'erfnet_cityscapes'; `--set stage=1` / `--set stage=2` after the single-frame run (../recipe.py)."""

from segmentation_plugins.lmanet.training.recipe import run_preset


def run(settings):
    run_preset(settings, "erfnet_cityscapes")
