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
import functools
from collections.abc import Callable
from typing import NoReturn, TypeVar, overload

from greeneio import time as Time
from greeneio._core import _greenlet
from greeneio._core import fiber as Fiber
from greeneio._core.args import callable_arg, int_arg, seconds_arg
from greeneio._core.cancel import Cancelled
from greeneio._core.promise import Promise
from greeneio._core.semaphore import Semaphore
from greeneio._core.switch import Switch
from greeneio.interfaces import IDomainManager
from greeneio.net._api import Handler, _accept_fork_unchecked, _listening_arg
from greeneio.net.sockaddr import Tcp, Unix
from greeneio.protocols import (
    Clock,
    DomainManager,
    ListeningSocket,
    SharedCounters,
    SharedSemaphore,
    StreamSocket,
)

T = TypeVar("T")

__all__ = ["ServerStats", "run_server"]

OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
BACKOFF_MIN = 0.01
BACKOFF_MAX = 1.0


class ServerStats:
    """Live connection counts of a ``run_server``, one entry per process (index 0
    is the caller, then each worker): pass one as ``run_server(..., stats=)``."""

    __slots__ = ("_counts", "_n")

    def __init__(self) -> None:
        self._counts: SharedCounters | None = None
        self._n = 0

    def _attach(self, counts: SharedCounters, n: int) -> None:
        self._counts = counts
        self._n = n

    def open(self) -> list[int]:
        """Connections being handled now, per process."""
        return [] if self._counts is None else self._counts.values()[: self._n]

    def accepted(self) -> list[int]:
        """Connections accepted so far, per process."""
        return [] if self._counts is None else self._counts.values()[self._n : 2 * self._n]

    def __repr__(self) -> str:
        return f"<ServerStats open={self.open()} accepted={self.accepted()}>"


class LocalCounters:
    """Counters for one process (the single-process ``run_server``)."""

    __slots__ = ("_values",)

    def __init__(self, n: int) -> None:
        self._values = [0] * n

    def add(self, i: int, delta: int) -> None:
        self._values[i] += delta

    def values(self) -> list[int]:
        return list(self._values)


class _GraceExpired(Exception):
    """Why handlers still running when ``grace`` ran out are cancelled."""


def _domains_arg(v: object) -> tuple[DomainManager, int]:
    if not (isinstance(v, tuple) and len(v) == 2):
        raise TypeError(f"Net.run_server: additional_domains must be (domain_mgr, n), not {v!r}")
    dm, n = v
    int_arg(n, "Net.run_server", "additional_domains count", min=0)
    if not IDomainManager.providedBy(dm):
        raise TypeError(
            "Net.run_server: additional_domains needs a domain manager (env.domain_mgr), "
            f"not {dm!r}"
        )
    return dm, n


@overload
def run_server(
    listening: ListeningSocket,
    handler: Handler,
    *,
    on_error: Callable[[BaseException], object],
    max_connections: int | None = None,
    additional_domains: tuple[DomainManager, int] | None = None,
    stop: None = None,
    grace: float | None = None,
    stats: ServerStats | None = None,
) -> NoReturn: ...
@overload
def run_server(
    listening: ListeningSocket,
    handler: Handler,
    *,
    on_error: Callable[[BaseException], object],
    max_connections: int | None = None,
    additional_domains: tuple[DomainManager, int] | None = None,
    stop: Promise[T],
    grace: float | None = None,
    stats: ServerStats | None = None,
) -> T: ...
def run_server(
    listening: ListeningSocket,
    handler: Handler,
    *,
    on_error: Callable[[BaseException], object],
    max_connections: int | None = None,
    additional_domains: tuple[DomainManager, int] | None = None,
    stop: Promise[T] | None = None,
    grace: float | None = None,
    stats: ServerStats | None = None,
) -> T:
    """Serve connections on ``listening`` with ``handler(flow, addr)`` until stopped.

    At most ``max_connections`` handlers run at once (default: no limit).
    Never returns unless ``stop`` (a promise) is given: once it resolves, no
    more connections are accepted, the running handlers are waited for (for
    at most ``grace`` seconds, then cancelled), and its value is returned
    (so the type checker sees ``stop``'s type, or ``NoReturn`` without it).
    Cancelling the caller closes every connection at once. Handler errors go
    to ``on_error`` (never ``Cancelled``). Each flow is closed when its handler
    ends. ``additional_domains=(env.domain_mgr, n)`` also serves from ``n``
    worker processes (docs/workers.md). ``stats`` (a ``Net.ServerStats``) is
    kept up to date with per-process open and accepted counts.
    """
    listening = _listening_arg(listening, "run_server")
    callable_arg(handler, "Net.run_server", "handler")
    callable_arg(on_error, "Net.run_server", "on_error")
    if max_connections is not None:
        int_arg(max_connections, "Net.run_server", "max_connections", min=1)
    if stop is not None and not isinstance(stop, Promise):
        raise TypeError(f"Net.run_server: stop must be a Promise, not {stop!r}")
    if grace is not None:
        seconds_arg(grace, "Net.run_server", "grace", min=0)
    if stats is not None and not isinstance(stats, ServerStats):
        raise TypeError(f"Net.run_server: stats must be a Net.ServerStats, not {stats!r}")
    if additional_domains is None:
        limiter = Semaphore(max_connections) if max_connections is not None else None
        wait = stop.await_ if stop else None
        if stats is None:
            return serve(listening, handler, on_error, limiter, wait, grace)
        counts = LocalCounters(2)
        stats._attach(counts, 1)
        return serve(listening, handler, on_error, limiter, wait, grace, (counts, 0, 1))
    dm, n = _domains_arg(additional_domains)
    return _serve_in_domains(
        listening, handler, on_error, max_connections, dm, n, stop, grace, stats
    )


