"""Bounded FIFO queues between fibers (Eio's ``Stream``), closable.

Theory of operation
-------------------
A stream holds three queues, and at most one side ever waits:

* ``items``: the buffer, at most ``capacity`` items, oldest first;
* ``takers``: the wakers of fibers blocked in :func:`take`, oldest first
  (only ever non-empty while ``items`` is empty);
* ``adders``: fibers blocked in :func:`add`, oldest first, each holding its
  item (only ever non-empty while ``items`` is full, which with capacity 0
  means: while no taker waits).

``add`` hands its item straight to the first waiting taker, else appends it
to the buffer if there is room, else waits. ``take`` takes the head of the
buffer and moves the first waiting adder's item into the freed slot (so a
newcomer can never overtake an adder already waiting); with capacity 0 it
takes straight from the first waiting adder. Both sides are therefore served
first come, first served.

Every hand-over goes through a one-shot :class:`~greeneio._core._greenlet.Waker`,
and happens only if ``wake()`` succeeds. A waiter that is cancelled while it
waits has a dead waker: it is skipped, so it neither gives nor takes
anything. Dead entries leave their queue in batches, once they are about
half of it, so cancelling many waiters costs linear time in all. A waiter
woken with a hand-over before its cancellation arrived completes normally
(its item was delivered or enqueued, not lost), and the cancellation is
raised at its next blocking call, as for any greeneio wait.

Closing (beyond Eio) fails every waiting adder with :class:`Closed` (their
items are dropped) and every waiting taker with ``EOFError``; afterwards
``add`` raises ``Closed`` and ``take`` drains the buffer, then raises
``EOFError``.

There are no locks: the fibers of a scheduler run one at a time, and nothing
here switches fibers except :func:`~greeneio._core._greenlet.suspend`. A
stream belongs to one run (one process).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from greeneio._core import _greenlet
from greeneio._core.args import instance_arg, int_arg

T = TypeVar("T")

__all__ = [
    "Closed",
    "Stream",
    "add",
    "close",
    "create",
    "is_empty",
    "length",
    "take",
    "take_nonblocking",
]


class Closed(Exception):
    """An ``add`` to a stream that is (or became, while it waited) closed.

    The item was not added and will never be delivered.
    """


class Stream(Generic[T]):
    """A FIFO queue of at most ``capacity`` items, shared by fibers of one run.

    Made by :func:`create` (or ``Stream(capacity)``). ``s.add(v)``, ``s.take()``,
    ``s.take_nonblocking()``, ``s.length()`` (or ``len(s)``), ``s.is_empty()``
    and ``s.close()`` are the module's functions as methods; ``for v in s:``
    takes items until the stream is closed and drained.
    """

    __slots__ = ("_adders", "_capacity", "_closed", "_items", "_takers")

    def __init__(self, capacity: int) -> None:
        self._capacity = int_arg(capacity, "Stream.create", "capacity", min=0)
        self._items: deque[T] = deque()
        # Fibers waiting to take, and to add (each adder's item is its
        # waker's ``data``): only one of the two is ever non-empty.
        self._takers = _greenlet.WaitQueue()
        self._adders = _greenlet.WaitQueue()
        self._closed = False

    def add(self, item: T) -> None:
        """Add ``item`` at the tail; see :func:`add`."""
        if self._closed:
            raise Closed("Stream.add: the stream is closed")
        if self._takers.wake_one(item):
            return
        if len(self._items) < self._capacity:
            self._items.append(item)
            return
        _greenlet.current().cc.check()
        # Cancelled (or Closed) while waiting: the waker is dead, nobody took the item.
        self._adders.wait(item)

    def take(self) -> T:
        """Remove and return the item at the head; see :func:`take`."""
        items = self._items
        if items:
            item = items.popleft()
            self._refill()
            return item
        adder = self._adders.pop()  # capacity 0: take straight from the first live adder
        if adder is not None:
            adder.wake()
            return adder.data  # type: ignore[no-any-return]
        if self._closed:
            raise EOFError("Stream.take: the stream is closed")
        _greenlet.current().cc.check()
        # Cancelled (or EOF) while waiting: our waker is dead, no item was handed to it.
        return self._takers.wait()  # type: ignore[no-any-return]

    def take_nonblocking(self) -> T | None:
        """The item at the head, or ``None`` at once; see :func:`take_nonblocking`."""
        items = self._items
        if items:
            item = items.popleft()
            self._refill()
            return item
        adder = self._adders.pop()
        if adder is not None:
            adder.wake()
            return adder.data  # type: ignore[no-any-return]
        return None

    def _refill(self) -> None:
        # A slot just came free: the first live waiting adder's item fills it.
        adder = self._adders.pop()
        if adder is not None:
            adder.wake()
            self._items.append(adder.data)

    def length(self) -> int:
        """The number of items buffered now (always 0 with capacity 0)."""
        return len(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def is_empty(self) -> bool:
        """``len(s) == 0``."""
        return not self._items

    def close(self) -> None:
        """Close the stream; see :func:`close`."""
        if self._closed:
            return
        self._closed = True
        for w in self._adders.take_all():
            w.fail(Closed("Stream.add: the stream was closed while waiting"))
        for w in self._takers.take_all():
            w.fail(EOFError("Stream.take: the stream was closed while waiting"))

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                item = self.take()
            except EOFError:
                return
            yield item

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return (
            f"<Stream{state} {len(self._items)}/{self._capacity} items, "
            f"{self._takers.live()} takers, {self._adders.live()} adders waiting>"
        )


def _stream_arg(s: Stream[T], fn: str) -> Stream[T]:
    instance_arg(s, Stream, fn, "s", "a Stream")
    return s


def create(capacity: int) -> Stream[Any]:
    """A new, empty, open stream that buffers up to ``capacity`` items.

    With ``capacity`` 0 the stream is a rendezvous: ``add`` waits until a
    taker takes its item. ``TypeError`` unless ``capacity`` is an int,
    ``ValueError`` if it is negative.
    """
    return Stream(capacity)


def add(s: Stream[T], item: T) -> None:
    """Add ``item`` at the tail of ``s``.

    Gives it straight to the longest-waiting taker if there is one, else
    buffers it if ``s`` has room; otherwise blocks until a take makes room
    (or, with capacity 0, takes it), behind the adders already waiting.

    Cancellable: a cancelled add enqueues nothing (raises ``Cancelled``
    before blocking if the fiber is already cancelled). Raises
    :class:`Closed`, dropping ``item``, if ``s`` is closed, or is closed
    while the add waits.
    """
    _stream_arg(s, "Stream.add").add(item)


def take(s: Stream[T]) -> T:
    """Remove and return the item at the head of ``s``.

    Blocks while ``s`` is empty, behind the takers already waiting; taking
    frees a slot for the longest-waiting adder. Cancellable: a cancelled take
    consumes nothing (raises ``Cancelled`` before blocking if the fiber is
    already cancelled). Once ``s`` is closed, returns what is still buffered,
    then raises ``EOFError`` (a taker waiting when ``s`` closes gets it too).
    """
    return _stream_arg(s, "Stream.take").take()


def take_nonblocking(s: Stream[T]) -> T | None:
    """Like :func:`take`, but returns ``None`` at once instead of blocking
    (also when ``s`` is closed and empty). Never blocks."""
    return _stream_arg(s, "Stream.take_nonblocking").take_nonblocking()


def length(s: Stream[Any]) -> int:
    """The number of items buffered in ``s`` now (``len(s)``; always 0 with
    capacity 0, where nothing is buffered)."""
    return _stream_arg(s, "Stream.length").length()


def is_empty(s: Stream[Any]) -> bool:
    """``length(s) == 0``."""
    return _stream_arg(s, "Stream.is_empty").is_empty()


def close(s: Stream[Any]) -> None:
    """Close ``s`` (beyond Eio, which leaves this as a todo). Never blocks.

    Waiting and later adds raise :class:`Closed` and their items are
    dropped, never delivered. Takes still return the buffered items, then
    raise ``EOFError`` (waiting takers get it at once); ``for v in s`` ends
    there. Closing a closed stream does nothing.
    """
    _stream_arg(s, "Stream.close").close()
