"""Settings: PyTracking names, environment overrides, settings files, helpful errors."""

from pathlib import Path

import pytest

from pytracking_ext.errors import SettingsError
from pytracking_ext.settings import env_settings, main, template_text, write_template


def test_defaults_live_under_the_workspace(workspace):
    settings = env_settings()
    assert Path(settings.results_path) == workspace / "tracking_results"
    assert Path(settings.segmentation_path) == workspace / "segmentation_results"
    assert Path(settings.network_path) == workspace / "networks"


def test_environment_variable_overrides_a_setting(workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTRACKING_LASOT_PATH", str(tmp_path))
    settings = env_settings()
    assert settings.lasot_path == str(tmp_path)
    assert "PYTRACKING_LASOT_PATH" in settings.sources["lasot_path"]


def test_settings_file_is_read_and_environment_wins(workspace, monkeypatch, tmp_path):
    file = tmp_path / "settings.toml"
    file.write_text(f'otb_path = "{tmp_path}/otb"\nnfs_path = "{tmp_path}/nfs"\n')
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(file))
    monkeypatch.setenv("PYTRACKING_NFS_PATH", "/elsewhere")
    settings = env_settings()
    assert settings.otb_path == f"{tmp_path}/otb"
    assert settings.nfs_path == "/elsewhere"


def test_explicit_argument_wins_over_everything(workspace, monkeypatch):
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", "/from/env")
    assert env_settings(results_path="/explicit").results_path == "/explicit"


def test_missing_dataset_path_names_setting_and_variable(workspace):
    with pytest.raises(SettingsError, match=r"lasot_path.*PYTRACKING_LASOT_PATH"):
        env_settings().require("lasot_path")


def test_dataset_path_that_is_not_a_folder_is_reported(workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTRACKING_OTB_PATH", str(tmp_path / "nope"))
    with pytest.raises(SettingsError, match="not a folder"):
        env_settings().require("otb_path")


def test_legacy_local_py_is_accepted(workspace, monkeypatch, tmp_path):
    file = tmp_path / "local.py"
    file.write_text(
        "class S:\n    pass\n\ndef local_env_settings():\n    s = S()\n    s.got10k_path = '/data/got'\n    return s\n"
    )
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(file))
    assert env_settings().got10k_path == "/data/got"


def test_broken_legacy_local_py_is_reported_not_overwritten(workspace, monkeypatch, tmp_path):
    file = tmp_path / "local.py"
    file.write_text("def local_env_settings(:\n")
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(file))
    with pytest.raises(SettingsError, match="failed to load"):
        env_settings()
    assert file.read_text() == "def local_env_settings(:\n"


def test_template_lists_every_setting_with_its_variable():
    text = template_text()
    assert "PYTRACKING_LASOT_PATH" in text and "# results_path" in text


def test_init_never_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "settings.toml"
    write_template(path)
    path.write_text("# mine\n")
    assert main(["--init", str(path)]) == 2
    assert path.read_text() == "# mine\n"
