"""Buffered writing (Eio's ``Buf_write``).

A :class:`Writer` collects small writes in a buffer and writes them to the
sink in large pieces: when the buffer passes ``initial_size``, on
:meth:`Writer.flush`, and when :func:`with_flow` returns. Writing to the sink
blocks the calling fiber (and is cancellable).
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Callable
from typing import Any, TypeVar

from greeneio import flow as _flow
from greeneio.interfaces import ISink

T = TypeVar("T")

__all__ = ["BE", "LE", "Writer", "create", "with_flow"]


class Writer:
    """A buffered writer over a sink. Not safe to share between fibers."""

    __slots__ = ("_buf", "_closed", "_flow", "_limit")

    def __init__(self, flow: Any, initial_size: int = 4096) -> None:
        self._flow = flow
        self._limit = initial_size
        self._buf = bytearray()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("Buf_write: writer is closed")

    def _added(self) -> None:
        if len(self._buf) >= self._limit:
            self.flush()

    def string(self, s: str | bytes, off: int = 0, len: int | None = None) -> None:
        """Add ``s[off:off+len]`` (UTF-8 if ``str``)."""
        self._check_open()
        data = s.encode() if isinstance(s, str) else s
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"Buf_write.string: s must be str or bytes, not {s!r}")
        end = None if len is None else off + len
        self._buf += data[off:end]
        self._added()

    def bytes(self, b: bytes | bytearray | memoryview) -> None:
        """Add the bytes-like ``b``."""
        self._check_open()
        if not isinstance(b, bytes | bytearray | memoryview):
            raise TypeError(f"Buf_write.bytes: b must be bytes-like, not {b!r}")
        self._buf += b
        self._added()

    def char(self, c: builtins.bytes | str) -> None:
        """Add one byte."""
        if isinstance(c, str):
            c = c.encode("latin-1")
        if not isinstance(c, builtins.bytes) or builtins.len(c) != 1:
            raise TypeError(f"Buf_write.char: c must be one byte, not {c!r}")
        self.bytes(c)

    def uint8(self, v: int) -> None:
        """Add ``v`` (0-255) as one byte."""
        if not 0 <= v <= 255:
            raise ValueError(f"Buf_write.uint8: v must be 0-255, not {v}")
        self.bytes(bytes((v,)))

    def flush(self) -> None:
        """Write everything buffered to the sink; blocks until done."""
        if self._buf:
            data = bytes(self._buf)
            self._buf.clear()
            _flow.write_all(self._flow, [data])

    def close(self) -> None:
        """Flush, then refuse further writes."""
        if not self._closed:
            self.flush()
            self._closed = True

    def buffered(self) -> int:
        return builtins.len(self._buf)


class _Ints:
    def __init__(self, order: str) -> None:
        def writer(code: str) -> Callable[[Writer, Any], None]:
            fmt = struct.Struct(order + code)
            return lambda w, v: w.bytes(fmt.pack(v))

        self.uint16 = writer("H")
        self.uint32 = writer("I")
        self.uint64 = writer("Q")
        self.float = writer("f")
        self.double = writer("d")


#: ``Buf_write.BE.uint16(w, 0x1234)`` ...
BE = _Ints(">")
LE = _Ints("<")


def create(flow: Any, initial_size: int = 4096) -> Writer:
    """A writer to the sink ``flow``; call ``flush``/``close`` to write out the rest."""
    if not ISink.providedBy(flow):
        raise TypeError(f"Buf_write: flow must be a sink (provide ISink), not {flow!r}")
    if isinstance(initial_size, bool) or not isinstance(initial_size, int) or initial_size < 1:
        raise ValueError(f"Buf_write: initial_size must be an int >= 1, not {initial_size!r}")
    return Writer(flow, initial_size)


def with_flow(flow: Any, fn: Callable[[Writer], T], initial_size: int = 4096) -> T:
    """Run ``fn(w)`` with a writer to ``flow``; flush what is left when it returns.

    If ``fn`` raises, the buffered data is discarded and the error propagates.
    """
    w = create(flow, initial_size)
    result = fn(w)
    w.close()
    return result
