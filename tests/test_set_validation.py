"""``--set`` / ``LTR_EXT_SET`` overrides are checked against the declared fields before any work starts."""

import pytest

from ltr_ext.admin.settings import Settings
from ltr_ext.run_training import main as run_training
from pytracking_ext.errors import OverrideError, SettingsError
from pytracking_ext.overrides import check_value, parse_assignment

# keep the runs that the old code would have started short
TINY = ["examples", "tiny", "--set", "samples_per_epoch=8", "--set", "val_samples=8", "--set", "batch_size=8"]


@pytest.fixture
def ws(workspace, tmp_path, monkeypatch):
    """The isolated workspace, with an (empty) settings file that exists."""
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text("")
    monkeypatch.setenv("PYTRACKING_SETTINGS", str(settings_file))
    return workspace


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _nothing_written(workspace) -> bool:
    return not any((workspace / name).exists() for name in ("checkpoints", "logs", "tensorboard", "generated"))


# ----- the shared parser and checker ----------------------------------------------------------------
def test_values_are_python_literals_or_plain_text():
    assert parse_assignment("output_sz=(96,64)") == ("output_sz", (96, 64))
    assert parse_assignment("backbone=resnet18") == ("backbone", "resnet18")


def test_assignment_without_equals_is_an_override_error():
    with pytest.raises(OverrideError, match="expects key=value"):
        parse_assignment("max_epochs")


@pytest.mark.parametrize(
    "value, default",
    [(3, 2.0), ([64, 48], (480, 352)), (None, (240, 320)), ("x", None), (1, "single"), (False, True), (0, 8)],
)
def test_compatible_values_are_accepted(value, default):
    check_value("field", value, default)


@pytest.mark.parametrize(
    "value, default", [("abc", 10), (2.5, 10), (True, 10), (1, True), ("0.1", 1e-3), (3, (7, 9)), (-1, 0), (-0.5, 1e-3)]
)
def test_incompatible_values_are_refused(value, default):
    with pytest.raises(OverrideError, match="'field'"):
        check_value("field", value, default)


@pytest.mark.parametrize("value", [0, -2])
def test_sizes_must_be_positive(value):
    with pytest.raises(OverrideError, match="positive"):
        check_value("batch_size", value, 8)


def test_sized_sequences_keep_their_length_and_positive_values():
    with pytest.raises(OverrideError, match="2 values"):
        check_value("output_sz", (96,), (288, 160))
    with pytest.raises(OverrideError, match="> 0"):
        check_value("output_sz", (0, 0), (288, 160))


# ----- Settings: declarations then the first use -------------------------------------------------------
def _declaring_settings(**overrides) -> Settings:
    settings = Settings()
    settings.module_name, settings.script_name = "mod", "name"
    for key, value in overrides.items():
        settings.override(key, value)
    return settings


def test_override_of_a_field_declared_in_a_later_step_is_accepted():
    settings = _declaring_settings(stage=1, window=3)
    with settings.declaring():
        settings.defaults(stage="single")  # like LMANet: the stage picks what is declared next
        settings.defaults(window=21, memory_size=3)
        assert settings.env.workspace_dir
    assert (settings.stage, settings.window) == (1, 3)


def test_first_use_of_the_environment_ends_the_declarations():
    settings = _declaring_settings(max_epoch=3)
    with settings.declaring():
        settings.defaults(max_epochs=2)
        with pytest.raises(OverrideError, match="unknown setting 'max_epoch' for mod name; did you mean 'max_epochs'"):
            settings.env


def test_first_use_of_the_device_ends_the_declarations():
    settings = _declaring_settings(samples=3)
    with settings.declaring():
        settings.defaults(samples_per_epoch=2)
        with pytest.raises(OverrideError, match="unknown setting 'samples'"):
            settings.device


def test_declaration_checks_the_type_of_an_override():
    settings = _declaring_settings(max_epochs="abc")
    with pytest.raises(OverrideError, match="setting 'max_epochs' of mod name takes an integer"):
        settings.defaults(max_epochs=2)


def test_framework_field_of_the_wrong_type_is_refused_at_once():
    with pytest.raises(OverrideError, match="'seed'.*integer"):
        _declaring_settings(seed="abc")


def test_override_bookkeeping_stays_out_of_the_checkpoint_settings():
    settings = _declaring_settings(max_epochs=3)
    with settings.declaring():
        settings.defaults(max_epochs=2)
    plain = settings.to_plain_dict()
    assert plain["max_epochs"] == 3 and not [key for key in plain if "declar" in key or "override" in key]


# ----- run_training ---------------------------------------------------------------------------------
def test_misspelled_training_setting_suggests_the_closest_name(ws, capsys):
    assert run_training([*TINY, "--set", "max_epoch=1"]) == 2
    err = _one_error_line(capsys)
    assert "unknown setting 'max_epoch' for examples tiny; did you mean 'max_epochs'?" in err
    assert _nothing_written(ws)


def test_unknown_training_setting_lists_the_known_ones(ws, capsys):
    assert run_training([*TINY, "--set", "nonsense_key=5", "--set", "max_epochs=1"]) == 2
    err = _one_error_line(capsys)
    assert "unknown setting 'nonsense_key'" in err and "max_epochs" in err
    assert _nothing_written(ws)


