"""``python -m pytracking_ext.bridge``: shims in a PyTracking checkout, installed and removed exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytracking_ext.bridge import MANIFEST_NAME, install, plan_shims, uninstall
from pytracking_ext.bridge.checkout import BACKUP_DIR
from pytracking_ext.bridge.runtime import hidden_pytracking_package_dirs
from pytracking_ext.errors import SettingsError, UnknownNameError


def _fake_checkout(root: Path) -> Path:
    """The folders and files that identify a PyTracking checkout, plus one user tracker."""
    for rel in (
        "pytracking/__init__.py",
        "ltr/__init__.py",
        "pytracking/evaluation/__init__.py",
        "pytracking/evaluation/tracker.py",
        "pytracking/tracker/__init__.py",
        "pytracking/parameter/__init__.py",
        "ltr/train_settings/__init__.py",
        "pytracking/tracker/dimp/__init__.py",
        "pytracking/parameter/dimp/dimp50.py",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("# user file\n")
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


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
    assert sorted(manifest["files"]) == [
        "pytracking/parameter/opencv_mil/__init__.py",
        "pytracking/parameter/opencv_mil/default.py",
        "pytracking/parameter/opencv_mil/mask.py",
        "pytracking/tracker/opencv_mil/__init__.py",
    ]
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


def test_train_settings_shims_call_our_settings_modules():
    plan = plan_shims(["rts"])
    shim = plan.files["ltr/train_settings/rts/rts_small.py"]
    assert "_run_training('ltr_ext.train_settings.rts.rts_small', settings)" in shim
    assert "ltr/train_settings/rts" in plan.owned_dirs


def test_plugins_train_settings_get_shims_too():
    # EVS and LMANet register their train settings through the entry-point group, from their own packages
    plan = plan_shims(None)
    shim = plan.files["ltr/train_settings/evs/icnet.py"]
    assert "_run_training('segmentation_plugins.evs.training.train_settings.icnet', settings)" in shim
    assert "ltr/train_settings/lmanet/lite0_camvid.py" in plan.files


def test_bridged_training_runs_ours_with_ltrs_workspace_and_overrides(tmp_path, monkeypatch):
    from ltr_ext.admin.settings import Settings
    from pytracking_ext.bridge.runtime import run_training

    (tmp_path / "tiny_settings.py").write_text("RECEIVED = []\n\ndef run(settings):\n    RECEIVED.append(settings)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LTR_EXT_SET", "max_epochs=1 note='two words'")
    monkeypatch.delenv("PYTRACKING_CACHE_DIR", raising=False)
    ltr_env = type(
        "Env", (), {"workspace_dir": str(tmp_path / "ltr_ws"), "davis_dir": "/data/davis", "lasot_dir": ""}
    )()
    run_training("tiny_settings", type("LTRSettings", (), {"env": ltr_env, "module_name": "rts", "script_name": "x"})())
    import tiny_settings

    ours = tiny_settings.RECEIVED[-1]
    assert isinstance(ours, Settings)
    assert (ours.env.workspace_dir, ours.env.davis_dir) == (str(tmp_path / "ltr_ws"), "/data/davis")
    assert (ours.module_name, ours.script_name, ours.max_epochs, ours.note) == ("rts", "x", 1, "two words")
    assert os.environ["PYTRACKING_CACHE_DIR"] == str(tmp_path / "ltr_ws" / "cache")


def test_bridged_training_with_missing_data_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    from pytracking_ext.bridge.runtime import run_training

    (tmp_path / "needs_data.py").write_text("def run(settings):\n    settings.env.require('lasot_dir')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("LTR_LASOT_DIR", raising=False)
    with pytest.raises(SystemExit) as stop:
        run_training("needs_data", object())
    assert stop.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_bad_bridged_training_override_names_the_variable():
    from pytracking_ext.bridge.runtime import ltr_ext_settings

    with pytest.raises(SettingsError, match="LTR_EXT_SET: --set expects key=value"):
        ltr_ext_settings(object(), "max_epochs")


def _user_tracker(checkout: Path, name: str) -> None:
    for rel in (
        f"pytracking/tracker/{name}/__init__.py",
        f"pytracking/tracker/{name}/{name}.py",
        f"pytracking/parameter/{name}/default.py",
    ):
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        (checkout / rel).write_text(f"# the user's own {rel}\n")


def test_replace_moves_the_users_folders_aside_and_uninstall_restores_them(checkout):
    _user_tracker(checkout, "opencv_mil")
    before = _snapshot(checkout)
    install(checkout, plan_shims(["opencv_mil"]), replace=True)
    assert "get_tracker_class" in (checkout / "pytracking/tracker/opencv_mil/__init__.py").read_text()
    assert not (checkout / "pytracking/tracker/opencv_mil/opencv_mil.py").exists()
    backup = checkout / BACKUP_DIR / "pytracking/tracker/opencv_mil/opencv_mil.py"
    assert backup.read_text() == "# the user's own pytracking/tracker/opencv_mil/opencv_mil.py\n"
    uninstall(checkout)
    assert _snapshot(checkout) == before
    assert not (checkout / BACKUP_DIR).exists()


def test_reinstalling_with_replace_changes_nothing(checkout):
    _user_tracker(checkout, "opencv_mil")
    plan = plan_shims(["opencv_mil"])
    install(checkout, plan, replace=True)
    before = _snapshot(checkout)
    assert install(checkout, plan, replace=True) == []
    assert _snapshot(checkout) == before


def test_uninstall_refuses_to_restore_over_files_added_since(checkout):
    _user_tracker(checkout, "opencv_mil")
    install(checkout, plan_shims(["opencv_mil"]), replace=True)
    (checkout / "pytracking/tracker/opencv_mil/new.py").write_text("# added later\n")
    with pytest.raises(SettingsError, match="cannot restore the user's pytracking/tracker/opencv_mil"):
        uninstall(checkout)
    assert (checkout / "pytracking/tracker/opencv_mil/new.py").is_file()
    assert (checkout / BACKUP_DIR / "pytracking/tracker/opencv_mil/opencv_mil.py").is_file()


def test_replace_refuses_when_an_old_backup_is_in_the_way(checkout):
    _user_tracker(checkout, "opencv_mil")
    (checkout / BACKUP_DIR / "pytracking/tracker/opencv_mil").mkdir(parents=True)
    before = _snapshot(checkout)
    with pytest.raises(SettingsError, match="backup of pytracking/tracker/opencv_mil already exists"):
        install(checkout, plan_shims(["opencv_mil"]), replace=True)
    assert _snapshot(checkout) == before


def test_relative_network_missing_here_is_taken_from_the_checkouts_network_path(tmp_path, workspace):
    from pytracking_ext.bridge.runtime import use_checkout_networks
    from pytracking_ext.trackers import get_parameters

    (tmp_path / "checkout_networks").mkdir()
    (tmp_path / "checkout_networks" / "rts50.pth").write_bytes(b"weights")
    params = use_checkout_networks(get_parameters("rts", "rts50"), tmp_path / "checkout_networks")
    assert params.net.path == str(tmp_path / "checkout_networks" / "rts50.pth")


def test_our_network_path_wins_when_the_file_is_there(tmp_path, workspace, monkeypatch):
    from pytracking_ext.bridge.runtime import use_checkout_networks
    from pytracking_ext.trackers import get_parameters

    for folder in ("ours", "checkout_networks"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "rts50.pth").write_bytes(b"weights")
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path / "ours"))
    params = use_checkout_networks(get_parameters("rts", "rts50"), tmp_path / "checkout_networks")
    assert params.net.path == "rts50.pth"


def test_parameter_lookup_ignores_pytracking_parameter_folder_on_sys_path(checkout, monkeypatch):
    # PyTracking's scripts put <checkout>/pytracking first on sys.path, where 'parameter' is theirs.
    monkeypatch.syspath_prepend(str(checkout / "pytracking"))
    with hidden_pytracking_package_dirs():
        assert str(checkout / "pytracking") not in sys.path
    assert sys.path[0] == str(checkout / "pytracking")


def test_command_line_install_and_uninstall(checkout):
    run = [sys.executable, "-m", "pytracking_ext.bridge"]
    before = _snapshot(checkout)
    done = subprocess.run(
        [*run, "install", str(checkout), "--trackers", "opencv_mil"], capture_output=True, text=True, check=True
    )
    assert "4 written" in done.stdout
    subprocess.run([*run, "uninstall", str(checkout)], capture_output=True, text=True, check=True)
    assert _snapshot(checkout) == before


def test_command_line_names_a_non_checkout_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytracking_ext.bridge", "install", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "not a PyTracking checkout" in result.stderr


def _real_checkout_copy(tmp_path: Path) -> Path:
    """A copy of the PyTracking checkout in PYTRACKING_ROOT (the user's own is never touched)."""
    root = os.environ.get("PYTRACKING_ROOT")
    if not root:
        pytest.skip("set PYTRACKING_ROOT to a PyTracking checkout (its dependencies importable) to run this test")
    copy = tmp_path / "pytracking"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", "local.py", "networks"))
    return copy


@pytest.mark.slow
def test_real_pytracking_checkout_runs_our_rts_with_its_own_scripts(tmp_path):
    from pytracking_ext.synthetic import generate_dataset

    checkout = _real_checkout_copy(tmp_path)
    data = generate_dataset("got10k", tmp_path / "got10k", 1, 6, seed=0, progress=False).root
    (checkout / "pytracking/evaluation/local.py").write_text(
        "from pytracking.evaluation.environment import EnvSettings\n\n\ndef local_env_settings():\n"
        f"    settings = EnvSettings()\n    settings.got10k_path = {str(data)!r}\n"
        f"    settings.results_path = {str(tmp_path / 'results')!r}\n"
        f"    settings.segmentation_path = {str(tmp_path / 'segmentation')!r}\n    return settings\n"
    )
    (checkout / "ltr/admin/local.py").write_text(
        "class EnvironmentSettings:\n    def __init__(self):\n"
        f"        self.workspace_dir = {str(tmp_path / 'ltr_ws')!r}\n"
        "        self.tensorboard_dir = self.workspace_dir + '/tensorboard/'\n"
        "        self.pretrained_networks = self.workspace_dir + '/pretrained_networks/'\n"
    )
    before = _snapshot(checkout)
    bridge = [sys.executable, "-m", "pytracking_ext.bridge"]
    subprocess.run(
        [*bridge, "install", str(checkout), "--trackers", "rts", "--replace"], check=True, capture_output=True
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTRACKING_", "LTR_"))}
    tracked = subprocess.run(
        [
            sys.executable,
            "pytracking/run_tracker.py",
            "rts",
            "rts_small",
            "--dataset_name",
            "got10k_val",
            "--use_visdom",
            "False",
        ],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=env,
    )
    assert tracked.returncode == 0, tracked.stdout + tracked.stderr
    boxes = np.loadtxt(tmp_path / "results/rts/rts_small/GOT-10k_Val_000001.txt", delimiter="\t")
    assert boxes.shape == (6, 4)
    assert len(list((tmp_path / "segmentation/rts/rts_small/GOT-10k_Val_000001").glob("*.png"))) == 6
    budget = (
        "max_epochs=1 samples_per_epoch=2 val_samples_per_epoch=2 batch_size=2 generated_sequences=2 "
        "generated_frames=12 num_workers=0"
    )
    trained = subprocess.run(
        [sys.executable, "ltr/run_training.py", "rts", "rts_small"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env={**env, "LTR_EXT_SET": budget},
    )
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert (tmp_path / "ltr_ws/checkpoints/ltr/rts/rts_small/RTSNet_ep0001.pth.tar").is_file()
    subprocess.run([*bridge, "uninstall", str(checkout)], check=True, capture_output=True)
    after = {rel: text for rel, text in _snapshot(checkout).items() if "__pycache__" not in rel}
    assert after == {rel: text for rel, text in before.items() if "__pycache__" not in rel}


def test_command_line_replace_says_where_the_users_folder_went(checkout):
    _user_tracker(checkout, "opencv_mil")
    run = [sys.executable, "-m", "pytracking_ext.bridge"]
    done = subprocess.run(
        [*run, "install", str(checkout), "--trackers", "opencv_mil", "--replace"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"pytracking/tracker/opencv_mil/ is kept in {BACKUP_DIR}/pytracking/tracker/opencv_mil/" in done.stdout
    undone = subprocess.run([*run, "uninstall", str(checkout)], capture_output=True, text=True, check=True)
    assert "restored the checkout's own pytracking/tracker/opencv_mil/" in undone.stdout
