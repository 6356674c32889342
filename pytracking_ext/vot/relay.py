"""The VOT client's side of a TraX session: a thread that reads the client and hands libtrax only
complete, well-formed messages (see :class:`ClientRelay` for why), and the one-line errors that end
a session early (client gone, malformed message, Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import PytrackingError, SettingsError, TrackerInputError

#: Exit status when the client went away (end of input, nobody reading the replies): 128 + SIGPIPE,
#: what a shell reports for a writer whose reader left.
CLIENT_GONE_STATUS = 141
#: Messages a TraX client sends to a server.
CLIENT_MESSAGES = ("initialize", "frame", "quit")
#: Longest message accepted from the client (a mask of a 4K frame takes a few MB at most).
MAX_MESSAGE_BYTES = 64 * 2**20
#: Property marking the quit the relay writes itself (the client's own quit does not carry it).
RELAY_MARK = "pytracking_ext.relay"
#: Seconds to keep trying to reach a client that listens on ``TRAX_SOCKET``.
CONNECT_TIMEOUT = 30.0

# One message per line: '@@TRAX:' TYPE, then tokens separated by spaces, each quoted or bare, with
# backslash escapes; a raw newline never occurs inside a message the client writes. The loops are
# unrolled (each byte can match one way only) so a multi-megabyte mask message is checked in
# milliseconds and a malformed one fails in linear time.
_QUOTED = rb'"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"'
_BARE = rb'(?:[^ "\\\n]|\\[^\n])[^ "\\\n]*(?:\\[^\n][^ "\\\n]*)*'
_MESSAGE = re.compile(rb"@@TRAX:([A-Za-z0-9]+)(?: +(?:" + _QUOTED + rb"|" + _BARE + rb"))* *")
_STOP = b"\0"  # on the relay's control pipe: end quietly (signal numbers there are never 0)


class TraxProtocolError(TrackerInputError):
    """The VOT client sent something that is not a well-formed TraX request."""


class ClientGone(PytrackingError):
    """The VOT client closed the connection, or stopped reading, without sending quit."""


def check_message(line: bytes) -> str:
    """The type of client message ``line`` (without its newline); :class:`TraxProtocolError` if malformed."""
    match = _MESSAGE.fullmatch(line)
    kind = match.group(1).decode().lower() if match else None
    if kind not in CLIENT_MESSAGES:
        raise TraxProtocolError(f"the VOT client sent a malformed TraX message: {_shown(line)}")
    return kind


def _shown(data: bytes, limit: int = 60) -> str:
    text = repr(data[:limit].decode("utf-8", "replace"))
    return text + "..." if len(data) > limit else text


@dataclass
class ClientStreams:
    """Where the client's requests come from and the replies go: stdin/stdout, ``TRAX_IN``/``TRAX_OUT``
    descriptors, or a connection to the client listening on ``TRAX_SOCKET``."""

    input: int
    output: int
    connection: socket.socket | None = None

    @classmethod
    def open(cls) -> ClientStreams:
        port = os.environ.get("TRAX_SOCKET")
        if port is not None:
            connection = _connect(port)
            return cls(connection.fileno(), connection.fileno(), connection)
        return cls(_descriptor("TRAX_IN", 0), _descriptor("TRAX_OUT", 1))

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _descriptor(variable: str, default: int) -> int:
    value = os.environ.get(variable)
    if value is None:
        return default
    if not value.strip().isdigit():
        raise SettingsError(f"{variable}={value!r}: expected a file descriptor number")
    return int(value)


def _connect(port: str) -> socket.socket:
    """A blocking connection to the client on ``127.0.0.1:port``, retried for :data:`CONNECT_TIMEOUT` s."""
    if not port.strip().isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"TRAX_SOCKET={port!r}: expected a port number")
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        try:
            connection = socket.create_connection(("127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT)
            break
        except OSError as err:
            if time.monotonic() > deadline:
                raise ClientGone(
                    f"TRAX_SOCKET={port}: cannot connect to the VOT client on 127.0.0.1:{port} ({err.strerror or err})"
                ) from None
            time.sleep(0.2)
    connection.settimeout(None)  # libtrax writes to it with plain write(): it must block
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


class ClientRelay:
    """Hands libtrax the client's messages through a pipe, one complete, well-formed line at a time.

    libtrax (vot-trax 4) takes end of input for a repeat of the last message type, so after a bare
    ``@@TRAX:initialize`` it reads the closed stream forever at 100 % CPU; it also skips lines it
    cannot parse, leaving the client waiting for a reply that never comes. So it never reads the
    client itself: this thread does, and on end of input, a malformed message, a client that stopped
    reading the replies, or Ctrl-C (seen through the signal wake-up descriptor, as libtrax may be
    blocked in ``read`` holding the main thread) it records why and writes a quit of its own, marked
    with :data:`RELAY_MARK`, which ends the pending wait. :class:`RelayedHandle` turns it into the error.
    """

    def __init__(self, streams: ClientStreams) -> None:
        self.streams = streams
        self.library_input, self._to_library = os.pipe()
        self._control, self._control_in = os.pipe()  # signal numbers (wake-up fd) and _STOP
        os.set_blocking(self._control_in, False)
        #: why the relay ended the session: ("gone" | "malformed" | "interrupted", message), or None
        self.ended: tuple[str, str] | None = None
        self.last_message = b""  # the newest message handed to libtrax, for its terse errors
        self._thread = threading.Thread(target=self._run, name="trax-client-relay", daemon=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[ClientRelay]:
        """Relay (and watch for Ctrl-C) inside the block; stop and release the pipes after it."""
        previous = None
        with contextlib.suppress(ValueError):  # only the main thread may set the wake-up descriptor
            previous = signal.set_wakeup_fd(self._control_in, warn_on_full_buffer=False)
        self._thread.start()
        try:
            yield self
        finally:
            if previous is not None:
                signal.set_wakeup_fd(previous)
            self._stop()

    def _stop(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._control_in, _STOP)
        os.close(self.library_input)  # libtrax is done with it; a blocked write to it fails now
        self._thread.join(timeout=1.0)
        if not self._thread.is_alive():  # never close what a live thread may still use
            os.close(self._control)
            os.close(self._control_in)

    def _run(self) -> None:
        try:
            ended = self._relay()
            if ended is not None:
                self.ended = ended
                os.write(self._to_library, f'@@TRAX:quit "{RELAY_MARK}={ended[0]}" \n'.encode())
        except OSError:
            pass  # libtrax stopped reading: the session is over anyway
        finally:
            os.close(self._to_library)

    def _relay(self) -> tuple[str, str] | None:
        """Pass messages on until the client's quit or a stop (``None``), or until the session must end."""
        poller = select.poll()
        poller.register(self.streams.input, select.POLLIN)
        poller.register(self._control, select.POLLIN)
        if self.streams.output != self.streams.input:
            poller.register(self.streams.output, 0)  # POLLERR / POLLHUP once nobody reads the replies
        pending = bytearray()
        while True:
            for fd, _ in poller.poll():
                if fd == self._control:
                    received = os.read(fd, 256)
                    if _STOP in received:
                        return None
                    if bytes([signal.SIGINT]) in received:
                        return "interrupted", "interrupted"
                elif fd == self.streams.input:
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except OSError as err:
                        return "gone", f"the VOT client closed the connection ({err.strerror or err})"
                    if not chunk:
                        middle = f" in the middle of a message ({_shown(bytes(pending))})" if pending else ""
                        return "gone", f"the VOT client closed the connection{middle} without sending quit"
                    pending += chunk
                    try:
                        if self._pass_on(pending):
                            return None
                    except TraxProtocolError as err:
                        return "malformed", str(err)
                else:
                    return "gone", "the VOT client closed the connection: nobody reads the replies (broken pipe)"

    def _pass_on(self, pending: bytearray) -> bool:
        """Write the complete messages in ``pending`` to libtrax (removing them); True after the client's quit."""
        start = 0
        try:
            while (end := pending.find(b"\n", start)) >= 0:
                line = bytes(pending[start:end])
                kind = check_message(line)
                self.last_message = line
                _write_all(self._to_library, line + b"\n")
                start = end + 1
                if kind == "quit":
                    return True
        finally:
            del pending[:start]
        if len(pending) > MAX_MESSAGE_BYTES:
            raise TraxProtocolError(
                f"the VOT client sent a message of over {MAX_MESSAGE_BYTES} bytes "
                f"without a line end: {_shown(bytes(pending))}"
            )
        return False

    def raise_if_ended(self, answered: int) -> None:
        """Raise why the relay ended the session, if it did (``answered``: frames answered so far)."""
        if self.ended is None:
            return
        kind, message = self.ended
        if kind == "interrupted":
            raise KeyboardInterrupt
        if kind == "malformed":
            raise TraxProtocolError(message)
        raise ClientGone(f"{message}, after {answered} frames")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class RelayedHandle:
    """A ``trax.Server`` as :func:`serve_requests` sees it: the relay's own quit, and libtrax's errors,
    become one-line errors."""

    def __init__(self, handle, relay: ClientRelay, trax_error: type[Exception]) -> None:
        self.handle, self.relay, self.trax_error = handle, relay, trax_error
        self.answered = 0

    def wait(self):
        try:
            request = self.handle.wait()
        except self.trax_error as err:
            # libtrax failed on a message it was given: that message is the cause, whatever the relay
            # saw later (Ctrl-C aside, which can also interrupt libtrax's read).
            if self.relay.ended is not None and self.relay.ended[0] == "interrupted":
                raise KeyboardInterrupt from None
            detail = str(err).removeprefix("Exception when waiting for command: ")
            raise TraxProtocolError(
                f"libtrax rejected the VOT client's request ({detail}); last message "
                f"received: {_shown(self.relay.last_message)}"
            ) from None
        if request.type == "quit" and (request.properties or {}).get(RELAY_MARK):
            self.relay.raise_if_ended(self.answered)
        return request

    def status(self, objects, properties=None) -> bool:
        done = self.handle.status(objects, properties)
        self.answered += 1
        return done
