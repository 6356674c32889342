"""A broken or missing settings file is one line naming the file (and the TOML position), exit code 2."""

import pytest

from pytracking_ext.errors import SettingsError
from pytracking_ext.settings import env_settings
from pytracking_ext.settings import main as settings_main

BROKEN = 'lasot_path = "/data/lasot"\nresults_path "/r"\n'  # line 2 has no '='


@pytest.fixture
def broken_file(workspace, tmp_path, monkeypatch):
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(path))
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_settings_variable_naming_a_missing_file_is_an_error(workspace, tmp_path, monkeypatch):
    missing = tmp_path / "typo" / "settings.toml"
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(missing))
    with pytest.raises(SettingsError, match=f"PYTRACKING_SETTINGS.*{missing}.*does not exist"):
        env_settings()


def test_settings_variable_naming_a_folder_is_an_error(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(tmp_path))
    with pytest.raises(SettingsError, match=f"PYTRACKING_SETTINGS.*{tmp_path}.*folder"):
        env_settings()


def test_settings_command_reports_a_missing_settings_file_in_one_line(workspace, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(tmp_path / "nope.toml"))
    assert settings_main([]) == 2
    assert "PYTRACKING_SETTINGS" in _one_error_line(capsys)


def test_init_still_writes_the_file_the_variable_names(workspace, tmp_path, monkeypatch):
    target = tmp_path / "new" / "settings.toml"
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(target))
    assert settings_main(["--init"]) == 0 and target.is_file()
    env_settings()  # and the new file is read from then on


def test_unknown_key_in_settings_file_suggests_the_closest_name(workspace, tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    path.write_text('lasot_pth = "/x"\n')
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(path))
    with pytest.raises(SettingsError, match="did you mean 'lasot_path'"):
        env_settings()


def test_non_text_value_in_settings_file_names_the_key(workspace, tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    path.write_text("[lasot_path]\nroot = '/x'\n")
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(path))
    with pytest.raises(SettingsError, match=f"{path}.*lasot_path"):
        env_settings()


def test_demo_with_a_malformed_settings_file_is_one_line_and_writes_nothing(broken_file, tmp_path, capsys):
    from pytracking_ext.demo import main as demo

    assert demo(["--out", str(tmp_path / "demo")]) == 2
    err = _one_error_line(capsys)
    assert str(broken_file) in err and "line 2" in err
    assert not (tmp_path / "demo").exists()


def test_run_tracker_with_a_malformed_settings_file_is_one_line(broken_file, workspace, tmp_path, capsys):
    from pytracking_ext.run_tracker import main as run_tracker

    assert run_tracker(["opencv_mil", "default", "--dataset_name", "lasot", "--dataset_path", str(tmp_path)]) == 2
    err = _one_error_line(capsys)
    assert str(broken_file) in err and "line 2" in err
    assert not (workspace / "tracking_results").exists()


def test_run_experiment_with_a_malformed_settings_file_is_one_line(broken_file, workspace, capsys):
    from pytracking_ext.run_experiment import main as run_experiment

    assert run_experiment(["baselines", "mil_lasot"]) == 2
    err = _one_error_line(capsys)
    assert str(broken_file) in err and "line 2" in err
    assert not (workspace / "tracking_results").exists()
