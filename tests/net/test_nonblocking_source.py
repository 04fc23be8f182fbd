"""gevent stream sockets as ``INonblockingSource``: reads that never block and
a readiness call made outside any fiber (what the HTTP engine's disconnect
watch is built on), and socket waits cancelled without a greenlet throw."""

from __future__ import annotations

import socket

import pytest

import greeneio
from greeneio import Cancel, Fiber, Flow, Net, Promise, Switch, Time
from greeneio._core._greenlet import current_or_none

pytestmark = pytest.mark.timeout(20)


def run(body):
    def main(env):
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            return body(env, a, b)

    return greeneio.run(main)


def test_read_nonblocking_gives_what_is_there_zero_when_nothing_and_eof_at_the_end():
    def body(env, a, b):
        buf = memoryview(bytearray(10))
        got = [a.read_nonblocking(buf)]
        Flow.copy_string("hey", b)
        n = a.read_nonblocking(buf)
        got.append(bytes(buf[:n]))
        Net.close(b)
        with pytest.raises(EOFError):
            a.read_nonblocking(buf)
        return got

    assert run(body) == [0, b"hey"]


def test_a_readiness_call_is_made_once_outside_any_fiber_when_data_arrives():
    def body(env, a, b):
        calls = []
        seen, set_seen = Promise.create()

        def ready():
            calls.append(current_or_none())
            Promise.try_resolve(set_seen, None)

        a.call_when_readable(ready)
        Fiber.yield_()
        assert calls == []  # nothing to read yet
        Flow.copy_string("x", b)
        Time.with_timeout(env.mono_clock, 5, seen.await_)
        Time.sleep(env.mono_clock, 0.05)  # still readable: no second call
        return calls

    assert run(body) == [None]


def test_a_cancelled_readiness_call_is_not_made_and_asking_again_replaces_the_call():
    def body(env, a, b):
        calls = []
        seen, set_seen = Promise.create()
        a.call_when_readable(lambda: calls.append("cancelled")).cancel()
        a.call_when_readable(lambda: calls.append("replaced"))
        a.call_when_readable(lambda: (calls.append("last"), Promise.try_resolve(set_seen, None)))
        Flow.copy_string("x", b)
        Time.with_timeout(env.mono_clock, 5, seen.await_)
        Time.sleep(env.mono_clock, 0.05)
        return calls

    assert run(body) == ["last"]


def test_closing_the_socket_drops_its_pending_call_and_a_closed_one_refuses_a_new_one():
    def body(env, a, b):
        calls = []
        a.call_when_readable(lambda: calls.append("after close"))
        Flow.copy_string("x", b)  # readable, but the hub has not looked yet
        Net.close(a)
        Time.sleep(env.mono_clock, 0.05)
        with pytest.raises(OSError, match="closed"):
            a.call_when_readable(lambda: None)
        return calls

    assert run(body) == []


def test_a_reader_cancelled_out_of_its_wait_leaves_no_wake_up_behind():
    # The cancelled fiber then waits on a promise; data arriving on the socket
    # must not resume it there (the io watcher was stopped on the way out).
    def body(env, a, b):
        p, r = Promise.create()
        log = []

        def reader(cc_box):
            def read(cc):
                cc_box.append(cc)
                Flow.single_read(a, bytearray(10))

            try:
                Cancel.sub(read)
            except Cancel.Cancelled as c:
                log.append(("cancelled", str(c.reason)))
            log.append(("promise", p.await_()))

        box: list = []
        with Switch() as sw:
            Fiber.fork(lambda: reader(box), sw=sw)
            Cancel.cancel(box[0], ValueError("enough"))
            Fiber.yield_()
            Fiber.yield_()
            Flow.copy_string("late data", b)
            Time.sleep(env.mono_clock, 0.05)  # a stray wake-up would resume the reader
            assert log == [("cancelled", "enough")]
            Promise.resolve(r, "resolved")
        buf = bytearray(20)
        n = Flow.single_read(a, buf)  # the data is still there for the next reader
        return log, bytes(buf[:n])

    log, data = run(body)
    assert log == [("cancelled", "enough"), ("promise", "resolved")]
    assert data == b"late data"


def test_a_reset_is_an_error_from_read_nonblocking():
    def main(env):
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0), sw=sw,
                                backlog=1)  # fmt: skip
            port = Net.listening_addr(server).port
            c = socket.create_connection(("127.0.0.1", port))
            flow, _ = Net.accept(server, sw=sw)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()  # RST
            seen, set_seen = Promise.create()
            flow.call_when_readable(lambda: Promise.try_resolve(set_seen, None))
            Time.with_timeout(env.mono_clock, 5, seen.await_)
            with pytest.raises(OSError):
                flow.read_nonblocking(memoryview(bytearray(10)))

    greeneio.run(main)
