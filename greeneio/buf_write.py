"""Buffered writing (Eio's ``Buf_write``).

A :class:`Writer` collects small writes in a buffer and writes them to the
sink in large pieces: when the buffer reaches ``initial_size``, on
:func:`flush`, on :func:`close`, and when :func:`with_flow`'s function returns
or raises. Writing to the sink blocks the calling fiber (and is cancellable).

As in Eio, every operation is both a method and a module function taking the
writer first (``Buf_write.string(w, "x")`` is ``w.string("x")``): ``string``,
``bytes``, ``char``, ``uint8``, ``printf``, ``flush``, ``close``, ``abort``,
``buffered``; the integers are module values by byte order,
``Buf_write.BE.uint16(w, 0x1234)`` (and ``uint32``, ``uint48``, ``uint64``,
``float``, ``double``; likewise ``LE``). :func:`create` and :func:`with_flow`
make writers. A write after ``close`` or ``abort`` raises ``RuntimeError``;
a bad argument raises ``TypeError``/``ValueError`` naming it.
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Callable
from typing import Literal, TypeVar

from greeneio._core.cancel import Cancelled
from greeneio._core.exn import combine
from greeneio._flows import write_all
from greeneio.interfaces import ISink
from greeneio.protocols import Sink

T = TypeVar("T")

_Buffer = builtins.bytes | bytearray | memoryview

__all__ = [
    "Writer",
    "create",
    "with_flow",
    "string",
    "bytes",
    "char",
    "uint8",
    "BE",
    "LE",
    "printf",
    "flush",
    "close",
    "abort",
    "buffered",
]


def _int_arg(v: object, fn: str, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"Buf_write.{fn}: {name} must be an int, not {v!r}")
    return v


def _bytes_arg(b: object, fn: str, name: str) -> _Buffer:
    if isinstance(b, builtins.bytes | bytearray):
        return b
    if isinstance(b, memoryview):
        return b if b.ndim == 1 and b.itemsize == 1 else b.cast("B")
    raise TypeError(f"Buf_write.{fn}: {name} must be bytes-like, not {b!r}")


def _span(data: _Buffer, off: int, len_: int | None, fn: str) -> _Buffer:
    """``data[off:off+len_]``, checked like Eio's ``?off ?len``."""
    if len_ is None and type(off) is int and off == 0:
        return data
    n = builtins.len(data)
    off = _int_arg(off, fn, "off")
    if not 0 <= off <= n:
        raise ValueError(f"Buf_write.{fn}: off must be in 0..{n}, not {off}")
    if len_ is None:
        return data[off:]
    len_ = _int_arg(len_, fn, "len")
    if len_ < 0 or off + len_ > n:
        raise ValueError(
            f"Buf_write.{fn}: len must be in 0..{n - off} (off={off}, {n} bytes), not {len_}"
        )
    return data[off : off + len_]


