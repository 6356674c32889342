"""The trackers.ini entry printed for the VOT toolkit."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import sys

import pytest

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.vot.trackers_ini import trackers_ini_entry


def _section(text: str) -> tuple[str, configparser.SectionProxy]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    (name,) = parser.sections()
    return name, parser[name]


def test_entry_runs_the_serve_command_with_the_current_interpreter():
    name, section = _section(trackers_ini_entry("opencv_mil", "mask"))
    assert name == "opencv_mil_mask"
    assert section["protocol"] == "trax"
    assert shlex.split(section["command"]) == [
        sys.executable,
        "-m",
        "pytracking_ext.vot",
        "serve",
        "opencv_mil",
        "mask",
    ]


def test_entry_holds_no_path_besides_the_interpreter():
    _, section = _section(trackers_ini_entry("opencv_mil", "default"))
    args = shlex.split(section["command"])
    assert not any("/" in arg for arg in args[1:])
    assert "paths" not in section


def test_label_identifier_timeout_and_multiobject_options():
    name, section = _section(
        trackers_ini_entry(
            "opencv_mil", "default", label="MIL baseline", identifier="MIL", multiobject=True, timeout=600
        )
    )
    assert name == "MIL"
    assert section["label"] == "MIL baseline"
    assert section["timeout"] == "600"
    assert shlex.split(section["command"])[-1] == "--multiobject"


def test_unknown_tracker_or_parameter_is_refused():
    with pytest.raises(UnknownNameError, match="nosuchtracker"):
        trackers_ini_entry("nosuchtracker", "default")
    with pytest.raises(UnknownNameError, match="known parameters: default, mask"):
        trackers_ini_entry("opencv_mil", "nosuchparam")


def test_identifier_with_spaces_is_refused():
    with pytest.raises(ValueError, match="identifier"):
        trackers_ini_entry("opencv_mil", "default", identifier="my tracker")


def test_command_line_prints_the_entry():
    result = subprocess.run(
        [sys.executable, "-m", "pytracking_ext.vot", "trackers-ini", "opencv_mil", "mask", "--label", "MIL"],
        capture_output=True,
        text=True,
        check=True,
    )
    name, section = _section(result.stdout)
    assert (name, section["label"]) == ("opencv_mil_mask", "MIL")


def test_command_line_names_an_unknown_parameter_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "pytracking_ext.vot", "trackers-ini", "opencv_mil", "bogus"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "bogus" in result.stderr
