"""``Net.run_server``: accept forever, a fiber per connection, bounded.

The loop is ``accept_fork`` under a semaphore of ``max_connections``
permits, racing the ``stop`` promise. Stopping ends the accept loop only; the
handlers still running are waited for (at most ``grace`` seconds, then
cancelled). Cancelling ``run_server`` itself cancels every handler at once.

Accept errors meaning "out of resources" (EMFILE, ENFILE, ENOBUFS, ENOMEM)
do not end the server: they go to ``on_error`` and accepting resumes after a
back-off of 10 ms, doubling up to 1 s, reset by the next success.

Stopping races with accepting: a permit handed to the loop just before
``stop`` cancelled it, or a listening socket closed as soon as ``stop``
resolved (greeneio-serve does that, to refuse new clients), must end the
loop, not fail the server. So the loop looks for cancellation and for a
resolved ``stop`` before every accept, and an accept error once ``stop`` has
resolved is the end of accepting, not an error.

With ``restart_workers`` each worker runs under a supervising fiber of the
calling process (:class:`_Supervisor`): a worker that dies is replaced in its
slot, and what it held in shared state is given back (see there).
"""

from __future__ import annotations

import errno
import functools
from collections import deque
from collections.abc import Callable
from typing import NoReturn, Protocol, TypeVar, overload

