"""Flow.copy into a socket uses sendfile (from a file) and splice (from a
socket): the bytes never pass through Python, and arrive intact."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

import greeneio
from greeneio import Fiber, Flow, Fs, Net, Promise, Switch
from greeneio.gevent_backend import _sockets
from greeneio.gevent_backend._files import FileSource
from greeneio.gevent_backend._sockets import StreamSocket

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_fd_leak")]

SIZE = 64 * 1024 * 1024


def _digest_of_stream(flow: Any) -> tuple[int, str]:
    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    total = 0
    while True:
        try:
            n = Flow.single_read(flow, buf)
        except EOFError:
            return total, h.hexdigest()
        h.update(view[:n])
        total += n


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    h = hashlib.sha256()
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(SIZE // len(chunk)):
            block = bytes([i % 256]) + chunk[1:]
            f.write(block)
            h.update(block)
    return path, h.hexdigest()


def test_copy_file_to_socket_uses_sendfile(big_file, monkeypatch):
    path, digest = big_file
    sent = []
    real_sendfile = os.sendfile

    def counting_sendfile(out_fd: int, in_fd: int, offset: Any, count: int) -> int:
        n = real_sendfile(out_fd, in_fd, offset, count)
        sent.append(n)
        return n

    def no_python_reads(self: Any, buf: Any) -> int:
        raise AssertionError("file bytes were read into Python")

    monkeypatch.setattr(os, "sendfile", counting_sendfile)
    monkeypatch.setattr(FileSource, "single_read", no_python_reads)

    def main(env: Any) -> tuple[int, str]:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)

            def send() -> None:
                Flow.copy(Fs.open_in(path, sw=sw), a)
                Flow.shutdown(a, "send")

            _, got = Fiber.pair(send, lambda: _digest_of_stream(b))
            return got

    total, got = greeneio.run(main)
    assert (total, got) == (SIZE, digest)
    assert sum(sent) == SIZE


def test_copy_socket_to_socket_uses_splice(monkeypatch):
    if not hasattr(os, "splice"):
        pytest.skip("no os.splice on this platform")
    payload = os.urandom(4 * 1024 * 1024)
    spliced = []
    real_splice = os.splice

    def counting_splice(src: int, dst: int, count: int, **kw: Any) -> int:
        n = real_splice(src, dst, count, **kw)
        spliced.append(n)
        return n

    monkeypatch.setattr(os, "splice", counting_splice)

    def main(env: Any) -> tuple[int, str]:
        with Switch() as sw:
            src_w, src_r = Net.socketpair_stream(sw=sw)
            dst_w, dst_r = Net.socketpair_stream(sw=sw)
            original = StreamSocket.single_read

            def relay() -> None:
                # The relay never reads src_r through the flow API.
                def guarded(self: Any, buf: Any) -> int:
                    if self is src_r:
                        raise AssertionError("relayed bytes were read into Python")
                    return original(self, buf)

                monkeypatch.setattr(StreamSocket, "single_read", guarded)
                Flow.copy(src_r, dst_w)
                Flow.shutdown(dst_w, "send")

            def produce() -> None:
                Flow.write(src_w, [payload])
                Flow.shutdown(src_w, "send")

            results: list[Any] = []
            Fiber.all([produce, relay, lambda: results.append(_digest_of_stream(dst_r))])
            return results[0]

    total, got = greeneio.run(main)
    assert (total, got) == (len(payload), hashlib.sha256(payload).hexdigest())
    # Small messages go by recv/send; once a read fills the 64 KiB buffer the
    # stream is bulk and everything after it is spliced (into the pipe, out of it).
    assert sum(spliced) >= 2 * (len(payload) - 65536)


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "no-splice"])
def test_socket_to_socket_copy_keeps_every_byte_in_order(monkeypatch, splice):
    # Small pieces, a pause with nothing to read, then bulk: every path of the
    # socket-to-socket copy (first read finding nothing, short reads, a full
    # buffer, then splice or reading on at once where there is no splice).
    if splice and not hasattr(os, "splice"):
        pytest.skip("no os.splice on this platform")
    monkeypatch.setattr(_sockets, "_SPLICE", splice)
    pieces = [b"a" * 10, b"b" * 3000, os.urandom(3 * 65536 + 17), b"z"]

    def main(env: Any) -> tuple[int, str]:
        with Switch() as sw:
            src_w, src_r = Net.socketpair_stream(sw=sw)
            dst_w, dst_r = Net.socketpair_stream(sw=sw)
            relayed, relayed_u = Promise.create()

            def relay() -> None:
                # Runs first (Fiber.all starts its fibers in order), before
                # anything was written: its first read finds nothing.
                Flow.copy(src_r, dst_w)
                Flow.shutdown(dst_w, "send")
                Promise.resolve(relayed_u, None)

            def produce() -> None:
                for p in pieces:
                    Flow.write(src_w, [p])
                    Fiber.yield_()
                Flow.shutdown(src_w, "send")

            results: list[Any] = []
            Fiber.all([relay, produce, lambda: results.append(_digest_of_stream(dst_r))])
            relayed.await_()
            return results[0]

    whole = b"".join(pieces)
    assert greeneio.run(main) == (len(whole), hashlib.sha256(whole).hexdigest())


def test_copy_from_an_in_memory_source_still_works():
    def main(env: Any) -> bytes:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)

            def send() -> None:
                Flow.copy(Flow.string_source(b"x" * 100_000), a)
                Flow.shutdown(a, "send")

            _, data = Fiber.pair(send, lambda: Flow.read_all(b))
            return data

    assert greeneio.run(main) == b"x" * 100_000


def test_open_in_missing_file_is_not_found(tmp_path):
    missing = tmp_path / "nope"

    def main(env: Any) -> None:
        with Switch() as sw:
            Fs.open_in(missing, sw=sw)

    with pytest.raises(Fs.NotFound) as info:
        greeneio.run(main)
    assert info.value.context == [f"opening {missing}"]
    assert isinstance(info.value, FileNotFoundError)
