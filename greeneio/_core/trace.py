"""``traceln``: one line of diagnostic output, captured by tests.

Lines go to every active sink (innermost last), or to stderr when there is
none. The mock backend's domains add a ``[N] `` prefix through
:func:`prefixed`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["capture", "traceln"]

_sinks: list[Callable[[str], None]] = []
_prefix: list[str | Callable[[], str]] = [""]


def traceln(fmt: object, *args: object) -> None:
    """Print one line (``fmt % args`` when args are given) to the trace output.

    Never blocks on a fiber switch: output goes straight to the sink or stderr.
    """
    line = (str(fmt) % args) if args else str(fmt)
    prefix = _prefix[-1]
    line = (prefix if isinstance(prefix, str) else prefix()) + line
    if _sinks:
        _sinks[-1](line)
    else:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


@contextmanager
def capture() -> Iterator[list[str]]:
    """Collect traced lines into a list while the block runs (for tests).

    A multi-line trace gives one entry per line.
    """
    lines: list[str] = []

    def sink(text: str) -> None:
        lines.extend(text.split("\n"))

    _sinks.append(sink)
    try:
        yield lines
    finally:
        _sinks.remove(sink)


@contextmanager
def prefixed(prefix: str | Callable[[], str]) -> Iterator[None]:
    """Prefix every traced line with ``prefix`` (or ``prefix()``) while the block runs."""
    _prefix.append(prefix)
    try:
        yield
    finally:
        _prefix.pop()
