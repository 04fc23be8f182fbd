"""Net.send_msg / Net.recv_msg_with_fds: file descriptors over Unix-domain
socketpairs (stream and datagram), owned by the receiving switch, never leaked."""

from __future__ import annotations

import errno
import fcntl
import os
from typing import Any

import pytest
from zope.interface.verify import verifyObject

import greeneio
from greeneio import Fiber, Net, Switch, Time
from greeneio.interfaces import IClose, IFd, IFdPassing
from greeneio.net._fdpass import recv_msg_with_fds, send_msg
from greeneio.net.sockaddr import Unix

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("no_fd_leak")]


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as e:
        assert e.errno == errno.EBADF
        return False
    return True


def _same_file(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def test_sockets_provide_fd_passing():
    def main(env: Any) -> None:
        with Switch() as sw:
            for pair in (Net.socketpair_stream(sw=sw), Net.socketpair_datagram(sw=sw)):
                for s in pair:
                    verifyObject(IFdPassing, s)

    greeneio.run(main)


def test_two_fds_over_a_stream_socketpair(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"file contents")
    seen: list[int] = []

    def main(env: Any) -> None:
        r, w = os.pipe()
        f = open(path, "rb")  # noqa: SIM115 - closed below, checked by no_fd_leak
        try:
            with Switch() as sw:
                a, b = Net.socketpair_stream(sw=sw)
                with Switch() as rsw:
                    n = send_msg(a, [b"he", b"llo"], fds=[r, f])
                    assert n == 5
                    buf = bytearray(16)
                    addr, got, fds = recv_msg_with_fds(b, buf, sw=rsw, max_fds=4)
                    assert addr == Unix("")
                    assert bytes(buf[:got]) == b"hello"
                    assert len(fds) == 2
                    for x in fds:
                        verifyObject(IFd, x)
                        verifyObject(IClose, x)
                    pr, pf = (x.fileno() for x in fds)
                    seen.extend((pr, pf))
                    assert pr not in (r, f.fileno()) and pf not in (r, f.fileno())
                    # The received pipe end reads what the near side writes.
                    os.write(w, b"through the pipe")
                    assert os.read(pr, 100) == b"through the pipe"
                    assert _same_file(pf, f.fileno())
                    # The sender's fds stay open.
                    assert _is_open(r) and _is_open(f.fileno())
                assert not _is_open(pr) and not _is_open(pf)
                assert [x.fileno() for x in fds] == [-1, -1]
                fds[0].close()  # idempotent
        finally:
            os.close(r)
            os.close(w)
            f.close()

    greeneio.run(main)
    assert len(seen) == 2


def test_received_fds_are_close_on_exec():
    def main(env: Any) -> None:
        r, w = os.pipe2(0)  # inheritable on purpose
        try:
            with Switch() as sw:
                a, b = Net.socketpair_stream(sw=sw)
                send_msg(a, b"x", fds=[r, w])
                _, _, fds = recv_msg_with_fds(b, bytearray(1), sw=sw, max_fds=2)
                for x in fds:
                    assert fcntl.fcntl(x.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
                    assert not os.get_inheritable(x.fileno())
        finally:
            os.close(r)
            os.close(w)

    greeneio.run(main)


def test_extra_fds_beyond_max_fds_are_closed():
    def main(env: Any) -> None:
        pipes = [os.pipe() for _ in range(3)]
        try:
            before = set(os.listdir("/proc/self/fd"))
            with Switch() as sw:
                a, b = Net.socketpair_stream(sw=sw)
                send_msg(a, b"abc", fds=[r for r, _ in pipes])
                with Switch() as rsw:
                    _, n, fds = recv_msg_with_fds(b, bytearray(8), sw=rsw, max_fds=1)
                    assert n == 3
                    assert len(fds) == 1
                    os.write(pipes[0][1], b"first")
                    assert os.read(fds[0].fileno(), 10) == b"first"
                    # Only the kept fd (and the two sockets) are new.
                    now = set(os.listdir("/proc/self/fd"))
                    assert len(now - before) == 3
                assert fds[0].fileno() == -1
            assert set(os.listdir("/proc/self/fd")) == before
        finally:
            for r, w in pipes:
                os.close(r)
                os.close(w)

    greeneio.run(main)


def test_max_fds_zero_keeps_none():
    def main(env: Any) -> None:
        r, w = os.pipe()
        try:
            with Switch() as sw:
                a, b = Net.socketpair_stream(sw=sw)
                send_msg(a, b"z", fds=[r, w])
                _, n, fds = recv_msg_with_fds(b, bytearray(1), sw=sw, max_fds=0)
                assert (n, fds) == (1, [])
        finally:
            os.close(r)
            os.close(w)

    greeneio.run(main)


def test_datagram_socketpair():
    def main(env: Any) -> None:
        r, w = os.pipe()
        try:
            with Switch() as sw:
                a, b = Net.socketpair_datagram(sw=sw)
                assert send_msg(b, [b"one ", b"datagram"], fds=[w]) == 12
                assert send_msg(b, b"", fds=[w]) == 0  # an empty datagram may carry fds
                buf = bytearray(64)
                addr, n, fds = recv_msg_with_fds(a, buf, sw=sw, max_fds=1)
                assert (addr, bytes(buf[:n])) == (Unix(""), b"one datagram")
                os.write(fds[0].fileno(), b"via datagram")
                assert os.read(r, 100) == b"via datagram"
                fds[0].close()
                assert fds[0].fileno() == -1
                _, n, fds = recv_msg_with_fds(a, buf, sw=sw, max_fds=1)
                assert n == 0 and len(fds) == 1 and _same_file(fds[0].fileno(), w)
        finally:
            os.close(r)
            os.close(w)

    greeneio.run(main)


def test_datagram_to_a_named_socket(tmp_path):
    path = str(tmp_path / "d.sock")
    src_path = str(tmp_path / "s.sock")

    def main(env: Any) -> None:
        r, w = os.pipe()
        try:
            with Switch() as sw:
                server = Net.datagram_socket(env.net, Unix(path), sw=sw)
                client = Net.datagram_socket(env.net, Unix(src_path), sw=sw)
                send_msg(client, b"hi", fds=[r], dst=Unix(path))
                addr, n, fds = recv_msg_with_fds(server, bytearray(8), sw=sw, max_fds=1)
                assert (addr, n, len(fds)) == (Unix(src_path), 2, 1)
        finally:
            os.close(r)
            os.close(w)

    greeneio.run(main)


def test_recv_waits_for_the_sender():
    def main(env: Any) -> None:
        r, w = os.pipe()
        try:
            with Switch() as sw:
                a, b = Net.socketpair_stream(sw=sw)

                def receive() -> int:
                    _, n, fds = recv_msg_with_fds(b, bytearray(4), sw=sw, max_fds=1)
                    assert len(fds) == 1
                    return n

                def sender() -> int:
                    Fiber.yield_()
                    return send_msg(a, b"late", fds=[w])

                assert Fiber.pair(receive, sender) == (4, 4)
        finally:
            os.close(r)
            os.close(w)

    greeneio.run(main)


def test_stream_end_raises_eof():
    def main(env: Any) -> None:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            a.close()
            with pytest.raises(EOFError):
                recv_msg_with_fds(b, bytearray(4), sw=sw, max_fds=1)

    greeneio.run(main)


def test_cancelled_recv_raises_timeout_and_leaks_nothing():
    def main(env: Any) -> None:
        with Switch() as sw:
            _a, b = Net.socketpair_stream(sw=sw)
            with pytest.raises(Time.Timeout):
                Time.with_timeout(
                    env.mono_clock,
                    0.05,
                    lambda: recv_msg_with_fds(b, bytearray(4), sw=sw, max_fds=2),
                )
            da, db = Net.socketpair_datagram(sw=sw)
            with pytest.raises(Time.Timeout):
                Time.with_timeout(
                    env.mono_clock,
                    0.05,
                    lambda: recv_msg_with_fds(db, bytearray(4), sw=sw, max_fds=2),
                )
            # Still usable afterwards.
            send_msg(da, b"ok")
            assert recv_msg_with_fds(db, bytearray(4), sw=sw, max_fds=2)[1:] == (2, [])

    greeneio.run(main)


def test_fds_on_a_finished_switch_are_closed():
    def main(env: Any) -> None:
        r, w = os.pipe()
        try:
            before = set(os.listdir("/proc/self/fd"))
            with Switch() as sw:
                a, b = Net.socketpair_stream(sw=sw)
                with Switch() as done:
                    pass
                send_msg(a, b"x", fds=[r, w])
                with pytest.raises(RuntimeError, match="Switch finished"):
                    recv_msg_with_fds(b, bytearray(1), sw=done, max_fds=2)
            assert set(os.listdir("/proc/self/fd")) == before
        finally:
            os.close(r)
            os.close(w)

    greeneio.run(main)


def test_detach_hands_the_fd_over():
    def main(env: Any) -> None:
        r, w = os.pipe()
        try:
            with Switch() as sw:
                a, b = Net.socketpair_stream(sw=sw)
                send_msg(a, b"x", fds=[r])
                with Switch() as rsw:
                    _, _, (fd,) = recv_msg_with_fds(b, bytearray(1), sw=rsw, max_fds=1)
                    raw = fd.detach()
                    assert fd.fileno() == -1
                assert _is_open(raw)
                os.close(raw)
        finally:
            os.close(r)
            os.close(w)

    greeneio.run(main)


def test_tcp_and_udp_sockets_refuse_fd_passing():
    def main(env: Any) -> None:
        with Switch() as sw:
            lo = Net.Ipaddr.V4.loopback
            listening = Net.listen(env.net, Net.Sockaddr.Tcp(lo, 0), sw=sw, backlog=1)
            client = Net.connect(env.net, Net.listening_addr(listening), sw=sw)
            udp = Net.datagram_socket(env.net, Net.Sockaddr.UdpV4, sw=sw)
            for sock in (client, udp):
                with pytest.raises(TypeError, match="Unix-domain"):
                    send_msg(sock, b"x", fds=[0])
                with pytest.raises(TypeError, match="Unix-domain"):
                    recv_msg_with_fds(sock, bytearray(1), sw=sw, max_fds=1)

    greeneio.run(main)


def test_bad_arguments():
    def main(env: Any) -> None:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            d, _ = Net.socketpair_datagram(sw=sw)
            buf = bytearray(4)
            cases: list[tuple[type[Exception], str, Any]] = [
                (TypeError, "sock", lambda: send_msg(object(), b"x")),
                (TypeError, "sock", lambda: recv_msg_with_fds("s", buf, sw=sw, max_fds=1)),
                (TypeError, "bufs", lambda: send_msg(a, "text")),
                (TypeError, r"fds\[1\]", lambda: send_msg(a, b"x", fds=[0, "3"])),
                (TypeError, r"fds\[0\]", lambda: send_msg(a, b"x", fds=[True])),
                (ValueError, r"fds\[0\]", lambda: send_msg(a, b"x", fds=[-1])),
                (TypeError, "fds", lambda: send_msg(a, b"x", fds=3)),
                (ValueError, "bufs", lambda: send_msg(a, [b""], fds=[0])),
                (TypeError, "dst", lambda: send_msg(d, b"x", dst="/tmp/x")),
                (ValueError, "dst", lambda: send_msg(d, b"x", dst=Unix(""))),
                (ValueError, "dst", lambda: send_msg(a, b"x", dst=Unix("/tmp/x"))),
                (TypeError, "buf", lambda: recv_msg_with_fds(b, b"ro", sw=sw, max_fds=1)),
                (ValueError, "buf", lambda: recv_msg_with_fds(b, bytearray(), sw=sw, max_fds=1)),
                (TypeError, "sw", lambda: recv_msg_with_fds(b, buf, sw=None, max_fds=1)),
                (TypeError, "max_fds", lambda: recv_msg_with_fds(b, buf, sw=sw, max_fds="1")),
                (TypeError, "max_fds", lambda: recv_msg_with_fds(b, buf, sw=sw, max_fds=1.0)),
                (ValueError, "max_fds", lambda: recv_msg_with_fds(b, buf, sw=sw, max_fds=-1)),
            ]
            for exc, name, call in cases:
                with pytest.raises(exc, match=name):
                    call()
            closed = open(os.devnull)  # noqa: SIM115
            closed.close()
            with pytest.raises(ValueError, match=r"fds\[0\]"):
                send_msg(a, b"x", fds=[closed])

    greeneio.run(main)


def test_os_errors_carry_context():
    def main(env: Any) -> None:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            b.close()
            with pytest.raises(Net.ConnectionReset) as info:
                send_msg(a, b"x", fds=[0])
            assert "sending message with 1 fds" in str(info.value)

    greeneio.run(main)
