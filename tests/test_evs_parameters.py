"""EVS parameter modules: the 14 operating points of thesis Table 3.2."""

import importlib
from pathlib import Path

import pytest

from parameter.evs import OPERATING_POINTS, operating_point
from pytracking_ext.errors import UnknownNameError
from segmentation_plugins.evs.flow import FLOW_METHODS
from segmentation_plugins.evs.iam import InconsistencyAttention
from segmentation_plugins.evs.models import ICNET_CONFIGS
from segmentation_plugins.evs.warp import BORDERS, INTERPOLATIONS

# thesis Table 3.2, typed in again here: id: (D, S, W, R, mIoU %, Hz)
TABLE_3_2 = {
    14: (0.5, 17, True, False, 46.0, 1045),
    13: (0.5, 10, False, False, 35.3, 677),
    12: (0.5, 10, True, False, 50.7, 634),
    11: (1.0, 10, False, False, 36.7, 387),
    10: (1.0, 10, True, False, 56.2, 372),
    9: (0.5, 5, False, False, 42.8, 339),
    8: (1.0, 5, False, False, 46.4, 192),
    7: (1.0, 5, True, False, 62.2, 190),
    6: (1.0, 5, True, True, 63.0, 122),
    5: (1.0, 3, True, False, 64.7, 115),
    4: (1.0, 3, True, True, 65.6, 74),
    3: (1.0, 2, True, False, 66.2, 77),
    2: (1.0, 2, True, True, 66.8, 49),
    1: (1.0, 1, True, True, 67.6, 37),
}


@pytest.mark.parametrize("number", sorted(TABLE_3_2))
def test_parameter_module_matches_table_3_2(number):
    params = importlib.import_module(f"parameter.evs.evs{number:02d}").parameters()
    d, s, w, r, miou, fps = TABLE_3_2[number]
    assert (params.downscale, params.keyframe_interval, params.warp, params.refine) == (d, s, w, r)
    assert type(params.warp) is bool and type(params.refine) is bool and type(params.keyframe_interval) is int
    assert (params.thesis_miou, params.thesis_fps) == (miou, fps)


def test_table_has_exactly_the_14_points():
    assert sorted(OPERATING_POINTS) == [f"evs{n:02d}" for n in range(1, 15)]


def test_shared_settings_are_the_thesis_and_reference_defaults():
    params = operating_point("evs02")
    assert params.flow_method == "dis" and params.flow_method in FLOW_METHODS
    assert params.flow_scale == 1.0 and params.propagation_stride == 4
    assert params.refine_every == "last" and params.refiner_uses_pwarped is False
    assert params.ignore_label == 255
    assert params.warp_interpolation in INTERPOLATIONS
    assert {params.label_border, params.probability_border, params.feature_border} <= set(BORDERS)
    iam = InconsistencyAttention(
        params.iam_dilation, params.iam_smoothing, params.iam_smoothing_mode, params.ignore_label
    )
    assert (iam.dilation, iam.smoothing, iam.smoothing_mode) == (7, 7, "box")


def test_modules_return_independent_objects():
    first = operating_point("evs07")
    first.keyframe_interval = 99
    assert operating_point("evs07").keyframe_interval == 5


def test_unknown_operating_point_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown EVS operating point 'evs15'; known: evs01, evs02"):
        operating_point("evs15")


def test_operating_points_load_the_shipped_camvid_networks_by_default():
    params = operating_point("evs07")
    assert (params.icnet_config, params.num_classes, params.label_set) == ("small", 11, "camvid")
    assert params.icnet_config in ICNET_CONFIGS
    assert Path(params.icnet_weights).is_file() and Path(params.refiner_weights).is_file()
