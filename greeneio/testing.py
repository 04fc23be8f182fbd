"""Helpers for testing code that uses greeneio: traced lines, transcripts, backends.

Tests here are transcripts, as in Eio's test suite: collect the lines that
``traceln`` prints, then assert the list. The pytest plugin
(``greeneio.pytest_plugin``, loaded automatically once greeneio is installed)
wraps these helpers as the fixtures ``traced``, ``transcript``,
``greeneio_backend`` and ``run_on_backend``; they work without pytest too::

    from greeneio import Fiber, traceln
    from greeneio.testing import transcript

    out = transcript(lambda: Fiber.both(lambda: traceln("a"), lambda: traceln("b")))
    assert out == ["a", "b", "-> None"]

A backend is named by a string: ``"mock"`` (``greeneio.mock``: deterministic
scheduling, virtual time, ``mock.Deadlock`` instead of a hang) or ``"gevent"``
(``greeneio.run``: gevent's hub, real clocks and sockets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import greeneio
from greeneio._core.exn import is_multiple
from greeneio._core.trace import capture
from greeneio.mock import Backend as MockBackend

T = TypeVar("T")

__all__ = ["BACKENDS", "capture_traces", "describe_exc", "run", "transcript"]

#: The backends a scenario can run on, in the order the pytest plugin tries them.
BACKENDS: tuple[str, ...] = ("mock", "gevent")


@contextmanager
def capture_traces() -> Iterator[list[str]]:
    """Collect the lines ``traceln`` prints while the block runs, on any backend.

    Yields the list, which grows as lines are traced (a multi-line trace gives
    one entry per line). Traced lines go to this list instead of stderr; when
    blocks are nested, the innermost one gets them. Nothing is printed.
    """
    with capture() as lines:
        yield lines


def describe_exc(e: BaseException) -> str:
    """A one-line description of ``e``, as Eio's toplevel prints it.

    ``Type: message``; an ``ExceptionGroup`` (Eio's ``Exn.Multiple``) gives
    ``Multiple exceptions: [Type: message; Type: message]``.
    """
    if isinstance(e, BaseExceptionGroup) and is_multiple(e):
        parts = "; ".join(describe_exc(x) for x in e.exceptions)
        return f"Multiple exceptions: [{parts}]"
    return f"{type(e).__name__}: {e}"


def _backend_arg(backend: object, fn: str) -> str:
    if isinstance(backend, str) and backend in BACKENDS:
        return backend
    raise ValueError(f"greeneio.testing.{fn}: backend must be 'mock' or 'gevent', not {backend!r}")


def run(backend: str, fn: Callable[..., T], *, full: bool = False) -> T:
    """Run ``fn()`` as the main fiber on ``backend`` and return its result.

    ``"mock"`` runs it in ``greeneio.mock.Backend.run``; ``"gevent"`` in
    ``greeneio.run``. With ``full=True``, ``fn`` receives the backend's
    ``env`` (the mock's has a mock ``clock`` and ``mono_clock``; gevent's is
    ``greeneio.run``'s). ``fn``'s exception is raised as itself (never a bare
    ``Cancelled``); on the mock, a main fiber that can never wake raises
    ``mock.Deadlock``. ``ValueError`` for another backend name.
    """
    which = _backend_arg(backend, "run")
    if not callable(fn):
        raise TypeError(f"greeneio.testing.run: fn must be callable, not {fn!r}")
    if which == "mock":
        return MockBackend.run_full(fn) if full else MockBackend.run(fn)
    if full:
        return greeneio.run(fn)
    return greeneio.run(lambda _env: fn())


def transcript(fn: Callable[..., Any], *, full: bool = False, backend: str = "mock") -> list[str]:
    """Run ``fn`` with :func:`run` and return what it traced, then its outcome.

    The list holds every line ``traceln`` printed while ``fn`` ran, followed by
    ``-> repr(result)`` if it returned, or by ``Exception: `` and
    :func:`describe_exc` of what it raised (split into lines if that has
    several). Nothing is raised, except ``ValueError`` for an unknown backend.
    ``full=True`` calls ``fn(env)``; ``backend`` defaults to the mock.
    """
    which = _backend_arg(backend, "transcript")
    with capture() as lines:
        try:
            result = run(which, fn, full=full)
        except BaseException as e:
            lines.extend(("Exception: " + describe_exc(e)).split("\n"))
        else:
            lines.append(f"-> {result!r}")
    return list(lines)
