"""EVS pipeline settings are declared once, in PipelineConfig: parameter sets and the training's
propagation settings take their names, defaults and docs from it."""

import dataclasses
import importlib
import pickle

import pytest

import parameter.evs._operating_points as evs_parameters
from parameter.evs import OPERATING_POINTS, SEGMENTER_SETTINGS, operating_point
from segmentation_plugins.evs.pipeline import GROUPS, PipelineConfig, settings_class
from segmentation_plugins.evs.pipeline.config import setting

PARAMETER_SETS = [*OPERATING_POINTS, "evs_adaptive"]
POINT_KEYS = {"name", "thesis_miou", "thesis_fps"}

# bound at module level under its own name, as a user of settings_class does, so it pickles
Propagation = settings_class("Propagation", ("warp", "iam"), {"monitor_iam": (bool, True)}, module=__name__)


def parameters(name: str):
    return importlib.import_module(f"parameter.evs.{name}").parameters()


@pytest.mark.parametrize("name", PARAMETER_SETS)
def test_parameter_set_holds_every_pipeline_setting_and_nothing_else_undeclared(name):
    params = vars(parameters(name))
    assert set(params) == set(PipelineConfig.defaults()) | set(SEGMENTER_SETTINGS) | POINT_KEYS
    config = PipelineConfig.from_params(parameters(name))
    assert config.settings() == {key: params[key] for key in PipelineConfig.defaults()}


@pytest.mark.parametrize("name", sorted(OPERATING_POINTS))
def test_settings_outside_the_table_are_the_config_defaults(name):
    op = OPERATING_POINTS[name]
    table = {"downscale", "keyframe_interval", "warp", "refine", "keyframe_blend"}
    params = vars(operating_point(name))
    assert {k: v for k, v in params.items() if k in PipelineConfig.defaults() and k not in table} == {
        k: v for k, v in PipelineConfig.defaults().items() if k not in table
    }
    assert (params["downscale"], params["keyframe_interval"], params["warp"], params["refine"]) == (
        op.downscale,
        op.keyframe_interval,
        op.warp,
        op.refine,
    )


@pytest.mark.parametrize("name", PARAMETER_SETS)
def test_a_setting_added_to_the_config_reaches_every_parameter_set(name, monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class Extended(PipelineConfig):
        brand_new: int = setting(3, "runtime", "a setting added later")

    monkeypatch.setattr(evs_parameters, "PipelineConfig", Extended)
    assert parameters(name).brand_new == 3


def test_every_setting_has_a_group_and_a_doc():
    fields = PipelineConfig.setting_fields()
    assert [f.name for f in fields] == list(PipelineConfig.defaults())
    for f in fields:
        assert f.metadata["group"] in GROUPS and f.metadata["doc"].strip(), f.name
    assert set(PipelineConfig.docs()) == set(PipelineConfig.defaults())
    assert {f.metadata["group"] for f in fields} == set(GROUPS)
    assert "schedule" not in PipelineConfig.defaults()  # derived, not a setting


def test_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown pipeline settings group 'warps'; known: schedule"):
        PipelineConfig.defaults("warps")


def test_settings_class_derives_names_defaults_and_docs():
    fields = {f.name: f for f in dataclasses.fields(Propagation)}
    inherited = PipelineConfig.setting_fields("warp", "iam")
    assert list(fields) == [f.name for f in inherited] + ["monitor_iam"]
    assert Propagation() == Propagation(**PipelineConfig.defaults("warp", "iam"), monitor_iam=True)
    for f in inherited:
        assert fields[f.name].metadata["doc"] == f.metadata["doc"]
    assert {"propagation_stride", "label_border", "iam_dilation"} <= set(fields)
    instance = Propagation(iam_dilation=5, monitor_iam=False)
    assert pickle.loads(pickle.dumps(instance)) == instance
    with pytest.raises(dataclasses.FrozenInstanceError):
        instance.iam_dilation = 3


def test_settings_class_refuses_an_extra_that_shadows_a_pipeline_setting():
    with pytest.raises(ValueError, match="extra setting 'iam_dilation' is already a pipeline setting"):
        settings_class("Bad", ("iam",), {"iam_dilation": (int, 3)})
