"""Small files kept in memory by the static service, each checked on every
use, so a request for one costs one ``lstat`` instead of five system calls
(``lstat``, ``open``, ``fstat``, ``read``, ``close``)."""

from __future__ import annotations

import os
from typing import Final

__all__ = ["FileCache"]

#: What one process keeps at most, in bytes of file contents.
MAX_BYTES: Final = 8 << 20


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int, int]:
    # What changes when the file is replaced, rewritten, renamed over, or
    # turned into a link: its inode (and device), size, mode, mtime and ctime.
    return (st.st_dev, st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)


class FileCache:
    """The bytes of small files, by request path.

    Only a path that names its file directly is kept (no link on the way, so
    the real path is the root joined with the request path): then an
    ``lstat`` of that real path, which follows no final link, tells whether
    it is still the same file, and anything else (changed, replaced, removed,
    now a link) is read again. Bounded by :data:`MAX_BYTES` (emptied when full).
    """

    __slots__ = ("_bytes", "_files")

    def __init__(self) -> None:
        self._files: dict[bytes, tuple[str, tuple[int, ...], bytes]] = {}
        self._bytes = 0

    def get(self, path: bytes) -> tuple[str, os.stat_result, bytes] | None:
        """The real path, ``lstat`` and bytes of the file ``path`` names, if kept
        and unchanged; else None (and a stale entry is dropped)."""
        entry = self._files.get(path)
        if entry is None:
            return None
        real, identity, data = entry
        try:
            st = os.lstat(real)
        except OSError:
            st = None
        if st is None or _identity(st) != identity:
            del self._files[path]
            self._bytes -= len(data)
            return None
        return real, st, data

    def put(self, path: bytes, real: str, st: os.stat_result, data: bytes) -> None:
        """Keep ``data``, read from the file ``real`` described by ``st`` (its fstat)."""
        if len(data) != st.st_size or len(data) > MAX_BYTES // 64:
            return  # not the whole file, or too large to be worth a slot
        if self._bytes + len(data) > MAX_BYTES:
            self._files.clear()
            self._bytes = 0
        old = self._files.get(path)
        if old is not None:
            self._bytes -= len(old[2])
        self._files[path] = (real, _identity(st), data)
        self._bytes += len(data)
