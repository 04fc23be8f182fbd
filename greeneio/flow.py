"""Byte streams (Eio's ``Flow``): reading, writing, copying, closing.

A source provides ``ISource``, a sink ``ISink`` (see ``greeneio.interfaces``).
Buffers are bytes-like objects; ``copy_string`` encodes ``str`` as UTF-8.
Every blocking function here is cancellable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from zope.interface import implementer

from greeneio._core import _greenlet
from greeneio._core.args import bufs_arg, writable_buf_arg
from greeneio._flows import Buffer, copy_via_buffer, write_all
from greeneio.interfaces import IClose, IShutdown, ISink, ISource
from greeneio.protocols import Close, Shutdown, Sink, Source

__all__ = [
    "buffer_sink",
    "close",
    "copy",
    "copy_string",
    "cstruct_source",
    "null",
    "read_all",
    "read_exact",
    "shutdown",
    "single_read",
    "single_write",
    "string_source",
    "write",
]

_SHUTDOWN_CMDS = ("send", "receive", "all")


# Classes whose instances all provide ISource / ISink: checked once, then a set
# lookup (these checks are on every read and write).
_SOURCE_CLASSES: set[type] = set()
_SINK_CLASSES: set[type] = set()


def _source_arg(src: object, fn: str) -> Any:
    cls = type(src)
    if cls in _SOURCE_CLASSES:
        return src
    if not ISource.providedBy(src):
        raise TypeError(f"Flow.{fn}: src must be a source (provide ISource), not {src!r}")
    if ISource.implementedBy(cls):
        _SOURCE_CLASSES.add(cls)
    return src


def _sink_arg(dst: object, fn: str) -> Any:
    cls = type(dst)
    if cls in _SINK_CLASSES:
        return dst
    if not ISink.providedBy(dst):
        raise TypeError(f"Flow.{fn}: dst must be a sink (provide ISink), not {dst!r}")
    if ISink.implementedBy(cls):
        _SINK_CLASSES.add(cls)
    return dst


def single_read(src: Source, buf: Buffer) -> int:
    """Read at least one byte into ``buf``; return the count. ``EOFError`` at end.

    Blocks until data is available; cancellable.
    """
    src = _source_arg(src, "single_read")
    if type(buf) is bytearray and buf:  # the common cases, checked cheaply
        view = memoryview(buf)
    elif type(buf) is memoryview and not buf.readonly and buf.nbytes:
        view = buf
    else:
        view = writable_buf_arg(buf, "Flow.single_read")
        if len(view) == 0:
            raise ValueError("Flow.single_read: buf must not be empty")
    _greenlet.current().cc.check()
    n: int = src.single_read(view)
    return n


def read_exact(src: Source, buf: Buffer) -> None:
    """Fill ``buf`` completely. ``EOFError`` if the stream ends first."""
    src = _source_arg(src, "read_exact")
    view = writable_buf_arg(buf, "Flow.read_exact")
    cc = _greenlet.current().cc
    got = 0
    while got < len(view):
        cc.check()
        got += src.single_read(view[got:])


def read_all(src: Source) -> bytes:
    """Everything ``src`` produces until its end, as one ``bytes``."""
    src = _source_arg(src, "read_all")
    out = bytearray()
    copy_via_buffer(src, _BufferSink(out))
    return bytes(out)


def single_write(dst: Sink, bufs: Sequence[Buffer] | Buffer) -> int:
    """Write some prefix of ``bufs``; return the number of bytes written."""
    dst = _sink_arg(dst, "single_write")
    items = bufs_arg(bufs, "Flow.single_write")
    _greenlet.current().cc.check()
    n: int = dst.single_write(items)
    return n


def write(dst: Sink, bufs: Sequence[Buffer] | Buffer) -> None:
    """Write all of ``bufs`` (a bytes-like object or a list of them)."""
    dst = _sink_arg(dst, "write")
    if type(bufs) is list and len(bufs) == 1 and type(bufs[0]) is bytes:
        items: list[Buffer] = bufs  # the common case, checked cheaply
    else:
        items = bufs_arg(bufs, "Flow.write")
    write_all(dst, items)


def copy(src: Source, dst: Sink) -> None:
    """Copy everything from ``src`` to ``dst`` until ``src`` ends.

    The sink chooses how (``sendfile``/``splice`` between sockets and files
    where it can). Does not close either side.
    """
    src = _source_arg(src, "copy")
    dst = _sink_arg(dst, "copy")
    _greenlet.current().cc.check()
    dst.copy(src)


def copy_string(s: str | bytes, dst: Sink) -> None:
    """Write the string ``s`` (UTF-8 encoded if ``str``) to ``dst``."""
    dst = _sink_arg(dst, "copy_string")
    if isinstance(s, str):
        data = s.encode()
    elif isinstance(s, bytes | bytearray | memoryview):
        data = bytes(s)
    else:
        raise TypeError(f"Flow.copy_string: s must be str or bytes, not {s!r}")
    write_all(dst, [data])


def shutdown(flow: Shutdown, cmd: str) -> None:
    """Close one direction of ``flow``: ``"send"``, ``"receive"`` or ``"all"``."""
    if cmd not in _SHUTDOWN_CMDS:
        raise ValueError(f"Flow.shutdown: cmd must be 'send', 'receive' or 'all', not {cmd!r}")
    if not IShutdown.providedBy(flow):
        raise TypeError(f"Flow.shutdown: flow must provide IShutdown, not {flow!r}")
    flow.shutdown(cmd)


def close(x: Close) -> None:
    """Close ``x`` (anything with ``close()``). Closing twice does nothing."""
    if not (IClose.providedBy(x) or callable(getattr(x, "close", None))):
        raise TypeError(f"Flow.close: x must have a close() method, not {x!r}")
    x.close()


# -- in-memory flows ----------------------------------------------------------


@implementer(ISource)
class _BufsSource:
    """A source that yields the given buffers, then end of stream."""

    __slots__ = ("_bufs", "_off")

    def __init__(self, bufs: list[bytes]) -> None:
        self._bufs = [b for b in bufs if b]
        self._off = 0

    def single_read(self, buf: memoryview) -> int:
        if not self._bufs:
            raise EOFError
        data = self._bufs[0]
        n = min(len(buf), len(data) - self._off)
        buf[:n] = data[self._off : self._off + n]
        self._off += n
        if self._off == len(data):
            self._bufs.pop(0)
            self._off = 0
        return n

    def __repr__(self) -> str:
        return f"<Flow source, {sum(map(len, self._bufs)) - self._off} bytes left>"


def string_source(s: str | bytes) -> Source:
    """A source that produces ``s`` (UTF-8 encoded if ``str``), then ends."""
    if isinstance(s, str):
        return _BufsSource([s.encode()])
    if isinstance(s, bytes | bytearray | memoryview):
        return _BufsSource([bytes(s)])
    raise TypeError(f"Flow.string_source: s must be str or bytes, not {s!r}")


def cstruct_source(bufs: Iterable[Buffer]) -> Source:
    """A source that produces each buffer of ``bufs`` in turn, then ends."""
    return _BufsSource([bytes(b) for b in bufs_arg(bufs, "Flow.cstruct_source")])


@implementer(ISink)
class _BufferSink:
    """A sink that appends everything to a ``bytearray``."""

    __slots__ = ("buffer",)

    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer

    def single_write(self, bufs: list[Buffer]) -> int:
        n = 0
        for b in bufs:
            self.buffer += b
            n += len(b)
        return n

    def copy(self, src: Any) -> None:
        copy_via_buffer(src, self)


def buffer_sink(buffer: bytearray) -> Sink:
    """A sink that appends what is written to ``buffer``."""
    if not isinstance(buffer, bytearray):
        raise TypeError(f"Flow.buffer_sink: buffer must be a bytearray, not {buffer!r}")
    return _BufferSink(buffer)


@implementer(ISource, ISink, IClose)
class _Null:
    """Discards what is written; reading gives end of stream at once."""

    def single_read(self, buf: memoryview) -> int:
        raise EOFError

    def single_write(self, bufs: list[Buffer]) -> int:
        return sum(len(b) for b in bufs)

    def copy(self, src: Any) -> None:
        copy_via_buffer(src, self)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "Flow.null"


#: A flow that discards writes and is always at end of stream.
null = _Null()
