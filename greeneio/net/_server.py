"""``Net.run_server``: accept forever, a fiber per connection, bounded.

The loop is ``accept_fork`` under a semaphore of ``max_connections``
permits, racing the ``stop`` promise. Stopping ends the accept loop only; the
handlers still running are waited for (at most ``grace`` seconds, then
cancelled). Cancelling ``run_server`` itself cancels every handler at once.

Accept errors meaning "out of resources" (EMFILE, ENFILE, ENOBUFS, ENOMEM)
do not end the server: they go to ``on_error`` and accepting resumes after a
back-off of 10 ms, doubling up to 1 s, reset by the next success.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from greeneio import time as Time
from greeneio._core import _greenlet
from greeneio._core import fiber as Fiber
from greeneio._core.cancel import Cancelled
from greeneio._core.promise import Promise
from greeneio._core.semaphore import Semaphore
from greeneio._core.switch import Switch
from greeneio.net._api import Handler, _callable_arg, _listening_arg, accept_fork

__all__ = ["run_server"]

OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
BACKOFF_MIN = 0.01
BACKOFF_MAX = 1.0


class _GraceExpired(Exception):
    """Why handlers still running when ``grace`` ran out are cancelled."""


def _positive_int(v: object, name: str) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"Net.run_server: {name} must be an int, not {v!r}")
    if v <= 0:
        raise ValueError(f"Net.run_server: {name} must be > 0, not {v}")


def _domains_arg(v: object) -> None:
    if not (isinstance(v, tuple) and len(v) == 2):
        raise TypeError(f"Net.run_server: additional_domains must be (domain_mgr, n), not {v!r}")
    n = v[1]
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"Net.run_server: additional_domains count must be an int, not {n!r}")
    if n < 0:
        raise ValueError(f"Net.run_server: additional_domains count must be >= 0, not {n}")


def run_server(
    listening: Any,
    handler: Handler,
    *,
    on_error: Callable[[BaseException], object],
    max_connections: int | None = None,
    additional_domains: tuple[Any, int] | None = None,
    stop: Promise[Any] | None = None,
    grace: float | None = None,
) -> Any:
    """Serve connections on ``listening`` with ``handler(flow, addr)`` until stopped.

    At most ``max_connections`` handlers run at once (default: no limit).
    Never returns unless ``stop`` (a promise) is given: once it resolves, no
    more connections are accepted, the running handlers are waited for (for
    at most ``grace`` seconds, then cancelled), and its value is returned.
    Cancelling the caller closes every connection at once. Handler errors go
    to ``on_error`` (never ``Cancelled``). Each flow is closed when its handler
    ends.
    """
    listening = _listening_arg(listening, "run_server")
    _callable_arg(handler, "run_server", "handler")
    _callable_arg(on_error, "run_server", "on_error")
    if max_connections is not None:
        _positive_int(max_connections, "max_connections")
    if stop is not None and not isinstance(stop, Promise):
        raise TypeError(f"Net.run_server: stop must be a Promise, not {stop!r}")
    if grace is not None:
        if isinstance(grace, bool) or not isinstance(grace, int | float):
            raise TypeError(f"Net.run_server: grace must be a number of seconds, not {grace!r}")
        if grace < 0:
            raise ValueError(f"Net.run_server: grace must be >= 0, not {grace}")
    if additional_domains is not None:
        _domains_arg(additional_domains)
        # Worker processes (Domain_manager) are being built in issue #4.
        raise NotImplementedError("Net.run_server: additional_domains is not supported yet")
    return serve(listening, handler, on_error, max_connections, stop, grace)


def serve(
    listening: Any,
    handler: Handler,
    on_error: Callable[[BaseException], object],
    max_connections: int | None,
    stop: Promise[Any] | None,
    grace: float | None,
) -> Any:
    """``run_server`` in this process, arguments already checked."""
    clock = _greenlet.current().sched.clock
    connections = Semaphore(max_connections) if max_connections is not None else None
    expired = _GraceExpired(f"run_server: the grace period of {grace}s ran out")

    def counted(flow: Any, addr: Any) -> None:
        try:
            handler(flow, addr)
        finally:
            connections.release()  # type: ignore[union-attr]

    def accept_loop(sw: Switch) -> None:
        delay = 0.0
        while True:
            if connections is not None:
                connections.acquire()
            try:
                accept_fork(
                    listening, counted if connections else handler, sw=sw, on_error=on_error
                )
            except BaseException as e:
                if connections is not None:
                    connections.release()
                if not (isinstance(e, OSError) and e.errno in OUT_OF_RESOURCES):
                    raise
                delay = min(BACKOFF_MAX, max(BACKOFF_MIN, delay * 2))
                on_error(e)
                Time.sleep(clock, delay)
                continue
            delay = 0.0

    def expire_after(sw: Switch, seconds: float) -> None:
        Time.sleep(clock, seconds)
        sw.cancel_context().cancel(expired)

    try:
        with Switch(name="run_server") as sw:
            if stop is None:
                accept_loop(sw)  # ends only by raising
            value = Fiber.first(lambda: accept_loop(sw), stop.await_)  # type: ignore[union-attr]
            if grace is not None:
                Fiber.fork_daemon(expire_after, sw, grace, sw=sw)
    except Cancelled as c:
        if c.reason is not expired:
            raise
    return value
