"""Shared fixtures: an isolated workspace per test and the optional ../shared material."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("PYTRACKING_EXT_SHARED", REPO_ROOT.parent / "shared"))


def pytest_configure(config):
    """A test run started in the background of a non-interactive shell (``cmd &`` in a script)
    inherits SIGINT ignored, and so would every process the tests start, so the tests that press
    Ctrl-C on a tracker or server would see it ignored. A handled signal is reset to its default in
    a child at exec, so Python's own handler here gives the children the Ctrl-C a user has."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _environment_restored():
    """Whatever a test (or the code it runs in-process) puts into os.environ is gone after it: later
    tests, and the subprocesses they start, see the environment the session started with."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Point every PYTRACKING_/LTR_ setting at a fresh folder so tests never touch the user's."""
    for key in list(os.environ):
        if key.startswith(("PYTRACKING_", "LTR_")) and key != "PYTRACKING_EXT_SHARED":
            monkeypatch.delenv(key, raising=False)
    ws = tmp_path / "workspace"
    ws.mkdir()
    monkeypatch.setenv("PYTRACKING_WORKSPACE_DIR", str(ws))
    monkeypatch.setenv("PYTRACKING_SETTINGS", os.devnull)  # no settings file
    monkeypatch.setenv("LTR_WORKSPACE_DIR", str(ws))
    return ws


@pytest.fixture(scope="session")
def shared_dir():
    """The read-only ../shared folder (CI has it; a user's clone may not)."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"../shared not found at {SHARED_DIR} (set PYTRACKING_EXT_SHARED); skipping tests on shared data")
    return SHARED_DIR


@pytest.fixture(scope="session")
def rts_network_dir(tmp_path_factory):
    """A network folder holding ``rts50.pth`` with random (seeded) weights, for running the RTS tracker."""
    import torch

    from ltr_ext.models.rts import build_rts50

    folder = tmp_path_factory.mktemp("networks")
    torch.manual_seed(0)
    torch.save(build_rts50().state_dict(), folder / "rts50.pth")
    return folder


def _single_thread(get, set_):
    previous = get()
    set_(1)
    yield
    set_(previous)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny convolutions on a shared 2-core machine: a second torch thread only adds contention (10-100x slower)."""
    import torch

    yield from _single_thread(torch.get_num_threads, torch.set_num_threads)


@pytest.fixture(scope="module")
def one_cv2_thread():
    """OpenCV's pool on one thread for the module (shared 2-core machine)."""
    import cv2

    yield from _single_thread(cv2.getNumThreads, cv2.setNumThreads)
