"""One resolver for evaluation (PYTRACKING_*) and training (LTR_*) settings, one settings file for both."""

import re
from pathlib import Path

import pytest

from ltr_ext.admin.environment import env_settings as ltr_env
from ltr_ext.admin.settings import Settings
from pytracking_ext.datasets import DATASETS, dataset_root_setting
from pytracking_ext.errors import SettingsError
from pytracking_ext.settings import EnvironmentSettings, EnvSettings, env_settings, main, template_text
from segmentation_plugins.run_segmentation import build_parser, dataset_root

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings_file(workspace, tmp_path, monkeypatch):
    """Write the shared settings file and point PYTRACKING_SETTINGS at it."""
    path = tmp_path / "settings.toml"

    def write(text: str) -> Path:
        path.write_text(text)
        monkeypatch.setenv("PYTRACKING_SETTINGS", str(path))
        return path

    return write


def test_ltr_field_order_is_argument_environment_file_default(settings_file, monkeypatch):
    assert ltr_env().lasot_dir == "" and ltr_env().sources["lasot_dir"] == "default"
    path = settings_file('[ltr]\nlasot_dir = "/from/file"\n')
    assert ltr_env().lasot_dir == "/from/file" and str(path) in ltr_env().sources["lasot_dir"]
    monkeypatch.setenv("LTR_LASOT_DIR", "/from/env")
    assert ltr_env().lasot_dir == "/from/env" and "LTR_LASOT_DIR" in ltr_env().sources["lasot_dir"]
    env = ltr_env(lasot_dir="/from/argument")
    assert env.lasot_dir == "/from/argument" and env.sources["lasot_dir"] == "argument"


def test_workspace_from_the_file_moves_the_derived_ltr_folders(settings_file, monkeypatch, tmp_path):
    monkeypatch.delenv("LTR_WORKSPACE_DIR")
    settings_file(f'[ltr]\nworkspace_dir = "{tmp_path}/ltr_ws"\n')
    env = ltr_env()
    assert env.tensorboard_dir == f"{tmp_path}/ltr_ws/tensorboard"
    assert env.pretrained_networks == f"{tmp_path}/ltr_ws/pretrained_networks"


def test_one_file_serves_both_groups_each_from_its_own_place(settings_file, monkeypatch):
    settings_file('davis_dir = "/eval/davis"\n\n[ltr]\ndavis_dir = "/train/davis"\ncamvid_dir = "/train/camvid"\n')
    assert env_settings().davis_dir == "/eval/davis"
    assert ltr_env().davis_dir == "/train/davis"
    assert Settings().env.camvid_dir == "/train/camvid"  # what train settings read as settings.env
    monkeypatch.setenv("PYTRACKING_DAVIS_DIR", "/eval/env")  # each group keeps its own variables
    assert env_settings().davis_dir == "/eval/env" and ltr_env().davis_dir == "/train/davis"


def test_a_training_key_at_the_top_level_points_at_the_ltr_table(settings_file):
    settings_file('camvid_dir = "/x"\n')
    with pytest.raises(SettingsError, match=r"'camvid_dir' is a training setting: put it in the \[ltr\] table"):
        ltr_env()


def test_unknown_ltr_key_suggests_the_closest_name(settings_file):
    settings_file('[ltr]\ncamvid_dr = "/x"\n')
    with pytest.raises(SettingsError, match=r"\[ltr\]: unknown setting 'camvid_dr'; did you mean 'camvid_dir'"):
        ltr_env()


def test_legacy_ltr_local_py_supplies_the_training_folders(workspace, monkeypatch, tmp_path):
    path = tmp_path / "local.py"
    path.write_text("class EnvironmentSettings:\n    def __init__(self):\n        self.camvid_dir = '/legacy/camvid'\n")
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(path))
    assert ltr_env().camvid_dir == "/legacy/camvid"


def test_missing_dataset_folder_is_one_line_naming_the_variable(workspace):
    with pytest.raises(SettingsError, match=r"camvid_dir.*LTR_CAMVID_DIR.*\[ltr\] camvid_dir") as err:
        ltr_env().require("camvid_dir")
    assert "\n" not in str(err.value)
    assert isinstance(err.value, FileNotFoundError)  # what training code has always caught


def test_dataset_folder_that_is_not_a_folder_names_its_source(settings_file, tmp_path):
    path = settings_file(f'[ltr]\ncityscapes_dir = "{tmp_path}/nope"\n')
    with pytest.raises(SettingsError, match=f"not a folder .from {path} .ltr.; override with LTR_CITYSCAPES_DIR"):
        ltr_env().require("cityscapes_dir")


def test_unknown_ltr_setting_is_a_settings_error(workspace):
    with pytest.raises(SettingsError, match="unknown setting 'camvid'; known settings: .*camvid_dir"):
        ltr_env().require("camvid")


def test_camvid_folder_is_listed_and_read_by_run_segmentation_from_the_same_place(settings_file, tmp_path, capsys):
    camvid = tmp_path / "camvid"
    camvid.mkdir()
    path = settings_file(f'[ltr]\ncamvid_dir = "{camvid}"\n')
    assert main([]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("camvid_dir ")]
    assert len(listed) == 1 and repr(str(camvid)) in listed[0] and f"{path} [ltr]" in listed[0]
    assert dataset_root("camvid", None) == str(camvid)


def test_settings_command_lists_every_setting_of_both_groups(workspace, capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.splitlines() if line and not line.startswith(("#", "["))}
    assert set(EnvSettings.names()) <= listed and set(EnvironmentSettings.names()) <= listed
    assert "[ltr]" in out and "LTR_<NAME>" in out


def test_init_template_lists_every_training_setting_and_reads_back(workspace, tmp_path, monkeypatch):
    text = template_text()
    assert "\n[ltr]\n" in text and "LTR_CAMVID_DIR" in text and "LTR_CITYSCAPES_DIR" in text
    target = tmp_path / "settings.toml"
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(target))
    assert main(["--init"]) == 0
    # uncommenting a training key in the written template makes it the [ltr] value
    target.write_text(target.read_text().replace('# camvid_dir = ""', 'camvid_dir = "/t/camvid"'))
    assert ltr_env().camvid_dir == "/t/camvid" and env_settings().davis_dir == ""


def _required_names() -> set[str]:
    """Every setting the source reads through ``require("<name>")``."""
    names = set()
    for package in ("pytracking_ext", "ltr_ext", "segmentation_plugins", "parameter"):
        for file in (REPO / package).rglob("*.py"):
            names |= set(re.findall(r"\.require\(\s*[\"'](\w+)[\"']", file.read_text()))
    return names


def test_every_dataset_folder_used_anywhere_is_a_listed_setting():
    known = set(EnvSettings.names()) | set(EnvironmentSettings.names())
    used = _required_names() | {dataset_root_setting(name) for name in DATASETS.names()} - {None}
    choices = next(a.choices for a in build_parser()._actions if a.dest == "dataset")
    used |= {f"{name}_dir" for name in choices}  # run_segmentation --dataset reads <name>_dir
    assert {"camvid_dir", "cityscapes_dir"} <= used
    assert used <= known, sorted(used - known)


def test_where_values_came_from_stays_out_of_checkpoints(workspace):
    env = Settings().to_plain_dict()["env"]
    assert "sources" not in env and set(env) == set(EnvironmentSettings.names())
