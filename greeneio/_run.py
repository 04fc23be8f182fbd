"""``greeneio.run``: the entry point. The runtime itself belongs to the
backend (``gevent_backend/_run.py``), loaded when ``run`` is first called."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from greeneio._core.args import bool_arg, callable_arg
from greeneio.protocols import Env

T = TypeVar("T")

__all__ = ["patch_all", "run"]


def run(main: Callable[[Env], T], *, handle_sigint: bool = True) -> T:
    """Run ``main(env)`` in a new fiber on the gevent hub and return its result.

    ``env`` (a ``greeneio.protocols.Env``) has ``net``, ``clock``, ``mono_clock``,
    ``stdin``, ``stdout``, ``stderr``, ``domain_mgr`` and ``signals``.

    Blocks the caller until ``main`` returns. Ctrl-C (SIGINT, main thread only)
    cancels the main fiber: its switches release their resources, then
    ``KeyboardInterrupt`` is raised here; ``handle_sigint=False`` leaves SIGINT
    to the program (see ``Signal.subscribe``). ``main``'s own exception is
    raised as itself; a bare ``Cancelled`` never leaves ``run``.
    ``RuntimeError`` if called inside a run.
    """
    callable_arg(main, "greeneio.run", "main")
    bool_arg(handle_sigint, "greeneio.run", "handle_sigint")
    from greeneio.gevent_backend._run import run_main

    return run_main(main, handle_sigint=handle_sigint)


def patch_all() -> None:
    """Make blocking stdlib calls cooperative (gevent's ``monkey.patch_all``),
    for legacy code; call it before importing that code (``greeneio.compat``)."""
    from greeneio.gevent_backend._patch import patch_all as patch

    patch()
