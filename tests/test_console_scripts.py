"""Every `python -m` command the docs show has a console script, and every console script starts."""

from __future__ import annotations

import importlib
import re
import tomllib
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pytracking_ext", "ltr_ext", "segmentation_plugins", "parameter")
# `python -m pkg.module` in prose or code blocks; the module name ends at the first non-name character.
PYTHON_M = re.compile(r"python -m ((?:" + "|".join(PACKAGES) + r")(?:\.\w+)*)")


def declared_scripts() -> dict[str, str]:
    """``[project.scripts]`` of pyproject.toml: script name -> ``module:function``."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["project"]["scripts"]


def documented_modules() -> set[str]:
    """Modules of this project that README.md or docs/ tell a user to run with ``python -m``."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return {match.group(1) for page in pages if page.is_file() for match in PYTHON_M.finditer(page.read_text())}


def script_module(target: str) -> str:
    """The module a user would name after ``python -m`` for ``module:function``."""
    module = target.split(":")[0]
    return module.removesuffix(".__main__")


def resolve(target: str):
    module, _, attribute = target.partition(":")
    obj = importlib.import_module(module)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


SCRIPTS = declared_scripts()


def test_readme_names_python_m_commands():
    # guards the parser itself: the README's first commands must be found
    assert "pytracking_ext.run_tracker" in documented_modules()


@pytest.mark.parametrize("module", sorted(documented_modules()))
def test_every_documented_command_has_a_console_script(module):
    assert module in {script_module(target) for target in SCRIPTS.values()}, (
        f"`python -m {module}` is documented but [project.scripts] in pyproject.toml has no script for it"
    )


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_resolves_to_main(name):
    function = resolve(SCRIPTS[name])
    assert callable(function)
    # the console-script wrapper hands the return value to sys.exit: it must be an exit status
    assert typing.get_type_hints(function).get("return") is int
    with pytest.raises(SystemExit) as exit_info:
        function(["--help"])
    assert exit_info.value.code in (0, None)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_is_installed(name):
    # the editable install's metadata must match pyproject.toml (re-run `pip install -e .` after editing it)
    from importlib.metadata import entry_points

    installed = {entry.name: entry.value for entry in entry_points(group="console_scripts")}
    assert installed.get(name) == SCRIPTS[name]