from greeneio import time as Time
from greeneio._core import _greenlet
from greeneio._core import fiber as Fiber
from greeneio._core.args import bool_arg, callable_arg, int_arg, seconds_arg
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
#: ``restart_workers``: more than RESTART_MAX_DEATHS deaths within
#: RESTART_WINDOW seconds is a crash loop, which fails ``run_server``.
RESTART_MAX_DEATHS = 5
RESTART_WINDOW = 10.0


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
    restart_workers: bool = False,
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
    restart_workers: bool = False,
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
    restart_workers: bool = False,
) -> T:
    """Serve connections on ``listening`` with ``handler(flow, addr)`` until stopped.

    At most ``max_connections`` handlers run at once (default: no limit).
    Never returns unless ``stop`` (a promise) is given: once it resolves, no
    more connections are accepted, the running handlers are waited for (for
    at most ``grace`` seconds, then cancelled), and its value is returned
    (so the type checker sees ``stop``'s type, or ``NoReturn`` without it).
    The listening socket may be closed as soon as ``stop`` has resolved.
    Cancelling the caller closes every connection at once. Handler errors go
    to ``on_error`` (never ``Cancelled``). Each flow is closed when its handler
    ends. ``additional_domains=(env.domain_mgr, n)`` also serves from ``n``
    worker processes (docs/workers.md); a worker that dies fails
    ``run_server`` with an error naming its pid and status, unless
    ``restart_workers=True``: then it is replaced, reported to ``on_error``
    (``RuntimeError("worker 42 killed by SIGKILL, restarting")``), and only
    more than 5 deaths within 10 s fail ``run_server`` (``restart_workers``
    needs ``additional_domains``). ``stats`` (a ``Net.ServerStats``) is kept
    up to date with per-process open and accepted counts.
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
    bool_arg(restart_workers, "Net.run_server", "restart_workers")
    if additional_domains is None:
        if restart_workers:
            raise ValueError(
                "Net.run_server: restart_workers needs additional_domains (there is no worker "
                "to restart)"
            )
        limiter = Semaphore(max_connections) if max_connections is not None else None
        wait = stop.await_ if stop else None
        stopped = stop.is_resolved if stop else None
        if stats is None:
            return serve(listening, handler, on_error, limiter, wait, grace, stopped=stopped)
        counts = LocalCounters(2)
        stats._attach(counts, 1)
        return serve(
            listening, handler, on_error, limiter, wait, grace, (counts, 0, 1), stopped=stopped
        )
    dm, n = _domains_arg(additional_domains)
    make_respawner = _respawner_of(dm) if restart_workers else None
    return _serve_in_domains(
        listening, handler, on_error, max_connections, dm, n, stop, grace, stats, make_respawner
    )


def _respawner_of(dm: DomainManager) -> Callable[[], Respawner]:
    make = getattr(dm, "respawner", None)
    if not callable(make):
        raise TypeError(
            f"Net.run_server: restart_workers needs a domain manager that can replace "
            f"domains (IDomainManager.respawner), not {dm!r}"
        )
    return make  # type: ignore[no-any-return]


class Respawner(Protocol):
    """``IDomainManager.respawner()``: starts replacement domains."""

    def run(self, fn: Callable[[], object], /) -> tuple[str | None, object]:
        """``(None, fn())`` from a new domain, or ``(why, None)`` if it died."""
        ...


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
    make_respawner: Callable[[], Respawner] | None,
) -> T:
    """Eio's run_server with domains: ``n`` more accept loops, each in a domain of
    ``dm``, sharing one connection limit; ``stop`` reaches them through a
    domain-shared event. With ``make_respawner`` (``dm.respawner``), domains
    that die are replaced."""
    with Switch(name="run_server") as sw:
        limiter = dm.semaphore(max_connections, sw) if max_connections is not None else None
        shared_stop = dm.share(stop, sw) if stop is not None else None
        # Per domain: open connections, then accepted ones, then (when workers
        # are restarted) the permits of ``limiter`` it holds.
        counts = dm.counters(3 * (n + 1), sw)
        if stats is not None:
            stats._attach(counts, n + 1)
        track_permits = make_respawner is not None and limiter is not None

        def worker(slot: int) -> None:
            wait = shared_stop.await_ if shared_stop is not None else None
            held = 2 * (n + 1) + slot if track_permits else None
            serve(listening, handler, on_error, limiter, wait, grace, (counts, slot, n + 1), held)

        if make_respawner is None:
            for slot in range(1, n + 1):
                Fiber.fork(dm.run, functools.partial(worker, slot), sw=sw)
        else:
            # Made now, after the shared objects: what a replacement starts with.
            respawner = make_respawner()
            stopping = stop.is_resolved if stop is not None else None
            supervisor = _Supervisor(respawner, counts, n, limiter, stopping, on_error)
            for slot in range(1, n + 1):
                Fiber.fork(supervisor.supervise, slot, functools.partial(worker, slot), sw=sw)
        wait = stop.await_ if stop else None
        stopped = stop.is_resolved if stop else None
        return serve(
            listening,
            handler,
            on_error,
            limiter,
            wait,
            grace,
            (counts, 0, n + 1),
            stopped=stopped,
        )


class _Supervisor:
    """``restart_workers``: one :meth:`supervise` fiber per worker slot.

    A dead worker's shared state belongs to its slot, and nothing else writes
    there (each counter has a single writer, and the replacement starts only
    after the cleanup), so the supervisor may set it right:

    * Permits. A worker takes a byte from the token pipe per connection and
      counts it in its ``held`` counter right after, and uncounts it right
      before putting it back. A killed worker puts nothing back, so the
      supervisor releases ``held`` permits for it. A kill landing between the
      take and the count (or the uncount and the put) loses that one permit:
      the limit can shrink by one then, never grow past ``max_connections``.
    * Open connections: its count goes to 0, or balancing would think the slot
      busy. Its accepted count stays (``ServerStats`` counts per slot).
    """

    def __init__(
        self,
        respawner: Respawner,
        counts: SharedCounters,
        n: int,
        limiter: SharedSemaphore | None,
        stopped: Callable[[], bool] | None,
        on_error: Callable[[BaseException], object],
    ) -> None:
        self.respawner = respawner
        self.counts = counts
        self.n_domains = n + 1
        self.limiter = limiter
        self.stopped = stopped
        self.on_error = on_error
        self.clock = _greenlet.current().sched.clock
        self.deaths: deque[float] = deque()

    def supervise(self, slot: int, fn: Callable[[], None]) -> None:
        while True:
            why, _ = self.respawner.run(fn)
            if why is None:
                return  # it drained after stop
            self._give_back(slot)
            if self.stopped is not None and self.stopped():
                self.on_error(RuntimeError(f"{why} while draining"))
                return  # no new worker once stopping
            now = self.clock.now()
            deaths = self.deaths
            deaths.append(now)
            while deaths[0] <= now - RESTART_WINDOW:
                deaths.popleft()
            if len(deaths) > RESTART_MAX_DEATHS:
                raise RuntimeError(
                    f"workers keep dying: {len(deaths)} deaths in {RESTART_WINDOW:g} s; last: {why}"
                )
            self.on_error(RuntimeError(f"{why}, restarting"))

    def _give_back(self, slot: int) -> None:
        counts, n = self.counts, self.n_domains
        values = counts.values()
        counts.add(slot, -values[slot])
        held = values[2 * n + slot]
        if held and self.limiter is not None:
            counts.add(2 * n + slot, -held)
            for _ in range(held):
                self.limiter.release()


def serve(
    listening: ListeningSocket,
    handler: Handler,
    on_error: Callable[[BaseException], object],
    connections: SharedSemaphore | None,
    wait_stop: Callable[[], T] | None,
    grace: float | None,
    balance: tuple[SharedCounters, int, int] | None = None,
    held: int | None = None,
    stopped: Callable[[], bool] | None = None,
) -> T:
    """One accept loop (in this domain), arguments already checked.

    ``connections`` (None: no limit) has ``acquire``/``release``; ``wait_stop``
    (None: never stop) blocks until the server should stop and returns the
    value to return; ``stopped`` (None: not known here) says whether it would
    return at once. ``balance`` is ``(counters, my_slot, n_domains)`` when
    several domains accept on the same socket (see :func:`_step_back`); the
    counters hold open connections per domain, then accepted ones. ``held``
    (with ``balance`` and ``connections``) is the counter where this domain
    counts the permits it holds, for a supervisor to give back if it dies.
    """
    clock = _greenlet.current().sched.clock
    expired = _GraceExpired(f"run_server: the grace period of {grace}s ran out")
    inner = handler
    take: Callable[[], None] | None = None
    give_back: Callable[[], None] = _nothing
    if connections is not None:
        if held is not None and balance is not None:
            take, give_back = _counted_permits(connections, balance[0], held)
        else:
            take, give_back = connections.acquire, connections.release

        def limited(flow: StreamSocket, addr: Tcp | Unix) -> None:
            try:
                inner_limited(flow, addr)
            finally:
                give_back()

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
        me = _greenlet.current()
        delay = 0.0
        while True:
            if balance is not None and n_domains > 1:
                _step_back(clock, counts, slot, n_domains)
            if take is not None:
                take()
            if me.cc.reason is not None or (stopped is not None and stopped()):
                # Stopping: a permit may have been handed over just before the
                # cancellation, or the socket closed already. Accept no more.
                give_back()
                Fiber.await_cancel()  # now, or once wait_stop has seen the stop
            try:
                _accept_fork_unchecked(listening, inner, sw, on_error)
            except BaseException as e:
                give_back()
                if isinstance(e, Cancelled):
                    raise
                if stopped is not None and stopped():
                    Fiber.await_cancel()  # e.g. EBADF: the socket was closed once stopped
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


def _nothing() -> None:
    pass


def _counted_permits(
    connections: SharedSemaphore, counts: SharedCounters, held: int
) -> tuple[Callable[[], None], Callable[[], None]]:
    """``acquire``/``release`` that keep counter ``held`` equal to the permits this
    domain holds (counted after the take, uncounted before the give-back: a death
    in between loses a permit rather than inventing one)."""

    def take() -> None:
        connections.acquire()
        counts.add(held, 1)

    def give_back() -> None:
        counts.add(held, -1)
        connections.release()

    return take, give_back


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