class Writer:
    """A buffered writer over a sink. Not safe to share between fibers."""

    __slots__ = ("_buf", "_closed", "_flow", "_limit")

    def __init__(self, flow: Sink, initial_size: int = 4096) -> None:
        self._flow = flow
        self._limit = initial_size
        self._buf = bytearray()
        self._closed = False

    def _add(self, data: _Buffer, fn: str) -> None:
        if self._closed:
            raise RuntimeError(f"Buf_write.{fn}: the writer is closed")
        self._buf += data
        if builtins.len(self._buf) >= self._limit:
            self.flush()

    def string(self, s: str | builtins.bytes, off: int = 0, len: int | None = None) -> None:
        """Add ``s`` (UTF-8 if ``str``); ``off``/``len`` pick bytes of that encoding."""
        data = s.encode() if isinstance(s, str) else _bytes_arg(s, "string", "s")
        self._add(_span(data, off, len, "string"), "string")

    def bytes(self, b: _Buffer, off: int = 0, len: int | None = None) -> None:
        """Add the bytes-like ``b`` (or ``len`` of its bytes from ``off``)."""
        self._add(_span(_bytes_arg(b, "bytes", "b"), off, len, "bytes"), "bytes")

    def char(self, c: str | builtins.bytes) -> None:
        """Add one byte: ``c`` is one ASCII character or a one-byte ``bytes``."""
        if isinstance(c, str):
            if builtins.len(c) != 1 or not c.isascii():
                raise ValueError(f"Buf_write.char: c must be one ASCII character, not {c!r}")
            data = c.encode("ascii")
        elif isinstance(c, builtins.bytes | bytearray):
            if builtins.len(c) != 1:
                raise ValueError(f"Buf_write.char: c must be one byte, not {c!r}")
            data = c
        else:
            hint = " (use uint8 for an int)" if isinstance(c, int) else ""
            raise TypeError(
                f"Buf_write.char: c must be a str or bytes of length 1{hint}, not {c!r}"
            )
        self._add(data, "char")

    def uint8(self, v: int) -> None:
        """Add ``v`` (0-255) as one byte."""
        if not 0 <= _int_arg(v, "uint8", "v") <= 255:
            raise ValueError(f"Buf_write.uint8: v must be 0-255, not {v}")
        self._add(builtins.bytes((v,)), "uint8")

    def printf(self, fmt: str, *args: object) -> None:
        """Add ``fmt % args``, UTF-8 encoded (``%%`` is a ``%``, as in Eio's ``printf``)."""
        if not isinstance(fmt, str):
            raise TypeError(f"Buf_write.printf: fmt must be a str, not {fmt!r}")
        try:
            text = fmt % args
        except TypeError as e:
            raise TypeError(f"Buf_write.printf: fmt {fmt!r} does not fit args {args!r}: {e}") from e
        except (ValueError, KeyError) as e:
            raise ValueError(
                f"Buf_write.printf: fmt {fmt!r} does not fit args {args!r}: {e}"
            ) from e
        self._add(text.encode(), "printf")

    def flush(self) -> None:
        """Write everything buffered to the sink; return once it is all written.

        Nothing to do on a closed writer. Raises what the sink raises (then the
        data being written is lost).
        """
        if self._buf:
            data = builtins.bytes(self._buf)
            self._buf.clear()
            write_all(self._flow, [data])

    def close(self) -> None:
        """Flush, then refuse further writes. Closing twice does nothing.

        The sink itself stays open: it belongs to the caller.
        """
        if not self._closed:
            self._closed = True
            self.flush()

    def abort(self) -> None:
        """Like :meth:`close`, but discard what is buffered instead of writing it."""
        self._closed = True
        self._buf.clear()

    def buffered(self) -> int:
        """How many bytes are buffered, not yet written to the sink."""
        return builtins.len(self._buf)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{builtins.len(self._buf)} buffered"
        return f"<Buf_write {state}>"


def _writer_arg(w: object, fn: str) -> Writer:
    if not isinstance(w, Writer):
        raise TypeError(f"Buf_write.{fn}: w must be a Buf_write writer, not {w!r}")
    return w


# -- the operations as module functions (the writer first, as in Eio) -----------------


def string(w: Writer, s: str | builtins.bytes, off: int = 0, len: int | None = None) -> None:
    """``w.string(s, off, len)``."""
    _writer_arg(w, "string").string(s, off, len)


def bytes(w: Writer, b: _Buffer, off: int = 0, len: int | None = None) -> None:
    """``w.bytes(b, off, len)``."""
    _writer_arg(w, "bytes").bytes(b, off, len)


def char(w: Writer, c: str | builtins.bytes) -> None:
    """``w.char(c)``."""
    _writer_arg(w, "char").char(c)


def uint8(w: Writer, v: int) -> None:
    """``w.uint8(v)``."""
    _writer_arg(w, "uint8").uint8(v)


def printf(w: Writer, fmt: str, *args: object) -> None:
    """``w.printf(fmt, *args)``: add ``fmt % args``, UTF-8 encoded."""
    _writer_arg(w, "printf").printf(fmt, *args)


def flush(w: Writer) -> None:
    """``w.flush()``."""
    _writer_arg(w, "flush").flush()


def close(w: Writer) -> None:
    """``w.close()``."""
    _writer_arg(w, "close").close()


