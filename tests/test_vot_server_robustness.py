"""The TraX server as a subprocess: malformed input, end of input, a vanished client and Ctrl-C end it
within a second, with one line on stderr and a conventional exit status."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("trax", reason="vot-trax is not installed (pip install vot-trax)")

from pytracking_ext.utils.io import imwrite_rgb

#: Exit status when the client went away: 128 + SIGPIPE, as a shell reports a writer whose reader left.
CLIENT_GONE_STATUS = 141
#: Seconds the server may take to end once the client went away or misbehaved.
LIMIT = 1.0
SERVE = [sys.executable, "-m", "pytracking_ext.vot", "serve", "opencv_mil", "default"]


def _read_line(fd: int, timeout: float = 60.0) -> bytes:
    """One ``\\n``-terminated line from ``fd`` (raw, unbuffered), or what came before end of input."""
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no line within {timeout} s (got {line!r})"
        chunk = os.read(fd, 1)
        if not chunk:
            break
        line += chunk
    return line


def _start(env: dict | None = None) -> subprocess.Popen:
    """The server, past its handshake (networks loaded, ``hello`` sent)."""
    process = subprocess.Popen(
        SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, env=env
    )
    hello = _read_line(process.stdout.fileno())
    assert hello.startswith(b"@@TRAX:hello"), hello
    return process


def _ended(process: subprocess.Popen, since: float) -> tuple[int, float, str]:
    """(exit status, seconds since ``since``, stderr) once the server has ended; kills it after 10 s."""
    try:
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        pytest.fail("the server did not end within 10 s")
    elapsed = time.monotonic() - since
    return code, elapsed, process.stderr.read().decode()


def _assert_one_line(stderr: str) -> None:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr


@pytest.fixture
def frame(tmp_path) -> str:
    image = np.zeros((48, 64, 3), np.uint8)
    image[10:30, 10:30] = 200
    imwrite_rgb(tmp_path / "00000001.png", image)
    return f"file://{tmp_path / '00000001.png'}"


def _initialised(frame: str) -> subprocess.Popen:
    """A server that has answered an initialisation and one frame (raw TraX, as the client writes it)."""
    process = _start()
    process.stdin.write(
        b'@@TRAX:initialize "10.0000,10.0000,20.0000,20.0000" \n' + f'@@TRAX:frame "{frame}" \n'.encode()
    )
    assert _read_line(process.stdout.fileno()).startswith(b"@@TRAX:state")
    process.stdin.write(f'@@TRAX:frame "{frame}" \n'.encode())
    assert _read_line(process.stdout.fileno()).startswith(b"@@TRAX:state")
    return process


@pytest.mark.parametrize(
    "sent",
    [b"", b"@@TRAX:initialize", b"@@TRAX:initialize\n", b'@@TRAX:initialize "10.0000,10.0000,20.0000,20.0000" \n'],
    ids=["nothing", "truncated-initialize", "initialize-line", "initialize-without-frame"],
)
def test_end_of_input_before_quit_ends_the_server(sent):
    process = _start()
    process.stdin.write(sent)
    process.stdin.close()
    code, elapsed, stderr = _ended(process, time.monotonic())
    assert code == CLIENT_GONE_STATUS and elapsed < LIMIT
    _assert_one_line(stderr)
    assert "closed the connection" in stderr


@pytest.mark.parametrize(
    "sent",
    [
        b"garbage\n",
        b'@@TRAX:initialize "10,10,20,20\n',
        b"@@TRAX:dance\n",
        b'@@TRAX:initialize "10,10,20,20"x\n',
        b'@@TRAX:initialize "1,1,5,5" "2,2,3,3" \n',
    ],
    ids=["garbage", "unterminated-quote", "unknown-message", "junk-after-quote", "two-regions-in-one-message"],
)
def test_malformed_message_ends_the_server_while_the_client_stays(sent):
    process = _start()
    process.stdin.write(sent)  # stdin stays open: the message alone must end the session
    code, elapsed, stderr = _ended(process, time.monotonic())
    process.stdin.close()
    assert code == 1 and elapsed < LIMIT
    _assert_one_line(stderr)


def test_end_of_input_mid_session_ends_the_server(frame):
    process = _initialised(frame)
    process.stdin.close()
    code, elapsed, stderr = _ended(process, time.monotonic())
    assert code == CLIENT_GONE_STATUS and elapsed < LIMIT
    _assert_one_line(stderr)
    assert "after 2 frames" in stderr


def test_client_that_stops_reading_ends_the_server(frame):
    process = _initialised(frame)
    process.stdout.close()  # the client is gone for replies (a broken pipe), its stdin still open
    code, elapsed, stderr = _ended(process, time.monotonic())
    process.stdin.close()
    assert code == CLIENT_GONE_STATUS and elapsed < LIMIT
    _assert_one_line(stderr)


@pytest.mark.parametrize("when", ["before-initialisation", "mid-session"])
def test_ctrl_c_ends_the_server_with_status_130(frame, when):
    process = _start() if when == "before-initialisation" else _initialised(frame)
    process.send_signal(signal.SIGINT)
    code, elapsed, stderr = _ended(process, time.monotonic())
    process.stdin.close()
    assert code == 130 and elapsed < LIMIT
    _assert_one_line(stderr)
    assert "interrupted" in stderr


def test_socket_client_closing_the_connection_ends_the_server():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        env = {**os.environ, "TRAX_SOCKET": str(listener.getsockname()[1])}
        process = subprocess.Popen(
            SERVE, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        listener.settimeout(60)
        connection, _ = listener.accept()
        with connection:
            assert _read_line(connection.fileno()).startswith(b"@@TRAX:hello")
            connection.sendall(b"@@TRAX:initialize")
        code, elapsed, stderr = _ended(process, time.monotonic())
    assert code == CLIENT_GONE_STATUS and elapsed < LIMIT
    _assert_one_line(stderr)
    assert process.stdout.read() == b""  # the protocol went over the socket only
