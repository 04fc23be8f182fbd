"""The one place public functions check their arguments.

Each helper takes the value, the public function's name as users write it
(``"Net.listen"``) and the argument's name, returns the value (converted
where said), and raises ``TypeError`` (wrong kind) or ``ValueError`` (right
kind, bad value) with a message naming the function, the argument and the
value, e.g. ``Net.listen: backlog must be >= 1, not 0``. Nothing here
imports the rest of greeneio, so every module may use it.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

__all__ = [
    "bool_arg",
    "bufs_arg",
    "callable_arg",
    "instance_arg",
    "int_arg",
    "seconds_arg",
    "writable_buf_arg",
]

T = TypeVar("T")
Buffer = bytes | bytearray | memoryview


def callable_arg(f: object, fn: str, name: str = "fn") -> None:
    """``TypeError`` unless ``f`` is callable."""
    if not callable(f):
        raise TypeError(f"{fn}: {name} must be callable, not {f!r}")


def bool_arg(v: object, fn: str, name: str) -> bool:
    """``v``, which must be ``True`` or ``False``."""
    if not isinstance(v, bool):
        raise TypeError(f"{fn}: {name} must be a bool, not {v!r}")
    return v


def int_arg(v: object, fn: str, name: str, *, min: int | None = None) -> int:
    """``v``, an ``int`` (not a bool) of at least ``min``."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{fn}: {name} must be an int, not {v!r}")
    if min is not None and v < min:
        raise ValueError(f"{fn}: {name} must be >= {min}, not {v}")
    return v


def seconds_arg(v: object, fn: str, name: str, *, min: float | None = None) -> float:
    """``v`` as a float number of seconds (an int or float, not NaN, at least ``min``)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(f"{fn}: {name} must be a number of seconds, not {v!r}")
    s = float(v)
    if math.isnan(s):
        raise ValueError(f"{fn}: {name} must not be NaN")
    if min is not None and s < min:
        raise ValueError(f"{fn}: {name} must be >= {min:g}, not {v}")
    return s


def instance_arg(v: object, cls: type[T], fn: str, name: str, what: str) -> T:
    """``v``, which must be an instance of ``cls`` (described to users as ``what``)."""
    if not isinstance(v, cls):
        raise TypeError(f"{fn}: {name} must be {what}, not {v!r}")
    return v


def writable_buf_arg(buf: object, fn: str, name: str = "buf") -> memoryview:
    """``buf`` as a writable memoryview."""
    if isinstance(buf, str):
        raise TypeError(f"{fn}: {name} must be a writable bytes-like object, not str")
    try:
        view = memoryview(buf)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{fn}: {name} must be a writable bytes-like object, not {buf!r}") from None
    if view.readonly:
        raise TypeError(
            f"{fn}: {name} must be writable (a bytearray or memoryview), not {type(buf).__name__}"
        )
    return view


def bufs_arg(bufs: object, fn: str, name: str = "bufs") -> list[Any]:
    """``bufs`` as a list of bytes-like objects (one bytes-like is accepted too)."""
    if isinstance(bufs, bytes | bytearray | memoryview):
        return [bufs]
    if isinstance(bufs, str):
        raise TypeError(f"{fn}: {name} must be bytes-like or a list of them, not str (encode it)")
    try:
        items: list[Any] = list(bufs)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"{fn}: {name} must be bytes-like or a list of them, not {bufs!r}"
        ) from None
    for b in items:
        if not isinstance(b, bytes | bytearray | memoryview):
            raise TypeError(f"{fn}: every buffer in {name} must be bytes-like, not {b!r}")
    return items
