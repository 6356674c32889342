"""``pytracking_ext.bridge`` never touches anything outside the checkout, and a failed install changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytracking_ext.bridge import MANIFEST_NAME, install, plan_shims, uninstall
from pytracking_ext.bridge.checkout import BACKUP_DIR
from pytracking_ext.errors import SettingsError

BRIDGE = [sys.executable, "-m", "pytracking_ext.bridge"]


def _fake_checkout(root: Path) -> Path:
    """The files that identify a PyTracking checkout, plus one user tracker."""
    for rel in (
        "pytracking/__init__.py",
        "ltr/__init__.py",
        "pytracking/evaluation/tracker.py",
        "pytracking/tracker/__init__.py",
        "pytracking/parameter/__init__.py",
        "ltr/train_settings/__init__.py",
        "pytracking/tracker/dimp/__init__.py",
        "pytracking/parameter/dimp/dimp50.py",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# user file {rel}\n")
    return root


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (``None`` for folders, the target for links)."""
    tree: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            tree[rel] = os.readlink(path).encode()
        else:
            tree[rel] = path.read_bytes() if path.is_file() else None
    return tree


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def checkout(tmp_path) -> Path:
    # Two levels down, so that '../..' from the checkout still lands inside tmp_path.
    return _fake_checkout(tmp_path / "home" / "user" / "checkout")


@pytest.fixture
def outside(tmp_path) -> Path:
    """A file and an empty folder of the user's, outside the checkout."""
    (tmp_path / "home" / "precious.txt").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "home" / "precious.txt").write_text("the user's own file\n")
    (tmp_path / "home" / "empty_folder").mkdir()
    return tmp_path / "home"


# --- install --prefix -------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["../../../../X_", "a/b_", "/tmp/x_", "x.y_", "1x_", "ext-", "ext_\n"])
def test_prefix_that_is_not_an_identifier_is_refused(prefix):
    with pytest.raises(SettingsError, match="--prefix"):
        plan_shims(["opencv_mil"], prefix=prefix)


def test_command_line_prefix_escaping_the_checkout_writes_nothing(tmp_path, checkout):
    before = _tree(tmp_path)
    result = subprocess.run(
        [*BRIDGE, "install", str(checkout), "--trackers", "opencv_mil", "--prefix", "../../../../X_"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "--prefix" in result.stderr
    assert _tree(tmp_path) == before


def test_shim_path_escaping_the_checkout_through_a_symlink_is_refused(tmp_path, checkout):
    # The checkout's tracker folder is a link to a folder elsewhere: shims would land there.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (checkout / "pytracking/tracker").rename(elsewhere / "tracker")
    (checkout / "pytracking/tracker").symlink_to(elsewhere / "tracker", target_is_directory=True)
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match="outside the checkout"):
        install(checkout, plan_shims(["opencv_mil"]))
    assert _tree(tmp_path) == before


# --- uninstall never trusts the manifest ------------------------------------------------------


def _plant(checkout: Path, **manifest) -> None:
    data = {"files": {}, "dirs": [], "moved": {}}
    data.update(manifest)
    (checkout / MANIFEST_NAME).write_text(json.dumps(data))


def test_planted_move_out_of_the_checkout_is_refused(tmp_path, checkout, outside):
    (checkout / "payload").write_text("attacker's payload\n")
    _plant(checkout, moved={"../../precious.txt": "payload"})
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match=r"\.\./\.\./precious\.txt"):
        uninstall(checkout)
    assert _tree(tmp_path) == before


def test_planted_backup_path_out_of_the_checkout_is_refused(tmp_path, checkout, outside):
    _plant(checkout, moved={"pytracking/tracker/mine": "../../precious.txt"})
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match="precious"):
        uninstall(checkout)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_planted_file_outside_the_checkout_is_never_deleted(tmp_path, checkout, outside, where):
    victim = outside / "precious.txt"
    rel = "../../precious.txt" if where == "relative" else str(victim)
    _plant(checkout, files={rel: _digest(victim)})
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match="outside the checkout"):
        uninstall(checkout)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_planted_folder_outside_the_checkout_is_never_removed(tmp_path, checkout, outside, where):
    rel = "../../empty_folder" if where == "relative" else str(outside / "empty_folder")
    _plant(checkout, dirs=[rel])
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match="outside the checkout"):
        uninstall(checkout)
    assert _tree(tmp_path) == before


def test_planted_path_through_a_symlink_out_of_the_checkout_is_refused(tmp_path, checkout, outside):
    (checkout / "pytracking/tracker/link").symlink_to(outside, target_is_directory=True)
    _plant(
        checkout,
        files={"pytracking/tracker/link/precious.txt": _digest(outside / "precious.txt")},
        dirs=["pytracking/tracker/link/empty_folder"],
    )
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match="outside the checkout"):
        uninstall(checkout)
    assert _tree(tmp_path) == before


def test_one_bad_manifest_entry_refuses_the_whole_uninstall(tmp_path, checkout, outside):
    install(checkout, plan_shims(["opencv_mil"]))
    manifest = json.loads((checkout / MANIFEST_NAME).read_text())
    manifest["dirs"].append("../../empty_folder")
    (checkout / MANIFEST_NAME).write_text(json.dumps(manifest))
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match="empty_folder"):
        uninstall(checkout)
    assert _tree(tmp_path) == before  # the genuine shims were not removed either