def test_training_setting_of_the_wrong_type_stops_before_training(ws, capsys):
    assert run_training([*TINY, "--set", "max_epochs=abc"]) == 2
    err = _one_error_line(capsys)
    assert "'max_epochs'" in err and "integer" in err and "'abc'" in err
    assert _nothing_written(ws)


def test_framework_setting_of_the_wrong_type_is_a_one_line_error(ws, capsys):
    assert run_training([*TINY, "--set", "seed=abc", "--set", "max_epochs=1"]) == 2
    assert "'seed'" in _one_error_line(capsys)
    assert _nothing_written(ws)


def test_zero_batch_size_is_refused(ws, capsys):
    assert run_training([*TINY, "--set", "batch_size=0", "--set", "max_epochs=1"]) == 2
    assert "'batch_size'" in _one_error_line(capsys) and _nothing_written(ws)


def test_rts_misspelling_is_reported_before_videos_are_generated(ws, capsys):
    small = [
        "--set",
        "generated_sequences=2",
        "--set",
        "generated_frames=12",
        "--set",
        "samples_per_epoch=1",
        "--set",
        "backbone='resnet18'",
        "--set",
        "pretrained_backbone=False",
        "--set",
        "num_workers=0",
    ]
    assert run_training(["rts", "rts_small", *small, "--set", "max_epoch=1"]) == 2
    err = _one_error_line(capsys)
    assert "unknown setting 'max_epoch' for rts rts_small; did you mean 'max_epochs'?" in err
    assert _nothing_written(ws)


def test_rts_size_with_one_value_is_refused(ws, capsys):
    assert run_training(["rts", "rts_small", "--set", "output_sz=(96,)", "--set", "generated_sequences=1"]) == 2
    assert "'output_sz'" in _one_error_line(capsys) and _nothing_written(ws)


# ----- run_segmentation -----------------------------------------------------------------------------
def _segment(tmp_path, *extra):
    from segmentation_plugins.run_segmentation import main

    return main(
        [
            "lmanet",
            "lite0_camvid",
            "--dataset",
            "camvid",
            "--root",
            str(tmp_path),
            "--out",
            str(tmp_path / "out"),
            "--set",
            f"net_path={str(tmp_path / 'missing.pth')!r}",
            "--no-progress",
            *extra,
        ]
    )


def test_misspelled_segmentation_parameter_suggests_the_closest_name(ws, tmp_path, capsys):
    assert _segment(tmp_path, "--set", "memory_sise=2") == 2
    err = _one_error_line(capsys)
    assert "unknown parameter 'memory_sise' for lmanet lite0_camvid; did you mean 'memory_size'?" in err
    assert not (tmp_path / "out").exists()


def test_segmentation_parameter_of_the_wrong_type_is_refused(ws, tmp_path, capsys):
    assert _segment(tmp_path, "--set", "memory_size=abc") == 2
    assert "'memory_size'" in _one_error_line(capsys)


def test_zero_memory_size_is_refused(ws, tmp_path, capsys):
    assert _segment(tmp_path, "--set", "memory_size=0") == 2
    err = _one_error_line(capsys)
    assert "'memory_size'" in err and "positive" in err


@pytest.mark.parametrize("size", ["0x0", "-64x48", "64x0"])
def test_non_positive_frame_size_is_an_argument_error(tmp_path, capsys, size):
    with pytest.raises(SystemExit) as stop:
        _segment(tmp_path, f"--size={size}")
    assert stop.value.code == 2
    assert "--size" in _one_error_line(capsys)


# ----- bridged training (LTR_EXT_SET) ---------------------------------------------------------------
def _bridged(tmp_path, monkeypatch, assignments: str):
    from pytracking_ext.bridge.runtime import run_training as bridged

    (tmp_path / "declares.py").write_text(
        "from pathlib import Path\n\n"
        "def run(settings):\n"
        "    settings.defaults(max_epochs=2)\n"
        "    Path(settings.env.workspace_dir, 'work_started').write_text('x')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LTR_EXT_SET", assignments)
    env = type("Env", (), {"workspace_dir": str(tmp_path / "ltr_ws")})()
    (tmp_path / "ltr_ws").mkdir()
    with pytest.raises(SystemExit) as stop:
        bridged("declares", type("LTRSettings", (), {"env": env, "module_name": "rts", "script_name": "x"})())
    return stop.value.code


def test_bridged_misspelling_names_the_variable_and_stops_before_work(ws, tmp_path, monkeypatch, capsys):
    assert _bridged(tmp_path, monkeypatch, "max_epoch=1") == 2
    err = _one_error_line(capsys)
    assert "LTR_EXT_SET: unknown setting 'max_epoch' for rts x; did you mean 'max_epochs'?" in err
    assert not (tmp_path / "ltr_ws" / "work_started").exists()


def test_bridged_value_of_the_wrong_type_is_refused(ws, tmp_path, monkeypatch, capsys):
    assert _bridged(tmp_path, monkeypatch, "max_epochs=abc") == 2
    assert "LTR_EXT_SET: setting 'max_epochs'" in _one_error_line(capsys)
    assert not (tmp_path / "ltr_ws" / "work_started").exists()


def test_bridged_unbalanced_quote_is_a_settings_error():
    from pytracking_ext.bridge.runtime import ltr_ext_settings

    with pytest.raises(SettingsError, match="LTR_EXT_SET"):
        ltr_ext_settings(object(), "note='two words")
