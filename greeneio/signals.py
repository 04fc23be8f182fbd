"""Process signals (``greeneio.Signal``; Eio leaves them to OCaml's ``Sys``).

``Signal.subscribe(env.signals, signal.SIGTERM, fn, sw=sw)`` calls
``fn(signum)`` in a fiber of ``sw`` each time the signal arrives, in order,
one call at a time, until ``sw`` finishes. ``fn`` may block; its exception
fails ``sw`` (so raising is a way to stop the program). To take Ctrl-C
yourself, start the program with ``greeneio.run(main, handle_sigint=False)``.
"""

from __future__ import annotations

import signal as _signal
from collections.abc import Callable

from greeneio._core import _greenlet
from greeneio._core import fiber as _fiber
from greeneio._core.args import callable_arg, instance_arg
from greeneio._core.switch import Switch
from greeneio.interfaces import ISignals
from greeneio.protocols import Signals

__all__ = ["subscribe"]


def subscribe(signals: Signals, signum: int, fn: Callable[[int], object], *, sw: Switch) -> None:
    """Call ``fn(signum)`` in a fiber of ``sw`` each time ``signum`` arrives.

    Returns at once. The handler is removed when ``sw`` finishes; ``sw`` does
    not wait for signals (the fiber is a daemon), but while the subscription
    lasts the program keeps running even if nothing else is left to wait for.
    Signals that arrive while ``fn`` runs are queued and handled next (the OS
    merges repeats of one signal that is still pending). An exception from
    ``fn`` fails ``sw``. ``ValueError`` for a signal that cannot be handled
    (``SIGKILL``); ``RuntimeError`` outside the main thread.
    """
    if not ISignals.providedBy(signals):
        raise TypeError(f"Signal.subscribe: signals must be env.signals, not {signals!r}")
    if isinstance(signum, bool) or not isinstance(signum, int):
        raise TypeError(f"Signal.subscribe: signum must be a signal number, not {signum!r}")
    if signum not in _signal.valid_signals():
        raise ValueError(f"Signal.subscribe: signum {signum} is not a valid signal")
    callable_arg(fn, "Signal.subscribe")
    instance_arg(sw, Switch, "Signal.subscribe", "sw", "a Switch")
    pending: list[int] = []
    waiting = _greenlet.WaitQueue()

    def arrived(n: int) -> None:  # in the hub: queue it, wake the fiber
        pending.append(n)
        waiting.wake_one()

    def handle() -> None:
        while True:
            while not pending:
                _greenlet.current().cc.check()
                waiting.wait()
            fn(pending.pop(0))

    signals.subscribe(signum, arrived, sw)
    _fiber.fork_daemon(handle, sw=sw)
