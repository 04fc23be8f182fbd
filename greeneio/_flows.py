"""What flows share, for greeneio's own flow providers (backends, mocks,
``Flow``'s in-memory flows): the buffer type, the close-on-exit mixin, the
generic copy loop and the write-everything loop. Not public API.
"""

from __future__ import annotations

from typing import Any

from greeneio._core import _greenlet

__all__ = ["COPY_CHUNK", "Buffer", "Closeable", "copy_via_buffer", "write_all"]

Buffer = bytes | bytearray | memoryview
#: The buffer size of the generic copy loop.
COPY_CHUNK = 64 * 1024


class Closeable:
    """Mixin: an object with ``close()`` is a context manager that closes it."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_all(dst: Any, items: list[Buffer]) -> None:
    """Write every byte of ``items`` to the sink ``dst`` (no argument checks)."""
    cc = _greenlet.current().cc
    if len(items) == 1:  # fast path: one buffer, usually written in one call
        b = items[0]
        while len(b):
            cc.check()
            n = dst.single_write([b])
            if n >= len(b):
                return
            b = memoryview(b)[n:]
        return
    items = [b for b in items if len(b)]
    while items:
        cc.check()
        n = dst.single_write(items)
        while n:
            first = items[0]
            if n >= len(first):
                n -= len(first)
                items.pop(0)
            else:
                items[0] = memoryview(first)[n:]
                n = 0


def copy_via_buffer(src: Any, dst: Any, chunk: int = COPY_CHUNK) -> None:
    """The generic copy: read into a buffer, write it out, until end of stream."""
    buf = bytearray(chunk)
    view = memoryview(buf)
    cc = _greenlet.current().cc
    while True:
        cc.check()
        try:
            n = src.single_read(view)
        except EOFError:
            return
        write_all(dst, [view[:n]])