def _serve_in_domains(
    listening: ListeningSocket,
    handler: Handler,
    on_error: Callable[[BaseException], object],
    max_connections: int | None,
    dm: DomainManager,
    n: int,
    stop: Promise[T] | None,
    grace: float | None,
    stats: ServerStats | None,
) -> T:
    """Eio's run_server with domains: ``n`` more accept loops, each in a domain of
    ``dm``, sharing one connection limit; ``stop`` reaches them through a
    domain-shared event."""
    with Switch(name="run_server") as sw:
        limiter = dm.semaphore(max_connections, sw) if max_connections is not None else None
        shared_stop = dm.share(stop, sw) if stop is not None else None
        counts = dm.counters(2 * (n + 1), sw)  # open, then accepted, per domain
        if stats is not None:
            stats._attach(counts, n + 1)

        def worker(slot: int) -> None:
            wait = shared_stop.await_ if shared_stop is not None else None
            serve(listening, handler, on_error, limiter, wait, grace, (counts, slot, n + 1))

        for slot in range(1, n + 1):
            Fiber.fork(dm.run, functools.partial(worker, slot), sw=sw)
        wait = stop.await_ if stop else None
        return serve(listening, handler, on_error, limiter, wait, grace, (counts, 0, n + 1))


def serve(
    listening: ListeningSocket,
    handler: Handler,
    on_error: Callable[[BaseException], object],
    connections: SharedSemaphore | None,
    wait_stop: Callable[[], T] | None,
    grace: float | None,
    balance: tuple[SharedCounters, int, int] | None = None,
) -> T:
    """One accept loop (in this domain), arguments already checked.

    ``connections`` (None: no limit) has ``acquire``/``release``; ``wait_stop``
    (None: never stop) blocks until the server should stop and returns the
    value to return. ``balance`` is ``(counters, my_slot, n_domains)`` when
    several domains accept on the same socket (see :func:`_step_back`); the
    counters hold open connections per domain, then accepted ones.
    """
    clock = _greenlet.current().sched.clock
    expired = _GraceExpired(f"run_server: the grace period of {grace}s ran out")
    inner = handler
    if connections is not None:

        def limited(flow: StreamSocket, addr: Tcp | Unix) -> None:
            try:
                inner_limited(flow, addr)
            finally:
                connections.release()

        inner_limited, inner = inner, limited
    if balance is not None:
        counts, slot, n_domains = balance

        def tracked(flow: StreamSocket, addr: Tcp | Unix) -> None:
            counts.add(n_domains + slot, 1)
            counts.add(slot, 1)
            try:
                inner_tracked(flow, addr)
            finally:
                counts.add(slot, -1)

        inner_tracked, inner = inner, tracked

    def accept_loop(sw: Switch) -> NoReturn:
        delay = 0.0
        while True:
            if balance is not None and n_domains > 1:
                _step_back(clock, counts, slot, n_domains)
            if connections is not None:
                connections.acquire()
            try:
                _accept_fork_unchecked(listening, inner, sw, on_error)
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
            if wait_stop is None:
                accept_loop(sw)  # ends only by raising
            value = Fiber.first(lambda: accept_loop(sw), wait_stop)
            if grace is not None:
                Fiber.fork_daemon(expire_after, sw, grace, sw=sw)
    except Cancelled as c:
        if c.reason is not expired:
            raise
    return value


STEP_BACK_TURNS = 4


def _step_back(clock: Clock, counts: SharedCounters, slot: int, n_domains: int) -> None:
    """Let the other domains take the next connection while this one holds more
    than its share (more than twice, plus one, the least loaded one's).

    Linux tends to wake the same process for every connection on a shared
    listening socket. Stepping back means not calling accept for a few turns of
    the event loop (at most ``STEP_BACK_TURNS``), so that another process that
    was woken too accepts it. A bounded yield rather than a sleep: with short
    connections (churn) a sleeping process would leave the backlog waiting.
    """
    for _ in range(STEP_BACK_TURNS):
        values = counts.values()[:n_domains]
        mine = values[slot]
        least = min(v for i, v in enumerate(values) if i != slot)
        if mine <= 2 * least + 1:
            return
        Time.sleep(clock, 0)
