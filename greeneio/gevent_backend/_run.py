"""The gevent backend's runtime: its scheduler, and running a main fiber.

Theory of operation: the scheduler's hub is gevent's hub for the current
thread. Its run queue (the core's :class:`RunQueue`, shared with the mock
backend so the run order is the same) is drained by one gevent loop callback,
posted when the first callback is queued. A drain runs as many callbacks
as were queued when it began (at least :data:`BATCH`; a fork's parent,
queued at the head, may take a turn among them); if more is queued by then, it
continues from a zero-delay timer rather than a new loop callback: gevent
runs callbacks posted during its callback pass in that same pass, so only a
timer makes the loop poll sockets first. Without that, a busy queue (an
accept loop resumed at the head after every fork) would take the whole
listen backlog before any client's data or EOF is seen; and with a fixed
batch, a loop turn that queues more than a batch (a hundred ready
connections, each waking a fiber and cancelling another) would let the
queue, and every wake-up's latency, grow without bound.
Socket and timer watchers switch straight into the fiber they wake;
everything else (wake-ups, forks, yields, cancellation) goes through the queue.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
from gevent.hub import Waiter

from greeneio._core import _greenlet
from greeneio._core.root import Root, run_root
from greeneio.gevent_backend._env import Env, make_env
from greeneio.gevent_backend._threads import in_main_thread
from greeneio.gevent_backend._unix import UnixNet

T = TypeVar("T")

__all__ = ["BATCH", "GeventScheduler", "run_main"]

#: The fewest queued callbacks a drain runs before gevent polls for I/O again
#: (it runs all that were queued when it began; gevent itself looks at the
#: clock every 50 callbacks).
BATCH = 64


class GeventScheduler:
    """The scheduler of real programs: gevent's hub for the current thread."""

    __slots__ = (
        "_done",
        "_later",
        "_posted",
        "_q",
        "_run_callback",
        "clock",
        "hub",
        "launcher",
        "pool",
        "unix",
    )

    def __init__(self, clock: Any) -> None:
        hub = gevent.get_hub()
        self.clock = clock
        self.hub = hub
        self.unix = UnixNet()
        self.pool: list[_greenlet.FiberGreenlet] = []
        self.launcher = _greenlet.make_launcher(hub)
        self._q = _greenlet.RunQueue()
        self._run_callback = hub.loop.run_callback
        self._posted = False
        # Continues a drain after the loop has polled I/O (see the module doc).
        self._later = hub.loop.timer(0.0)
        self._done = Waiter()

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        self._q.push((fn, args))
        if not self._posted:
            self._posted = True
            self._run_callback(self._drain)

    def call_next(self, fn: Callable[..., object], *args: Any) -> None:
        self._q.push_next((fn, args))
        if not self._posted:
            self._posted = True
            self._run_callback(self._drain)

    def _drain(self) -> None:
        try:
            q = self._q
            more = q.run(max(BATCH, len(q)))
        except BaseException:
            self._later.start(self._drain)  # the rest runs next turn; gevent reports this
            raise
        if more:
            self._later.start(self._drain)  # after the loop has polled I/O
        else:
            self._posted = False

    def root_finished(self) -> None:
        self.call_soon(self._done.switch, None)

    def wait_root(self, root: Root) -> None:
        """Start ``root`` and block this (non-fiber) greenlet until it ends."""
        self.call_soon(root.fiber.switch)
        self._done.get()


def run_main(
    main: Callable[[Env], T],
    on_start: Callable[[Callable[[BaseException], None]], None] | None = None,
    handle_sigint: bool = True,
) -> T:
    """Run ``main(env)`` as the main fiber on this thread's gevent hub.

    ``on_start(cancel)`` is called in the hub's thread before ``main`` starts;
    ``cancel(exc)`` may then be called from that thread to cancel the main
    fiber (worker processes use it for SIGTERM). With ``handle_sigint`` (main
    thread only), Ctrl-C cancels the main fiber with ``KeyboardInterrupt``.
    """
    env = make_env(run_main)
    sched = GeventScheduler(env.mono_clock)
    handler = None

    def main_loop(root: Root) -> None:
        nonlocal handler
        if on_start is not None:
            on_start(root.cancel)
        if handle_sigint and in_main_thread():
            handler = gevent.signal_handler(signal.SIGINT, lambda: root.cancel(KeyboardInterrupt()))
        try:
            sched.wait_root(root)
        finally:
            if handler is not None:
                handler.cancel()

    return run_root(sched, lambda: main(env), main_loop)