def abort(w: Writer) -> None:
    """``w.abort()``."""
    _writer_arg(w, "abort").abort()


def buffered(w: Writer) -> int:
    """``w.buffered()``."""
    return _writer_arg(w, "buffered").buffered()


class _Ints:
    """Fixed-size integers and floats of one byte order, as writer functions."""

    def __init__(self, order: str, name: str) -> None:
        byteorder: Literal["big", "little"] = "big" if order == ">" else "little"

        def integer(bits: int) -> Callable[[Writer, int], None]:
            fn = f"{name}.uint{bits}"
            top = (1 << bits) - 1

            def write(w: Writer, v: int) -> None:
                w = _writer_arg(w, fn)
                if not 0 <= _int_arg(v, fn, "v") <= top:
                    raise ValueError(f"Buf_write.{fn}: v must be 0-{top}, not {v}")
                w._add(v.to_bytes(bits // 8, byteorder), fn)

            write.__qualname__ = write.__name__ = f"uint{bits}"
            return write

        def real(code: str, kind: str) -> Callable[[Writer, float], None]:
            fn = f"{name}.{kind}"
            pack = struct.Struct(order + code).pack

            def write(w: Writer, v: float) -> None:
                w = _writer_arg(w, fn)
                if isinstance(v, bool) or not isinstance(v, int | builtins.float):
                    raise TypeError(f"Buf_write.{fn}: v must be a float, not {v!r}")
                try:
                    data = pack(v)
                except OverflowError:
                    raise ValueError(
                        f"Buf_write.{fn}: v is too large for a {kind}: {v!r}"
                    ) from None
                w._add(data, fn)

            write.__qualname__ = write.__name__ = kind
            return write

        self.uint16 = integer(16)
        self.uint32 = integer(32)
        self.uint48 = integer(48)
        self.uint64 = integer(64)
        self.float = real("f", "float")
        self.double = real("d", "double")


#: Big-endian writers: ``Buf_write.BE.uint16(w, 0x1234)`` adds ``b"\x12\x34"``.
BE = _Ints(">", "BE")
#: Little-endian writers.
LE = _Ints("<", "LE")


# -- making writers ----------------------------------------------------------------


def create(flow: Sink, initial_size: int = 4096) -> Writer:
    """A writer to the sink ``flow``; ``flush``/``close`` it to write out the rest.

    The writer does not own ``flow``: closing the writer leaves the flow open.
    """
    return _create(flow, initial_size, "create")


def _create(flow: object, initial_size: int, fn: str) -> Writer:
    if not ISink.providedBy(flow):
        raise TypeError(f"Buf_write.{fn}: flow must be a sink (provide ISink), not {flow!r}")
    if _int_arg(initial_size, fn, "initial_size") < 1:
        raise ValueError(f"Buf_write.{fn}: initial_size must be an int >= 1, not {initial_size}")
    return Writer(flow, initial_size)


def with_flow(flow: Sink, fn: Callable[[Writer], T], initial_size: int = 4096) -> T:
    """Run ``fn(w)`` with a writer to ``flow`` and return its value.

    What ``fn`` wrote is flushed when it returns, and also when it raises
    (then its exception is re-raised, as in Eio); the writer is closed either
    way, the flow is left open. If that last flush fails too, both failures
    are raised together as a switch would (``Exn.combine``: an
    ``ExceptionGroup``); a cancellation while flushing leaves ``fn``'s
    exception as it is.
    """
    if not callable(fn):
        raise TypeError(f"Buf_write.with_flow: fn must be callable, not {fn!r}")
    w = _create(flow, initial_size, "with_flow")
    try:
        result = fn(w)
    except BaseException as e:
        failure = _close_after(w, e)
        if failure is e:
            raise
        raise failure from None
    w.close()
    return result


def _close_after(w: Writer, failure: BaseException) -> BaseException:
    """Close ``w`` after ``failure``; return what to raise."""
    try:
        w.close()
    except Cancelled:
        return failure  # cancelled while flushing: the first failure stands
    except BaseException as flush_error:
        return combine(failure, flush_error)
    return failure
