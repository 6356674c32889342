"""Plugins through entry points: the built-ins are declared like any plugin's, the cores never name a
plugin, and a real package installed next to this one adds a tracker with no edit to this repository."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from pytracking_ext.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
# entry-point group -> (module holding the registry, registry attribute); the cores' first, as the
# plugin's registry modules import torch themselves
REGISTRIES = {
    "pytracking_ext.trackers": ("pytracking_ext.trackers", "TRACKERS"),
    "pytracking_ext.parameter_packages": ("pytracking_ext.trackers", "PARAMETER_PACKAGES"),
    "pytracking_ext.datasets": ("pytracking_ext.datasets", "DATASETS"),
    "pytracking_ext.synthetic_formats": ("pytracking_ext.synthetic.formats", "FORMATS"),
    "pytracking_ext.analysis_rules": ("pytracking_ext.analysis.dataset_rules", "DATASET_RULES"),
    "ltr_ext.train_settings": ("ltr_ext.train_settings", "TRAIN_SETTINGS"),
    "segmentation_plugins.segmenters": ("segmentation_plugins.registry", "SEGMENTERS"),
    "segmentation_plugins.label_sets": ("segmentation_plugins.data.labels", "LABEL_SETS"),
}


def _declared() -> dict[str, dict[str, str]]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["entry-points"]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
    )


def test_registries_hold_only_what_the_entry_points_declare():
    # in a fresh interpreter: importing a registry registers nothing, the names come from the
    # metadata of pyproject.toml, and listing them imports neither torch nor any registered module
    code = textwrap.dedent(f"""
        import importlib, json, sys
        found = {{}}
        for group, (module, attr) in {REGISTRIES!r}.items():
            registry = getattr(importlib.import_module(module), attr)
            assert not registry._items, (group, registry._items)
            found[group] = registry.names()
            if not module.startswith("segmentation_plugins"):  # (its registry module imports torch itself)
                assert "torch" not in sys.modules, group
        assert "segmentation_plugins.evs.training" not in sys.modules
        print(json.dumps(found))
    """)
    result = _python(code)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    declared = _declared()
    for group in REGISTRIES:
        assert set(declared[group]) <= set(found[group]), group
    assert {"opencv_mil", "rts"} <= set(found["pytracking_ext.trackers"])
    assert {"evs", "examples", "lmanet", "rts"} <= set(found["ltr_ext.train_settings"])
    assert {"cityscapes", "camvid"} <= set(found["segmentation_plugins.label_sets"])
    synthetic = {"lasot", "got10k", "trackingnet", "uav", "nfs", "otb", "vot", "davis", "youtubevos"}
    assert synthetic <= set(found["pytracking_ext.synthetic_formats"])
    rules = {"uav", "lasot", "lasot_extension_subset", "got10k", "DAVIS", "YouTubeVOS"}
    assert rules <= set(found["pytracking_ext.analysis_rules"])


def test_declared_builtins_are_the_objects_the_code_uses():
    from pytracking_ext.analysis.dataset_rules import DEFAULT_RULES, rules_for
    from pytracking_ext.synthetic import FORMATS
    from pytracking_ext.synthetic.formats_sot import write_lasot
    from segmentation_plugins.data.labels import CAMVID, CITYSCAPES, get_label_set

    assert get_label_set("cityscapes") is CITYSCAPES and get_label_set("camvid") is CAMVID
    assert FORMATS.get("lasot") is write_lasot
    assert rules_for("lasot").short_prediction_is_error and rules_for("lasot_extension_subset") is rules_for("lasot")
    assert rules_for("uav").invalid_center_error == -1.0
    assert rules_for("got10k").families == ("box", "got10k") and rules_for("DAVIS").families == ("vos",)
    assert rules_for("otb") is DEFAULT_RULES  # a tag without exceptions


def test_underscore_modules_of_a_parameter_package_are_helpers_not_parameter_sets(tmp_path, monkeypatch):
    from pytracking_ext.errors import UnknownNameError
    from pytracking_ext.registry import Registry
    from pytracking_ext.trackers import PARAMETER_PACKAGES, get_parameters, parameter_names

    package = tmp_path / "helper_params_pkg" / "still"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "_helper.py").write_text("def shared():\n    return 1\n")
    (package / "default.py").write_text(
        "from pytracking_ext.trackers import TrackerParams\n\n\ndef parameters():\n    return TrackerParams()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    PARAMETER_PACKAGES.names()  # entry points first, so the one added below is only this test's
    monkeypatch.setitem(PARAMETER_PACKAGES._items, "helper_params_pkg", "helper_params_pkg")
    monkeypatch.delitem(sys.modules, "helper_params_pkg", raising=False)

    assert parameter_names("still") == ["default"]
    trackers = Registry("tracker")
    trackers.register("still", object)
    assert get_parameters("still", "default", registry=trackers).param_name == "default"
    with pytest.raises(
        UnknownNameError, match="unknown parameter '_helper' for tracker 'still'; known parameters: default"
    ):
        get_parameters("still", "_helper", registry=trackers)
    # the built-in parameter packages keep their helpers the same way
    assert "_operating_points" not in parameter_names("evs") and "evs01" in parameter_names("evs")
    assert parameter_names("lmanet") == [
        "erfnet_cityscapes",
        "lite0_camvid",
        "lite0_camvid_fast",
        "lite0_camvid_single",
    ]


def test_every_declared_builtin_resolves():
    from pytracking_ext.registry import resolve

    for group, entries in _declared().items():
        for name, target in entries.items():
            assert resolve(target) is not None, f"{group}: {name} = {target}"


def test_plugin_train_settings_keep_their_names_and_checkpoint_folders():
    from ltr_ext.run_training import build_settings
    from ltr_ext.train_settings import get_settings_module, settings_names

    assert settings_names("evs") == ["icnet", "refiner"]
    assert settings_names("lmanet") == ["erfnet_cityscapes", "lite0_camvid", "pspnet_cityscapes"]
    module = get_settings_module("lmanet", "lite0_camvid")
    assert module.__name__ == "segmentation_plugins.lmanet.training.train_settings.lite0_camvid"
    assert build_settings("evs", "icnet", []).project_path == "ltr/evs/icnet"


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))]
    return {
        id(n.body[0].value)
        for n in nodes
        if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }


@pytest.mark.parametrize("core", ["pytracking_ext", "ltr_ext"])
def test_cores_name_no_plugin_module(core):
    # import-linter checks the imports; this also catches lazy "segmentation_plugins.x:y" strings
    offenders = []
    for path in sorted((ROOT / core).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                names = [node.value] if "segmentation_plugins" in node.value else []
            else:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno} {n}"
                for n in names
                if n.split(".")[0] == "segmentation_plugins" or "segmentation_plugins." in n
            ]
    assert not offenders, "\n".join(offenders)


PLUGIN_FILES = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "tiny-tracker-plugin"
        version = "0.1"

        [project.entry-points."pytracking_ext.trackers"]
        tiny_plugin = "tiny_tracker_plugin.tracker:StillTracker"

        [project.entry-points."pytracking_ext.parameter_packages"]
        tiny_tracker_plugin = "tiny_tracker_plugin.parameter"

        [tool.setuptools]
        packages = ["tiny_tracker_plugin", "tiny_tracker_plugin.parameter", "tiny_tracker_plugin.parameter.tiny_plugin"]
    """,
    "tiny_tracker_plugin/__init__.py": "",
    "tiny_tracker_plugin/tracker.py": """
        from pytracking_ext.trackers import BaseTracker


        class StillTracker(BaseTracker):
            '''Reports the first frame's box on every frame.'''

            def initialize(self, image, info):
                self.box = [float(v) for v in info["init_bbox"]]
                return {"target_bbox": self.box}

            def track(self, image, info=None):
                return {"target_bbox": self.box}
    """,
    "tiny_tracker_plugin/parameter/__init__.py": "",
    "tiny_tracker_plugin/parameter/tiny_plugin/__init__.py": "",
    "tiny_tracker_plugin/parameter/tiny_plugin/default.py": """
        from pytracking_ext.trackers import TrackerParams


        def parameters():
            return TrackerParams(debug=0, visualization=False)
    """,
}


