"""The link between an executor pool and one of its workers: frames of a
kind, a job id (or pid) and a payload, over a Unix socket pair between
processes (pickled) or over a pair of in-memory queues between the domains
of one process (values as they are). See ``greeneio.executor_pool``."""

from __future__ import annotations

import pickle
import struct
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from greeneio import flow as Flow
from greeneio._core.semaphore import Semaphore
from greeneio._core.switch import Switch
from greeneio.net._unix import socketpair_stream
from greeneio.protocols import StreamSocket

__all__ = [
    "AS_IS",
    "CANCEL",
    "ERR",
    "GONE",
    "HELLO",
    "JOB",
    "OK",
    "PICKLED",
    "Codec",
    "End",
    "Frame",
    "LocalEnd",
    "Queue",
    "SocketEnd",
    "make_link",
]

T = TypeVar("T")

# Frame kinds. To a worker: a job, a cancellation. From a worker: its hello
# (the number is its pid), a job's result, its exception, "cancelled as asked".
JOB, CANCEL, HELLO, OK, ERR, GONE = range(6)
_HEADER = struct.Struct("!BQQ")  # kind, job id (or pid), payload length
Frame = tuple[int, int, Any]


class Queue(Generic[T]):
    """An unbounded FIFO queue between the fibers of one process.

    ``put`` never blocks; ``take`` waits while it is empty (first come, first
    served; a cancelled ``take`` takes nothing)."""

    __slots__ = ("_items", "_ready")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._ready = Semaphore(0)  # one permit per item

    def put(self, item: T) -> None:
        self._items.append(item)
        self._ready.release()

    def take(self) -> T:
        self._ready.acquire()
        return self._items.popleft()

    def pending(self) -> list[T]:
        return list(self._items)


class Codec:
    """How a link carries values: pickled between processes (``remote``), or as
    they are between domains of one process."""

    __slots__ = ("decode", "encode", "remote")

    def __init__(self, remote: bool) -> None:
        self.remote = remote
        self.encode: Callable[[object], Any] = _pickle if remote else _as_is
        self.decode: Callable[[Any], Any] = pickle.loads if remote else _as_is


def _pickle(value: object) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _as_is(value: Any) -> Any:
    return value


PICKLED = Codec(remote=True)
AS_IS = Codec(remote=False)


class End(Protocol):
    """One end of a link: frames out and in."""

    codec: Codec

    def send(self, kind: int, n: int, payload: Any) -> None: ...
    def recv(self) -> Frame: ...
    def end_input(self) -> None: ...
    def close(self) -> None: ...


class SocketEnd:
    """One end of a Unix socket pair: length-prefixed frames, pickled payloads."""

    __slots__ = ("_header", "_sock", "_writing")

    codec = PICKLED

    def __init__(self, sock: StreamSocket) -> None:
        self._sock = sock
        self._header = bytearray(_HEADER.size)
        self._writing = Semaphore(1)  # the fibers of a worker send whole frames, in turn

    def send(self, kind: int, n: int, payload: bytes | None) -> None:
        header = _HEADER.pack(kind, n, len(payload) if payload else 0)
        self._writing.acquire()
        try:
            Flow.write(self._sock, [header, payload] if payload else [header])
        finally:
            self._writing.release()

    def recv(self) -> Frame:
        Flow.read_exact(self._sock, self._header)
        kind, n, size = _HEADER.unpack(self._header)
        payload = bytearray(size)
        if size:
            Flow.read_exact(self._sock, payload)
        return kind, n, payload

    def end_input(self) -> None:
        # What is already received can still be read, then end-of-file: even if
        # another process holds a copy of the other end.
        Flow.shutdown(self._sock, "receive")

    def close(self) -> None:
        Flow.close(self._sock)


class LocalEnd:
    """One end of a link between domains of one process: values as they are."""

    __slots__ = ("_inbox", "_peer")

    codec = AS_IS

    def __init__(self, inbox: Queue[Frame | None], peer: Queue[Frame | None]) -> None:
        self._inbox = inbox
        self._peer = peer

    def send(self, kind: int, n: int, payload: object) -> None:
        self._peer.put((kind, n, payload))

    def recv(self) -> Frame:
        frame = self._inbox.take()
        if frame is None:
            self._inbox.put(None)
            raise EOFError
        return frame

    def end_input(self) -> None:
        self._inbox.put(None)

    def close(self) -> None:
        pass


def make_link(sw: Switch, remote: bool) -> tuple[End, End]:
    """The parent's end and the worker's end of a new link, released with ``sw``:
    a socket pair (``remote``: the worker is another process), else queues."""
    if remote:
        a, b = socketpair_stream(sw=sw)
        return SocketEnd(a), SocketEnd(b)
    to_worker: Queue[Frame | None] = Queue()
    to_parent: Queue[Frame | None] = Queue()
    return LocalEnd(to_parent, to_worker), LocalEnd(to_worker, to_parent)
