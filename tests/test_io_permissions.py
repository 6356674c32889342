"""Atomic writers give the final file the mode a plain ``open(path, 'w')`` would: 0666 minus the umask."""

from __future__ import annotations

import os
import stat
import threading

import numpy as np
import pytest

from pytracking_ext.utils.io import (
    atomic_open,
    atomic_savetxt,
    atomic_write_bytes,
    atomic_write_text,
    imwrite_indexed,
    imwrite_rgb,
)


def _write_with_atomic_open(path):
    with atomic_open(path, "w") as f:
        f.write("x")


WRITERS = {
    "atomic_open": (_write_with_atomic_open, "a.txt"),
    "atomic_write_text": (lambda p: atomic_write_text(p, "x"), "a.txt"),
    "atomic_write_bytes": (lambda p: atomic_write_bytes(p, b"x"), "a.bin"),
    "atomic_savetxt": (lambda p: atomic_savetxt(p, np.ones((2, 4))), "a.txt"),
    "imwrite_rgb": (lambda p: imwrite_rgb(p, np.zeros((4, 4, 3), np.uint8)), "a.png"),
    "imwrite_indexed": (lambda p: imwrite_indexed(p, np.zeros((4, 4), np.uint8)), "a.png"),
}


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(
    "mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=["umask022", "umask077", "umask002"]
)
def test_atomic_writers_respect_the_umask(tmp_path, umask, writer, mask, expected):
    write, name = WRITERS[writer]
    umask(mask)
    write(tmp_path / name)
    assert _mode(tmp_path / name) == expected


@pytest.mark.parametrize("writer", WRITERS)
def test_replacing_a_file_gives_the_umask_mode(tmp_path, umask, writer):
    write, name = WRITERS[writer]
    umask(0o022)
    (tmp_path / name).write_bytes(b"old")
    os.chmod(tmp_path / name, 0o600)
    write(tmp_path / name)
    assert _mode(tmp_path / name) == 0o644


def test_files_written_from_threads_all_get_the_umask_mode(tmp_path, umask):
    umask(0o022)

    def work(i: int) -> None:
        for j in range(20):
            atomic_write_text(tmp_path / f"{i}_{j}.txt", "x")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {_mode(p) for p in tmp_path.iterdir()} == {0o644}
