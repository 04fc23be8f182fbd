"""Running a main fiber: the part of ``greeneio.run`` that every backend shares.

A backend makes its scheduler, then calls :func:`run_root` with a function
that runs its main loop until the scheduler's ``root_finished`` is called.
The main fiber gets a root cancel context of its own; its result is returned
and its exception raised, with a bare ``Cancelled`` turned back into the
failure that caused it (the user never sees ``Cancelled`` from ``run``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from greeneio._core import _greenlet
from greeneio._core.cancel import CancelContext, Cancelled

T = TypeVar("T")

__all__ = ["Root", "run_root"]


class Root:
    """The main fiber of one run: its context, and a way to cancel it."""

    __slots__ = ("cc", "fiber", "ok", "value")

    def __init__(self, sched: _greenlet.Scheduler, fn: Callable[[], Any]) -> None:
        self.cc = CancelContext(None)
        self.ok = False
        self.value: Any = None

        def body() -> None:
            try:
                self.value = fn()
                self.ok = True
            except BaseException as e:
                self.value = e
            finally:
                sched.root_finished()

        self.fiber = _greenlet.new_root(sched, self.cc, body)

    def cancel(self, exc: BaseException) -> None:
        """Cancel the main fiber with reason ``exc`` (once; later calls do nothing).

        Call it from the scheduler's thread (a hub callback or signal handler).
        """
        if self.cc.reason is None and not self.cc.finished:
            self.cc.cancel(exc)


def run_root(
    sched: _greenlet.Scheduler,
    fn: Callable[[], T],
    main_loop: Callable[[Root], None],
) -> T:
    """Run ``fn()`` as the main fiber of ``sched``; ``main_loop(root)`` must
    start ``root.fiber`` and return once ``sched.root_finished()`` was called."""
    if _greenlet.current_or_none() is not None:
        raise RuntimeError(
            "greeneio: already inside greeneio.run or mock.Backend.run (use Fiber.fork instead)"
        )
    root = Root(sched, fn)
    try:
        main_loop(root)
    finally:
        root.cc.finish()
    if root.ok:
        return root.value  # type: ignore[no-any-return]
    value = root.value
    while isinstance(value, Cancelled) and value.reason is not None:
        value = value.reason
    raise value
