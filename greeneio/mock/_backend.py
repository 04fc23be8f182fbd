"""A deterministic backend: one run queue, virtual time, deadlock detection.

Theory of operation: the hub greenlet pops callbacks from a FIFO and runs
them. When the queue is empty and the main fiber has not finished, the mock
clock (if any) jumps to its next timer; if there is none, nothing can ever
wake the main fiber, so :class:`Deadlock` is raised instead of hanging.
The order of events is therefore a pure function of the program.
Only greeneio waits work here: a real gevent call would block the test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from greenlet import getcurrent
from greenlet import greenlet as RawGreenlet

from greeneio._core import _greenlet
from greeneio._core.args import callable_arg
from greeneio._core.root import Root, run_root
from greeneio.mock._clock import Clock

T = TypeVar("T")

__all__ = ["Backend", "Deadlock", "MockEnv"]


class Deadlock(RuntimeError):
    """Every fiber is blocked and nothing (no timer) can ever wake the main one."""


class MockScheduler:
    """The core's run queue, processed one callback at a time by a hub greenlet
    of its own; when the queue is empty the clock jumps to its next timer."""

    #: No OS sockets or files on the mock backend.
    unix = None

    def __init__(self, clock: Clock | None) -> None:
        self._q = _greenlet.RunQueue()
        # Library timers (run_server's grace, back-off) need a clock even in Backend.run.
        self.clock = clock if clock is not None else Clock()
        self.finished = False
        self.hub = RawGreenlet(self._loop, getcurrent())
        self.pool: list[Any] = []  # parked fiber greenlets (see _greenlet.spawn)
        self.launcher = _greenlet.make_launcher(self.hub)

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        self._q.push((fn, args))

    def call_next(self, fn: Callable[..., object], *args: Any) -> None:
        self._q.push_next((fn, args))

    def root_finished(self) -> None:
        self.finished = True

    def _loop(self) -> None:
        q = self._q
        while not self.finished:
            if len(q):
                q.run(1)
            elif not self.clock.advance_to_next():
                raise Deadlock(
                    "Deadlock detected: no events scheduled but main function hasn't returned"
                )


class MockEnv:
    """The ``env`` of ``Backend.run_full``: a mock clock as both ``clock`` and ``mono_clock``."""

    __slots__ = ("clock", "mono_clock")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.mono_clock = clock

    def __repr__(self) -> str:
        return "<mock env>"


def _run_main(fn: Callable[[], T], clock: Clock | None) -> T:
    sched = MockScheduler(clock)

    def main_loop(root: Root) -> None:
        sched.call_soon(root.fiber.switch)
        sched.hub.switch()

    return run_root(sched, fn, main_loop)


class Backend:
    """Eio_mock.Backend: run code deterministically, without real I/O."""

    @staticmethod
    def run(fn: Callable[[], T]) -> T:
        """Run ``fn()`` as the main fiber and return its result.

        Raises :class:`Deadlock` if every fiber blocks with nothing to wake them.
        """
        callable_arg(fn, "mock.Backend.run")
        return _run_main(fn, None)

    @staticmethod
    def run_full(fn: Callable[[MockEnv], T]) -> T:
        """Run ``fn(env)``; ``env.clock`` is a mock clock that jumps to the next
        timer whenever every fiber is blocked (tracing ``mock time is now T``)."""
        callable_arg(fn, "mock.Backend.run_full")
        clock = Clock()
        env = MockEnv(clock)
        return _run_main(lambda: fn(env), clock)
