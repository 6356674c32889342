"""LMANet preset 'lite0_camvid'; `--set stage=1` / `--set stage=2` after the single-frame run (see __init__)."""
from ltr_ext.train_settings.lmanet import run_preset


def run(settings):
    run_preset(settings, "lite0_camvid")
