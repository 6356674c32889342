"""Discovery by name: trackers, parameters, lazy targets, helpful errors."""

import pytest

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.registry import Registry
from pytracking_ext.trackers import TRACKERS, get_parameters, get_tracker_class, parameter_names


def test_unknown_tracker_lists_known_trackers():
    with pytest.raises(UnknownNameError, match="known trackers: .*opencv_mil"):
        get_tracker_class("no_such_tracker")


def test_unknown_parameter_lists_known_parameters():
    with pytest.raises(UnknownNameError, match="known parameters: default, mask"):
        get_parameters("opencv_mil", "nope")


def test_parameters_are_found_by_name_and_tagged():
    params = get_parameters("opencv_mil", "default")
    assert params.tracker_name == "opencv_mil" and params.param_name == "default"
    assert "default" in parameter_names("opencv_mil")


def test_lazy_target_is_imported_on_first_get():
    registry = Registry("thing")
    registry.register("path_join", "os.path:join")
    assert registry.raw("path_join") == "os.path:join"
    import os.path

    assert registry.get("path_join") is os.path.join


def test_decorator_registration():
    registry = Registry("thing")

    @registry.register("f")
    def f():
        return 1

    assert registry.get("f") is f and registry.names() == ["f"]


def test_builtin_baseline_is_registered():
    assert "opencv_mil" in TRACKERS


def test_installed_plugins_are_found_through_entry_points(tmp_path, monkeypatch):
    dist = tmp_path / "fake_tracker_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-tracker-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[pytracking_ext.trackers]\nfake = fake_tracker_module:FakeTracker\n")
    (tmp_path / "fake_tracker_module.py").write_text("class FakeTracker:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("tracker", "pytracking_ext.trackers")
    assert "fake" in registry.names()
    assert registry.get("fake").__name__ == "FakeTracker"