def test_an_installed_plugin_package_adds_a_tracker(tmp_path, workspace):
    source, site = tmp_path / "plugin", tmp_path / "site"
    for name, text in PLUGIN_FILES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(textwrap.dedent(text).lstrip())
    # a real install (wheel built by setuptools, metadata with the entry points), offline
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    assert list(site.glob("tiny_tracker_plugin-0.1.dist-info/entry_points.txt"))

    listing = "from pytracking_ext.trackers import TRACKERS; print(' '.join(TRACKERS.names()))"
    assert _python(listing).stdout.split() == sorted(_declared()["pytracking_ext.trackers"])
    assert "tiny_plugin" in _python(listing, PYTHONPATH=str(site)).stdout.split()

    root = generate("lasot", tmp_path / "lasot", num_sequences=1, num_frames=5, seed=4)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytracking_ext.run_tracker",
            "tiny_plugin",
            "default",
            "--dataset_name",
            "lasot",
            "--dataset_path",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    folder = workspace / "tracking_results" / "tiny_plugin" / "default"
    results = [p for p in folder.rglob("*.txt") if not p.name.endswith(("_time.txt", "_object_presence_scores.txt"))]
    assert results, sorted(str(p) for p in workspace.rglob("*"))
    boxes = [line for line in results[0].read_text().splitlines() if line.strip()]
    assert len(boxes) == 5 and len(set(boxes)) == 1  # the still tracker repeats the first box
