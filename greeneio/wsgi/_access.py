"""The access log: a line per response in the common log format, buffered.

Theory of operation. Lines are kept in a list and written to the stream
together (one ``write`` and one ``flush``): at once when ``max_lines`` are
waiting, else by a *flusher* fiber at most ``interval`` seconds after the
first waiting line. There is one flusher per process at a time, and no
timer while nothing waits. It is a daemon fiber of a connection's switch
(the first connection that logs a line while there is none): when that
connection ends, the flusher writes what waits and stops, and the next line
starts another. So a line waits at most ``interval`` seconds, and an idle
server runs no timer. After a fork (worker processes), a process starts
with an empty buffer and no flusher of its own (``os.getpid`` is checked).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import IO, Final

from greeneio import http as Http
from greeneio import time as Time
from greeneio._core import _greenlet
from greeneio._core import fiber as Fiber
from greeneio._core.args import int_arg, seconds_arg
from greeneio._core.switch import Switch
from greeneio.interfaces import IClock
from greeneio.net.sockaddr import Tcp
from greeneio.protocols import Clock

__all__ = ["AccessLog"]

_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
#: Characters of a request line written as ``\\xHH`` (quote, backslash, controls, non-ASCII).
_ESCAPES: Final = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x22, 0x5C, *range(0x7F, 0x100))}

OnResponse = Callable[[Http.Request | None, int, int], object]


class AccessLog:
    """An access log in the common log format, written to the text ``stream``:

        127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5

    (client address, ``-`` ``-`` for identity and user, the time in UTC, the
    request line with ``"``, ``\\``, control characters and non-ASCII bytes
    as ``\\xHH``, the status, the body bytes or ``-`` for none, and for HEAD;
    a refused request head is ``"-"``). Give it to
    ``wsgi.handler(app, access_log=...)``, or serve any engine handler's
    connections through :meth:`run`.

    Lines are buffered: written (one ``write``, then ``flush``) once
    ``max_lines`` wait, and otherwise within ``interval`` seconds of the first
    waiting line; also when the connection that runs the flusher ends. A
    stream that fails (a full disk) loses those lines, never a request.
    ``wall_clock`` gives the times (default: the system time).
    """

    __slots__ = (
        "_flusher",
        "_interval",
        "_lines",
        "_max_lines",
        "_now",
        "_pid",
        "_second",
        "_stamp",
        "stream",
    )

    def __init__(
        self,
        stream: IO[str],
        *,
        max_lines: int = 100,
        interval: float = 1.0,
        wall_clock: Clock | None = None,
    ) -> None:
        if not callable(getattr(stream, "write", None)):
            raise TypeError(f"wsgi.AccessLog: stream must be a text stream, not {stream!r}")
        if wall_clock is not None and not IClock.providedBy(wall_clock):
            raise TypeError(f"wsgi.AccessLog: wall_clock must provide IClock, not {wall_clock!r}")
        #: The text stream the lines go to.
        self.stream = stream
        self._max_lines = int_arg(max_lines, "wsgi.AccessLog", "max_lines", min=1)
        self._interval = seconds_arg(interval, "wsgi.AccessLog", "interval", min=0)
        self._now: Callable[[], float] = wall_clock.now if wall_clock is not None else time.time
        self._lines: list[str] = []
        self._flusher: Switch | None = None  # the switch the flusher runs in
        self._pid = os.getpid()
        self._second = -1
        self._stamp = ""

    def line(self, peer: str, request: Http.Request | None, status: int, nbytes: int) -> str:
        """The log line (with its newline) for a response to ``request`` from ``peer``."""
        second = int(self._now())
        if second != self._second:
            t = time.gmtime(second)
            self._stamp = (
                f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
            )
            self._second = second
        if request is None:
            what = "-"
        else:
            target = request.target.decode("latin-1")
            if not (target.isascii() and target.isprintable()) or '"' in target or "\\" in target:
                target = target.translate(_ESCAPES)
            v = request.version
            what = f"{request.method} {target} HTTP/{v[0]}.{v[1]}"
            if request.method == "HEAD":
                nbytes = 0
        size = str(nbytes) if nbytes else "-"
        return f'{peer or "-"} - - [{self._stamp}] "{what}" {status} {size}\n'

    def write(self, line: str) -> None:
        """Buffer ``line``; write what waits if ``max_lines`` lines do (the
        flusher, if any, writes the rest within ``interval``)."""
        pid = os.getpid()
        if pid != self._pid:  # a forked worker: the parent's lines are the parent's
            self._pid = pid
            self._lines = []
            self._flusher = None
        self._lines.append(line)
        if len(self._lines) >= self._max_lines:
            self.flush()

    def flush(self) -> None:
        """Write every waiting line now."""
        lines = self._lines
        if not lines:
            return
        self._lines = []
        with contextlib.suppress(OSError, ValueError):  # a full disk, a closed stream
            self.stream.write("".join(lines))
            self.stream.flush()

    # -- per connection ------------------------------------------------------

    def run(
        self, addr: object, serve: Callable[[OnResponse], object], *, clock: Clock | None = None
    ) -> None:
        """Serve one connection from ``addr`` (run_server's): call
        ``serve(on_response)``, where ``on_response`` is the engine's hook
        (``Http.serve_connection(..., on_response=on_response)``), and log a
        line per response. ``clock`` times the flusher (default: the running
        scheduler's). ``wsgi.handler`` does this; another engine handler
        (the static service) can too."""
        peer = str(addr.ip) if isinstance(addr, Tcp) else "-"
        c = clock if clock is not None else _greenlet.current().sched.clock
        sw = Switch(name="access-logged connection")

        def on_response(request: Http.Request | None, status: int, nbytes: int) -> None:
            self.write(self.line(peer, request, status, nbytes))
            if self._lines and self._flusher is None:
                self._flusher = sw
                Fiber.fork_daemon(self._flush_later, c, sw, sw=sw)

        try:
            with sw:
                serve(on_response)
        finally:
            if self._flusher is sw:  # its flusher never ran (the switch was ending)
                self._flusher = None
                self.flush()

    def _flush_later(self, clock: Clock, sw: Switch) -> None:
        try:
            while self._lines and self._flusher is sw:
                Time.sleep(clock, self._interval)
                self.flush()
        finally:
            if self._flusher is sw:
                self._flusher = None
                self.flush()
