"""``python -m pytracking_ext.bridge``: shims in a PyTracking checkout, installed and removed exactly."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytracking_ext.bridge import MANIFEST_NAME, install, plan_shims, uninstall
from pytracking_ext.bridge.runtime import hidden_pytracking_package_dirs
from pytracking_ext.errors import SettingsError, UnknownNameError


def _fake_checkout(root: Path) -> Path:
    """The folders and files that identify a PyTracking checkout, plus one user tracker."""
    for rel in ("pytracking/__init__.py", "ltr/__init__.py", "pytracking/evaluation/__init__.py",
                "pytracking/evaluation/tracker.py", "pytracking/tracker/__init__.py",
                "pytracking/parameter/__init__.py", "ltr/train_settings/__init__.py",
                "pytracking/tracker/dimp/__init__.py", "pytracking/parameter/dimp/dimp50.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("# user file\n")
    return root


def _snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def checkout(tmp_path) -> Path:
    return _fake_checkout(tmp_path / "pytracking_checkout")


def test_install_writes_tracker_and_parameter_shims(checkout):
    install(checkout, plan_shims(["opencv_mil"]))
    tracker_shim = (checkout / "pytracking/tracker/opencv_mil/__init__.py").read_text()
    assert "def get_tracker_class():" in tracker_shim and "'opencv_mil'" in tracker_shim
    for param in ("default", "mask"):
        shim = (checkout / f"pytracking/parameter/opencv_mil/{param}.py").read_text()
        assert "def parameters():" in shim and f"'opencv_mil', '{param}'" in shim


def test_shims_import_our_tracker_and_parameters(checkout, monkeypatch):
    install(checkout, plan_shims(["opencv_mil"]))
    namespace: dict = {}
    exec((checkout / "pytracking/tracker/opencv_mil/__init__.py").read_text(), namespace)
    from pytracking_ext.trackers.opencv_baselines import OpenCVMILTracker
    assert namespace["get_tracker_class"]() is OpenCVMILTracker
    exec((checkout / "pytracking/parameter/opencv_mil/mask.py").read_text(), namespace)
    assert namespace["parameters"]().predict_mask is True


def test_install_records_every_written_file_with_its_hash(checkout):
    install(checkout, plan_shims(["opencv_mil"]))
    manifest = json.loads((checkout / MANIFEST_NAME).read_text())
    assert sorted(manifest["files"]) == ["pytracking/parameter/opencv_mil/__init__.py",
                                         "pytracking/parameter/opencv_mil/default.py",
                                         "pytracking/parameter/opencv_mil/mask.py",
                                         "pytracking/tracker/opencv_mil/__init__.py"]
    assert all(len(digest) == 64 for digest in manifest["files"].values())
    assert manifest["dirs"] == ["pytracking/tracker/opencv_mil", "pytracking/parameter/opencv_mil"]


def test_reinstalling_changes_nothing(checkout):
    plan = plan_shims(["opencv_mil"])
    install(checkout, plan)
    before = _snapshot(checkout)
    assert install(checkout, plan) == []
    assert _snapshot(checkout) == before


def test_uninstall_restores_the_checkout_exactly(checkout):
    before = _snapshot(checkout)
    install(checkout, plan_shims(["opencv_mil"]))
    # Importing a shim leaves bytecode behind; it goes too.
    cache = checkout / "pytracking/parameter/opencv_mil/__pycache__"
    cache.mkdir()
    (cache / "default.cpython-311.pyc").write_bytes(b"")
    uninstall(checkout)
    assert _snapshot(checkout) == before
    assert not (checkout / "pytracking/tracker/opencv_mil").exists()


def test_uninstall_keeps_a_created_folder_that_now_holds_user_files(checkout):
    install(checkout, plan_shims(["opencv_mil"]))
    (checkout / "pytracking/parameter/opencv_mil/mine.py").write_text("# user\n")
    removed, kept = uninstall(checkout)
    assert kept == ["pytracking/parameter/opencv_mil"]
    assert (checkout / "pytracking/parameter/opencv_mil/mine.py").is_file()
    assert "pytracking/parameter/opencv_mil/default.py" in removed


def test_uninstall_refuses_to_delete_an_edited_shim(checkout):
    install(checkout, plan_shims(["opencv_mil"]))
    edited = checkout / "pytracking/parameter/opencv_mil/default.py"
    edited.write_text(edited.read_text() + "# my change\n")
    with pytest.raises(SettingsError, match="pytracking/parameter/opencv_mil/default.py"):
        uninstall(checkout)
    assert (checkout / "pytracking/tracker/opencv_mil/__init__.py").is_file()
    assert (checkout / MANIFEST_NAME).is_file()


def test_reinstall_refuses_to_overwrite_an_edited_shim(checkout):
    install(checkout, plan_shims(["opencv_mil"]))
    (checkout / "pytracking/tracker/opencv_mil/__init__.py").write_text("# mine now\n")
    with pytest.raises(SettingsError, match="edited since installation"):
        install(checkout, plan_shims(["opencv_mil"]))


def test_uninstall_without_manifest_is_refused(checkout):
    with pytest.raises(SettingsError, match="nothing was installed"):
        uninstall(checkout)


def test_existing_user_tracker_of_the_same_name_is_never_overwritten(checkout):
    (checkout / "pytracking/tracker/opencv_mil").mkdir()
    (checkout / "pytracking/tracker/opencv_mil/__init__.py").write_text("# the user's own\n")
    before = _snapshot(checkout)
    with pytest.raises(SettingsError, match="pytracking/tracker/opencv_mil"):
        install(checkout, plan_shims(["opencv_mil"]))
    assert _snapshot(checkout) == before


def test_prefix_installs_beside_a_user_tracker_of_the_same_name(checkout):
    (checkout / "pytracking/tracker/opencv_mil").mkdir()
    install(checkout, plan_shims(["opencv_mil"], prefix="ext_"))
    shim = (checkout / "pytracking/tracker/ext_opencv_mil/__init__.py").read_text()
    assert "'opencv_mil'" in shim


@pytest.mark.parametrize("missing", ["pytracking/evaluation/tracker.py", "ltr/__init__.py"])
def test_folder_that_is_not_a_pytracking_checkout_is_refused(checkout, missing):
    (checkout / missing).unlink()
    with pytest.raises(SettingsError, match=f"not a PyTracking checkout.*{missing}"):
        install(checkout, plan_shims(["opencv_mil"]))
    assert not (checkout / MANIFEST_NAME).exists()


def test_unknown_tracker_name_is_refused():
    with pytest.raises(UnknownNameError, match="nosuchtracker"):
        plan_shims(["nosuchtracker"])


def test_train_settings_shims_forward_run(checkout, tmp_path, monkeypatch):
    package = tmp_path / "pkgs" / "ltr_ext" / "train_settings" / "opencv_mil"
    package.mkdir(parents=True)
    for folder in (package.parent.parent, package.parent, package):
        (folder / "__init__.py").write_text("")
    (package / "tiny.py").write_text("def run(settings):\n    settings.ran = 'tiny'\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    for name in [n for n in sys.modules if n == "ltr_ext" or n.startswith("ltr_ext.")]:
        monkeypatch.delitem(sys.modules, name)
    install(checkout, plan_shims(["opencv_mil"]))
    shim = checkout / "ltr/train_settings/opencv_mil/tiny.py"
    namespace: dict = {}
    exec(shim.read_text(), namespace)
    settings = type("Settings", (), {})()
    namespace["run"](settings)
    assert settings.ran == "tiny"
    uninstall(checkout)
    assert not (checkout / "ltr/train_settings/opencv_mil").exists()


def test_parameter_lookup_ignores_pytracking_parameter_folder_on_sys_path(checkout, monkeypatch):
    # PyTracking's scripts put <checkout>/pytracking first on sys.path, where 'parameter' is theirs.
    monkeypatch.syspath_prepend(str(checkout / "pytracking"))
    with hidden_pytracking_package_dirs():
        assert str(checkout / "pytracking") not in sys.path
    assert sys.path[0] == str(checkout / "pytracking")


def test_command_line_install_and_uninstall(checkout):
    run = [sys.executable, "-m", "pytracking_ext.bridge"]
    before = _snapshot(checkout)
    done = subprocess.run([*run, "install", str(checkout), "--trackers", "opencv_mil"], capture_output=True,
                          text=True, check=True)
    assert "4 written" in done.stdout
    subprocess.run([*run, "uninstall", str(checkout)], capture_output=True, text=True, check=True)
    assert _snapshot(checkout) == before


def test_command_line_names_a_non_checkout_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pytracking_ext.bridge", "install", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "not a PyTracking checkout" in result.stderr


@pytest.mark.slow
def test_real_pytracking_checkout_runs_our_tracker(tmp_path):
    """Needs PYTRACKING_ROOT (a PyTracking checkout whose dependencies are importable)."""
    root = os.environ.get("PYTRACKING_ROOT")
    if not root:
        pytest.skip("set PYTRACKING_ROOT to a PyTracking checkout to run this test")
    root = Path(root)
    run = [sys.executable, "-m", "pytracking_ext.bridge"]
    subprocess.run([*run, "install", str(root), "--trackers", "opencv_mil", "--prefix", "pte_"], check=True)
    try:
        script = ("import sys; sys.path.insert(0, 'pytracking'); sys.path.insert(1, '.');"
                  "from pytracking.evaluation.tracker import Tracker;"
                  "import numpy as np;"
                  "t = Tracker.__new__(Tracker); t.name, t.parameter_name = 'pte_opencv_mil', 'default';"
                  "import importlib; cls = importlib.import_module('pytracking.tracker.pte_opencv_mil').get_tracker_class();"
                  "params = t.get_parameters(); params.visualization = False; params.debug = 0;"
                  "tr = cls(params); img = np.zeros((48, 64, 3), np.uint8); img[10:30, 10:30] = 255;"
                  "tr.initialize(img, {'init_bbox': [10, 10, 20, 20]});"
                  "print(tr.track(img, {'previous_output': {}})['target_bbox'])")
        result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.strip().strip("[]").split(",")) == 4
    finally:
        subprocess.run([*run, "uninstall", str(root)], check=True)