@pytest.mark.parametrize(
    "manifest",
    [
        {"files": {"pytracking/tracker/x/__init__.py": "not-a-sha256"}},
        {"files": {"pytracking/tracker/x/__init__.py": 5}},
        {"dirs": [7]},
        {"dirs": ["pytracking/./tracker/x"]},
        {"dirs": [""]},
        {"moved": {"pytracking/tracker/x": f"{BACKUP_DIR}/pytracking/tracker/y"}},
    ],
    ids=["short-hash", "number-hash", "number-dir", "dot-dir", "empty-dir", "backup-elsewhere"],
)
def test_malformed_manifest_entries_are_refused(tmp_path, checkout, manifest):
    _plant(checkout, **manifest)
    before = _tree(tmp_path)
    with pytest.raises(SettingsError, match=MANIFEST_NAME):
        uninstall(checkout)
    assert _tree(tmp_path) == before


def test_command_line_refuses_a_planted_manifest_in_one_line(tmp_path, checkout, outside):
    (checkout / "payload").write_text("attacker's payload\n")
    _plant(
        checkout,
        moved={"../../precious.txt": "payload"},
        files={"/etc/hostname": "0" * 64},
        dirs=["../../empty_folder"],
    )
    before = _tree(tmp_path)
    result = subprocess.run([*BRIDGE, "uninstall", str(checkout)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "outside the checkout" in result.stderr
    assert _tree(tmp_path) == before


# --- a failed install changes nothing ---------------------------------------------------------


class _FailingReplace:
    """``os.replace`` that fails when its destination ends with ``name`` (the shim writer's last step)."""

    def __init__(self, name: str, error: BaseException) -> None:
        self.name, self.error, self.real = name, error, os.replace

    def __call__(self, src, dst, *args, **kwargs):
        if str(dst).endswith(self.name):
            raise self.error
        return self.real(src, dst, *args, **kwargs)


@pytest.mark.parametrize(
    "error", [PermissionError(30, "Read-only file system"), KeyboardInterrupt()], ids=["os-error", "ctrl-c"]
)
def test_install_failing_halfway_leaves_the_checkout_as_it_was(checkout, monkeypatch, error):
    before = _tree(checkout)
    monkeypatch.setattr(os, "replace", _FailingReplace("opencv_mil/mask.py", error))
    with pytest.raises(type(error) if isinstance(error, KeyboardInterrupt) else SettingsError):
        install(checkout, plan_shims(["opencv_mil"]))
    assert _tree(checkout) == before


def test_failed_install_error_is_one_line_naming_the_file(checkout, monkeypatch):
    monkeypatch.setattr(os, "replace", _FailingReplace("opencv_mil/mask.py", PermissionError(30, "Read-only")))
    with pytest.raises(SettingsError) as caught:
        install(checkout, plan_shims(["opencv_mil"]))
    assert "\n" not in str(caught.value) and "pytracking/parameter/opencv_mil/mask.py" in str(caught.value)


def test_install_blocked_by_a_file_where_a_folder_must_go_changes_nothing(checkout):
    # The tracker shim is written first; the parameter folder cannot be made.
    (checkout / "pytracking/parameter").rename(checkout / "parameter_moved")
    (checkout / "pytracking/parameter").write_text("a file, not a folder\n")
    before = _tree(checkout)
    with pytest.raises(SettingsError, match="pytracking/parameter"):
        install(checkout, plan_shims(["opencv_mil"]))
    assert _tree(checkout) == before


def test_after_a_failed_install_both_install_and_uninstall_work(checkout, monkeypatch):
    pristine = _tree(checkout)
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", _FailingReplace("opencv_mil/default.py", PermissionError(30, "Read-only")))
        with pytest.raises(SettingsError):
            install(checkout, plan_shims(["opencv_mil"]))
    install(checkout, plan_shims(["opencv_mil"]))
    uninstall(checkout)
    assert _tree(checkout) == pristine


def test_failed_reinstall_keeps_the_previous_install_and_its_manifest(checkout, monkeypatch):
    pristine = _tree(checkout)
    install(checkout, plan_shims(["opencv_mil"]))
    installed = _tree(checkout)
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", _FailingReplace("opencv_mil/mask.py", PermissionError(30, "Read-only")))
        with pytest.raises(SettingsError):
            install(checkout, plan_shims(["opencv_mil"], prefix="ext_"))
    assert _tree(checkout) == installed
    uninstall(checkout)
    assert _tree(checkout) == pristine


def test_failed_replace_install_puts_the_users_folders_back(checkout, monkeypatch):
    for rel in ("pytracking/tracker/opencv_mil/__init__.py", "pytracking/parameter/opencv_mil/default.py"):
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        (checkout / rel).write_text(f"# the user's own {rel}\n")
    before = _tree(checkout)
    monkeypatch.setattr(os, "replace", _FailingReplace("opencv_mil/mask.py", PermissionError(30, "Read-only")))
    with pytest.raises(SettingsError):
        install(checkout, plan_shims(["opencv_mil"]), replace=True)
    assert _tree(checkout) == before
    assert not (checkout / BACKUP_DIR).exists()


def test_install_killed_midway_can_still_be_uninstalled_and_reinstalled(checkout):
    # SIGKILL leaves no chance to roll back: what was written must already be in the manifest.
    pristine = _tree(checkout)
    script = textwrap.dedent(f"""
        import os, signal
        from pytracking_ext.bridge import install, plan_shims
        real = os.replace
        def replace(src, dst, *args, **kwargs):
            if str(dst).endswith("opencv_mil/default.py"):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *args, **kwargs)
        os.replace = replace
        install({str(checkout)!r}, plan_shims(["opencv_mil"]))
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert killed.returncode == -9
    assert (checkout / "pytracking/tracker/opencv_mil/__init__.py").is_file()  # killed after writing some shims
    uninstall(checkout)
    assert _tree(checkout) == pristine
    install(checkout, plan_shims(["opencv_mil"]))
    uninstall(checkout)
    assert _tree(checkout) == pristine
