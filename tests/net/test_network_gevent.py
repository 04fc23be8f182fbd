"""Eio's tests/network.md on real loopback sockets (the gevent backend)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import pytest

import greeneio
from greeneio import Buf_read, Fiber, Flow, Fs, Net, Promise, Switch, traceln
from greeneio._core.trace import capture

pytestmark = [pytest.mark.timeout(20), pytest.mark.usefixtures("no_fd_leak")]

V4 = Net.Ipaddr.V4.loopback
V6 = Net.Ipaddr.V6.loopback
HAVE_V6 = socket.has_ipv6


class GracefulShutdown(Exception):
    pass


def run(fn: Callable[[Any, Switch], Any]) -> list[str]:
    """Run ``fn(net, sw)`` under greeneio.run; the traced lines plus the outcome."""
    with capture() as lines:
        try:
            result = greeneio.run(lambda env: Switch.run(lambda sw: fn(env.net, sw)))
        except BaseException as e:
            lines.extend(f"Exception: {type(e).__name__}: {e}".split("\n"))
        else:
            lines.append(f"-> {result!r}")
    return list(lines)


def run_client(net: Any, sw: Switch, addr: Any) -> None:
    traceln("Connecting to server...")
    flow = Net.connect(net, addr, sw=sw)
    Flow.copy_string("Hello from client", flow)
    Flow.shutdown(flow, "send")
    traceln("Client received: %r", Flow.read_all(flow))


def serve_forever(sw: Switch, server: Any) -> None:
    def handler(flow: Any, _addr: Any) -> None:
        traceln("Server accepted connection from client")
        try:
            traceln("Server received: %r", Flow.read_all(flow))
        finally:
            Flow.copy_string("Bye", flow)

    def on_error(e: BaseException) -> None:
        if not isinstance(e, GracefulShutdown):
            traceln("Error handling connection: %s", e)

    while True:
        Net.accept_fork(server, handler, sw=sw, on_error=on_error)


def echo_once(addr: Any) -> Callable[[Any, Switch], None]:
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, addr, sw=sw, reuse_addr=True, backlog=5)
        real = Net.listening_addr(server)

        def client() -> None:
            run_client(net, sw, real)
            traceln("Client finished - cancelling server")
            raise GracefulShutdown()

        Fiber.both(lambda: serve_forever(sw, server), client)

    return test


ECHO_TRANSCRIPT = [
    "Connecting to server...",
    "Server accepted connection from client",
    "Server received: b'Hello from client'",
    "Client received: b'Bye'",
    "Client finished - cancelling server",
    "Exception: GracefulShutdown: ",
]


def test_echo_tcp_v4():
    assert run(echo_once(Net.Sockaddr.Tcp(V4, 0))) == ECHO_TRANSCRIPT


@pytest.mark.skipif(not HAVE_V6, reason="no IPv6 on this host")
def test_echo_tcp_v6():
    assert run(echo_once(Net.Sockaddr.Tcp(V6, 0))) == ECHO_TRANSCRIPT


def test_echo_unix_path_and_path_removed(tmp_path):
    path = str(tmp_path / "eio-test.sock")
    assert run(echo_once(Net.Sockaddr.Unix(path))) == ECHO_TRANSCRIPT
    assert not os.path.exists(path)  # removed when the listening socket closed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux-only")
def test_echo_abstract_unix():
    addr = Net.Sockaddr.Unix(f"\0/tmp/greeneio-test-{os.getpid()}.sock")
    assert run(echo_once(addr)) == ECHO_TRANSCRIPT


def test_cancelling_the_servers_read():
    def test(net: Any, sw: Switch) -> None:
        shutdown: Promise[Any]
        shutdown, set_shutdown = Promise.create()
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, reuse_addr=True, backlog=5)

        def handler(flow: Any, _addr: Any) -> None:
            def fail() -> None:
                raise shutdown.await_()

            try:
                Fiber.both(fail, lambda: traceln("Server received: %r", Flow.read_all(flow)))
            except GracefulShutdown:
                Flow.copy_string("Request cancelled", flow)

        def client() -> None:
            traceln("Connecting to server...")
            flow = Net.connect(net, Net.listening_addr(server), sw=sw)
            traceln("Connection opened - cancelling server's read")
            Fiber.yield_()
            Promise.resolve(set_shutdown, GracefulShutdown())
            traceln("Client received: %r", Flow.read_all(flow))

        def raise_(e: BaseException) -> None:
            raise e

        Fiber.both(lambda: Net.accept_fork(server, handler, sw=sw, on_error=raise_), client)

    assert run(test) == [
        "Connecting to server...",
        "Connection opened - cancelling server's read",
        "Client received: b'Request cancelled'",
        "-> None",
    ]


def test_accept_when_the_switch_is_already_off():
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, reuse_addr=True, backlog=5)
        sw.fail(RuntimeError("Simulated error"))
        Net.accept_fork(server, lambda f, a: pytest.fail("accepted"), sw=sw, on_error=print)

    assert run(test) == ["Exception: RuntimeError: Simulated error"]


# -- UDP ----------------------------------------------------------------------


def udp_exchange(ip: Net.Ipaddr, sender: Any = None) -> Callable[[Any, Switch], None]:
    def test(net: Any, sw: Switch) -> None:
        receiver = Net.datagram_socket(net, Net.Sockaddr.Udp(ip, 0), sw=sw)
        port = socket.socket(fileno=os.dup(Net.fd(receiver)))
        e2 = Net.Sockaddr.Udp(ip, port.getsockname()[1])
        port.close()

        def receive() -> None:
            buf = bytearray(20)
            traceln("Waiting to receive data")
            addr, n = Net.recv(receiver, buf)
            assert isinstance(addr, Net.Sockaddr.Udp) and addr.ip == ip
            traceln("Received message: %s", buf[:n].decode())

        def send() -> None:
            e = Net.datagram_socket(net, sender or Net.Sockaddr.Udp(ip, 0), sw=sw)
            traceln("Sending data to %s", "udp:" + ("v4" if ip.is_v4 else "v6"))
            Net.send(e, [b"UDP ", b"Message"], dst=e2)

        Fiber.both(receive, send)

    return test


@pytest.mark.parametrize("sender", [None, Net.Sockaddr.UdpV4], ids=["bound", "UdpV4"])
def test_udp_v4(sender):
    assert run(udp_exchange(V4, sender)) == [
        "Waiting to receive data",
        "Sending data to udp:v4",
        "Received message: UDP Message",
        "-> None",
    ]


@pytest.mark.skipif(not HAVE_V6, reason="no IPv6 on this host")
@pytest.mark.parametrize("sender", [None, Net.Sockaddr.UdpV6], ids=["bound", "UdpV6"])
def test_udp_v6(sender):
    assert run(udp_exchange(V6, sender)) == [
        "Waiting to receive data",
        "Sending data to udp:v6",
        "Received message: UDP Message",
        "-> None",
    ]


def test_unix_datagram_socket_path_removed(tmp_path):
    path = str(tmp_path / "dgram.sock")

    def test(net: Any, sw: Switch) -> None:
        addr = Net.Sockaddr.Unix(path)
        with Switch() as inner:
            a = Net.datagram_socket(net, addr, sw=inner)
            b = Net.datagram_socket(net, Net.Sockaddr.Unix(path + "2"), sw=inner)
            Net.send(b, b"hello", dst=addr)
            buf = bytearray(10)
            sender, n = Net.recv(a, buf)
            traceln("from %s: %r", sender, bytes(buf[:n]))
        traceln("exists after close: %s", os.path.exists(path))

    assert run(test) == [f"from unix:{path}2: b'hello'", "exists after close: False", "-> None"]


def test_closing_the_flow_inside_the_handler_is_fine():
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, reuse_addr=True, backlog=5)

        def handler(flow: Any, _addr: Any) -> None:
            traceln("Server got connection")
            Flow.copy_string("Hi", flow)
            Flow.close(flow)

        def client() -> None:
            traceln("Connecting to server...")
            flow = Net.connect(net, Net.listening_addr(server), sw=sw)
            msg = Buf_read.parse_exn(Buf_read.take_all, flow, max_size=100)
            traceln("Client got %r", msg)

        def raise_(e: BaseException) -> None:
            raise e

        Fiber.both(lambda: Net.accept_fork(server, handler, sw=sw, on_error=raise_), client)

    lines = run(test)
    assert sorted(lines[:2]) == ["Connecting to server...", "Server got connection"]
    assert lines[2:] == ["Client got b'Hi'", "-> None"]


# -- Unix interop ----------------------------------------------------------------


def test_sockets_have_fds():
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, reuse_addr=True, backlog=5)
        traceln("Listening socket has Unix FD: %s", Net.fd(server) >= 0)
        have_client, have_server = Fiber.pair(
            lambda: Net.fd(Net.connect(net, Net.listening_addr(server), sw=sw)) >= 0,
            lambda: Net.fd(Net.accept(server, sw=sw)[0]) >= 0,
        )
        traceln("Client-side socket has Unix FD: %s", have_client)
        traceln("Server-side socket has Unix FD: %s", have_server)

    assert run(test) == [
        "Listening socket has Unix FD: True",
        "Client-side socket has Unix FD: True",
        "Server-side socket has Unix FD: True",
        "-> None",
    ]


def test_import_socket_stream_closes_the_python_socket():
    a, b = socket.socketpair()

    def test(net: Any, sw: Switch) -> None:
        with Switch() as inner:
            source = Net.import_socket_stream(a, sw=inner, close_unix=True)
            sink = Net.import_socket_stream(b, sw=inner, close_unix=True)
            Fiber.both(
                lambda: Flow.copy_string("Hello\n!", sink),
                lambda: traceln("Got: %r", Buf_read.of_flow(source, max_size=1000).line()),
            )
        traceln("fileno after release: %d, %d", a.fileno(), b.fileno())

    assert run(test) == ["Got: b'Hello'", "fileno after release: -1, -1", "-> None"]


def test_import_socket_stream_can_leave_the_socket_open():
    a, b = socket.socketpair()
    try:

        def test(net: Any, sw: Switch) -> None:
            with Switch() as inner:
                flow = Net.import_socket_stream(a, sw=inner, close_unix=False)
                Flow.copy_string("x", flow)
            traceln("still open: %s", a.fileno() >= 0)

        assert run(test) == ["still open: True", "-> None"]
        assert b.recv(1) == b"x"
    finally:
        a.close()
        b.close()


def test_import_socket_listening():
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(40)
    port = lsock.getsockname()[1]

    def test(net: Any, sw: Switch) -> None:
        listening = Net.import_socket_listening(lsock, sw=sw, close_unix=True)

        def client() -> None:
            run_client(net, sw, Net.Sockaddr.Tcp(V4, port))
            traceln("Client finished - cancelling server")
            raise GracefulShutdown()

        Fiber.both(lambda: serve_forever(sw, listening), client)

    assert run(test) == ECHO_TRANSCRIPT
    assert lsock.fileno() == -1


def test_import_socket_datagram_gathers_send():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)

    def test(net: Any, sw: Switch) -> None:
        da = Net.import_socket_datagram(a, sw=sw)
        db = Net.import_socket_datagram(b, sw=sw)

        def receive() -> None:
            buf = bytearray(10)
            _addr, n = Net.recv(db, buf)
            traceln("Got: %r", bytes(buf[:n]))

        Fiber.both(lambda: Net.send(da, [b"12", b"34"]), receive)

    assert run(test) == ["Got: b'1234'", "-> None"]


def test_socketpair_stream():
    def test(net: Any, sw: Switch) -> None:
        a, b = Net.socketpair_stream(sw=sw)
        assert Net.fd(a) >= 0 and Net.fd(b) >= 0
        Flow.copy_string("foo", a)
        Flow.close(a)
        traceln("Got: %r", Buf_read.of_flow(b, max_size=10).take_all())

    assert run(test) == ["Got: b'foo'", "-> None"]


def test_socketpair_datagram_keeps_message_boundaries():
    def test(net: Any, sw: Switch) -> None:
        a, b = Net.socketpair_datagram(sw=sw)
        msgs = [b"foo", b"bar", b"foobar", b"cellar door", b""]
        buf = bytearray(32)

        def read() -> None:
            _addr, n = Net.recv(b, buf)
            traceln("Got: %d bytes: %r", n, bytes(buf[:n]))

        for m in msgs:
            Net.send(a, [m])
        for _ in msgs:
            read()
        Net.send(a, [b"abaca", b"bb"])
        read()
        Net.close(a)
        Net.close(b)

    assert run(test) == [
        "Got: 3 bytes: b'foo'",
        "Got: 3 bytes: b'bar'",
        "Got: 6 bytes: b'foobar'",
        "Got: 11 bytes: b'cellar door'",
        "Got: 0 bytes: b''",
        "Got: 7 bytes: b'abacabb'",
        "-> None",
    ]


# -- errors ---------------------------------------------------------------------


def test_econnreset_is_connection_reset():
    def test(net: Any, sw: Switch) -> None:
        a, b = Net.socketpair_stream(sw=sw)
        Flow.copy_string("foo", a)
        Flow.close(b)  # close without reading
        try:
            Flow.read_exact(a, bytearray(1))
        except (Net.ConnectionReset, EOFError):
            traceln("Connection failed (good)")

    assert run(test) == ["Connection failed (good)", "-> None"]


def test_tcp_reset_is_connection_reset_with_errno():
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=1)
        client = Net.connect(net, Net.listening_addr(server), sw=sw)
        conn, _ = Net.accept(server, sw=sw)
        Flow.copy_string("unread", conn)
        Net.setsockopt(conn, Net.Sockopt.SO_LINGER, 0)  # close sends RST
        Flow.close(conn)
        try:
            while True:
                Flow.single_read(client, bytearray(100))
        except Net.ConnectionReset as e:
            traceln("%s / errno %s / cause %s", type(e).__name__, e.errno, type(e.__cause__))
            assert isinstance(e, ConnectionResetError)

    assert run(test) == [
        "ConnectionReset / errno 104 / cause <class 'ConnectionResetError'>",
        "-> None",
    ]


def test_epipe_is_connection_reset():
    def test(net: Any, sw: Switch) -> None:
        a, b = Net.socketpair_stream(sw=sw)
        Flow.close(b)
        try:
            Flow.copy_string("foo", a)
        except Net.ConnectionReset as e:
            traceln("Connection failed (good): %s", e)

    assert run(test) == [
        "Connection failed (good): Net Connection_reset: [Errno 32] Broken pipe",
        "-> None",
    ]


def test_connecting_to_a_missing_unix_path_is_not_found(tmp_path):
    path = str(tmp_path / "idontexist.sock")

    def test(net: Any, sw: Switch) -> None:
        Net.connect(net, Net.Sockaddr.Unix(path), sw=sw)

    assert run(test) == [
        f"Exception: NotFound: Fs Not_found: [Errno 2] No such file or directory: '{path}'",
        f"  connecting to unix:{path}",
    ]


def test_connection_refused():
    def test(net: Any, sw: Switch) -> None:
        with Switch() as probe:
            port = Net.listening_addr(
                Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=probe, backlog=1)
            ).port
        try:
            Net.connect(net, Net.Sockaddr.Tcp(V4, port), sw=sw)
        except Net.Refused as e:
            assert isinstance(e, ConnectionRefusedError) and e.errno == 111
            traceln("%s", str(e).replace(str(port), "PORT"))

    assert run(test) == [
        "Net Connection_failure Refused: [Errno 111] Connection refused",
        "  connecting to tcp:127.0.0.1:PORT",
        "-> None",
    ]


def test_shutdown_receive_ends_a_blocked_read():
    def test(net: Any, sw: Switch) -> None:
        a, _b = Net.socketpair_stream(sw=sw)

        def reader() -> None:
            try:
                Flow.read_exact(a, bytearray(1))
                raise AssertionError("Should have ended!")
            except EOFError:
                traceln("end of file")

        Fiber.both(reader, lambda: Flow.shutdown(a, "receive"))

    assert run(test) == ["end of file", "-> None"]


# -- socket options -------------------------------------------------------------


def test_portable_socket_options_on_tcp():
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, reuse_addr=True, backlog=5)
        client = Net.connect(net, Net.listening_addr(server), sw=sw)
        Net.setsockopt(client, Net.Sockopt.TCP_NODELAY, True)
        assert Net.getsockopt(client, Net.Sockopt.TCP_NODELAY) is True
        Net.setsockopt(client, "SO_KEEPALIVE", True)
        assert Net.getsockopt(client, Net.Sockopt.SO_KEEPALIVE) is True
        Net.setsockopt(client, Net.Sockopt.SO_SNDBUF, 32768)
        assert Net.getsockopt(client, Net.Sockopt.SO_SNDBUF) > 0
        Net.setsockopt(client, Net.Sockopt.SO_LINGER, 10)
        traceln("SO_LINGER = %s", Net.getsockopt(client, Net.Sockopt.SO_LINGER))
        Net.setsockopt(client, Net.Sockopt.SO_LINGER, None)
        traceln("SO_LINGER = %s", Net.getsockopt(client, Net.Sockopt.SO_LINGER))
        Net.setsockopt(client, Net.Sockopt.SO_RCVTIMEO, 5.0)
        traceln("SO_RCVTIMEO: %.1f seconds", Net.getsockopt(client, Net.Sockopt.SO_RCVTIMEO))
        Net.setsockopt(server, Net.Sockopt.SO_REUSEADDR, True)
        traceln("SO_REUSEADDR = %s", Net.getsockopt(server, Net.Sockopt.SO_REUSEADDR))
        udp = Net.datagram_socket(net, Net.Sockaddr.UdpV4, sw=sw)
        Net.setsockopt(udp, Net.Sockopt.SO_BROADCAST, True)
        traceln("SO_BROADCAST = %s", Net.getsockopt(udp, Net.Sockopt.SO_BROADCAST))

    assert run(test) == [
        "SO_LINGER = 10",
        "SO_LINGER = None",
        "SO_RCVTIMEO: 5.0 seconds",
        "SO_REUSEADDR = True",
        "SO_BROADCAST = True",
        "-> None",
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux TCP options")
def test_linux_tcp_options():
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=5)
        client = Net.connect(net, Net.listening_addr(server), sw=sw)
        Net.setsockopt(client, Net.Sockopt.TCP_KEEPIDLE, 30)
        traceln("TCP_KEEPIDLE = %s", Net.getsockopt(client, Net.Sockopt.TCP_KEEPIDLE))
        traceln("congestion is a str: %s", isinstance(
            Net.getsockopt(client, Net.Sockopt.TCP_CONGESTION), str))  # fmt: skip
        Net.setsockopt(client, Net.Sockopt.IP_TTL, 7)
        traceln("IP_TTL = %s", Net.getsockopt(client, Net.Sockopt.IP_TTL))

    assert run(test) == [
        "TCP_KEEPIDLE = 30",
        "congestion is a str: True",
        "IP_TTL = 7",
        "-> None",
    ]


def test_option_errors():
    def test(net: Any, sw: Switch) -> None:
        a, _ = Net.socketpair_stream(sw=sw)
        with pytest.raises(TypeError, match="SO_KEEPALIVE must be a bool"):
            Net.setsockopt(a, Net.Sockopt.SO_KEEPALIVE, 1)
        with pytest.raises(Net.InvalidOption) as info:
            Net.setsockopt(a, "SO_NONSENSE", True)
        traceln("%s", info.value)
        with pytest.raises(TypeError, match="must be a Net.Sockopt"):
            Net.getsockopt(a, 42)

    assert run(test) == ["Net Invalid_option", "  setting socket option SO_NONSENSE", "-> None"]


def test_bind_before_connect_with_options():
    def test(net: Any, sw: Switch) -> None:
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, reuse_addr=True, backlog=5)
        client = Net.connect(
            net,
            Net.listening_addr(server),
            sw=sw,
            bind_to=Net.Sockaddr.Tcp(V4, 0),
            options=[(Net.Sockopt.SO_REUSEADDR, True), (Net.Sockopt.SO_KEEPALIVE, True)],
        )
        _, peer = Net.accept(server, sw=sw)
        traceln("keepalive=%s", Net.getsockopt(client, Net.Sockopt.SO_KEEPALIVE))
        traceln("peer is loopback: %s", peer.ip == V4)

    assert run(test) == ["keepalive=True", "peer is loopback: True", "-> None"]


def test_failing_bind_is_io():
    def test(net: Any, sw: Switch) -> None:
        try:
            Net.connect(
                net,
                Net.Sockaddr.Tcp(V4, 8081),
                sw=sw,
                bind_to=Net.Sockaddr.Tcp(Net.Ipaddr.of_raw(b"\x01\x02\x03\x04"), 0),
            )
            traceln("unexpectedly connected")
        except greeneio.Exn.Io as e:
            traceln("got Exn.Io: %s", e.context)

    assert run(test) == ["got Exn.Io: ['connecting to tcp:127.0.0.1:8081']", "-> None"]


# -- getaddrinfo / getnameinfo -------------------------------------------------


def test_getaddrinfo_numeric():
    def test(net: Any, sw: Switch) -> None:
        traceln("%s", [str(a) for a in Net.getaddrinfo_stream(net, "127.0.0.1")])
        traceln("%s", [str(a) for a in Net.getaddrinfo_stream(net, "127.0.0.1", service="80")])
        traceln("%s", [str(a) for a in Net.getaddrinfo_datagram(net, "127.0.0.1")])
        traceln("%s", [str(a) for a in Net.getaddrinfo_datagram(net, "127.0.0.1", service="80")])
        traceln("%s", [str(a) for a in Net.getaddrinfo(net, "127.0.0.1", service="ftp")][:1])

    assert run(test) == [
        "['tcp:127.0.0.1:0']",
        "['tcp:127.0.0.1:80']",
        "['udp:127.0.0.1:0']",
        "['udp:127.0.0.1:80']",
        "['tcp:127.0.0.1:21']",
        "-> None",
    ]


def test_getaddrinfo_unknown_name_raises_address_lookup_failed():
    def test(net: Any, sw: Switch) -> None:
        try:
            Net.getaddrinfo(net, "name.invalid.")
        except Net.AddressLookupFailed as e:
            traceln("lookup failed, code known: %s", e.code in ("NONAME", "AGAIN", "FAIL"))
            traceln("%s", e.context)
            assert isinstance(e, socket.gaierror)

    assert run(test) == [
        "lookup failed, code known: True",
        "['looking up \"name.invalid.\"']",
        "-> None",
    ]


def test_getnameinfo():
    def test(net: Any, sw: Switch) -> Any:
        host, service = Net.getnameinfo(net, Net.Sockaddr.Tcp(V4, 80))
        return (host, "http" if service == "www" else service)

    assert run(test) == ["-> ('localhost', 'http')"]


# -- listen on Unix paths ----------------------------------------------------------


def test_reuse_addr_removes_a_stale_socket_file(tmp_path):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays behind

    def test(net: Any, sw: Switch) -> None:
        Net.listen(net, Net.Sockaddr.Unix(path), sw=sw, backlog=1, reuse_addr=True)
        traceln("listening")

    assert run(test) == ["listening", "-> None"]
    assert not os.path.exists(path)


def test_reuse_addr_leaves_other_files_alone(tmp_path):
    path = tmp_path / "precious.txt"
    path.write_text("keep me")

    def test(net: Any, sw: Switch) -> None:
        try:
            Net.listen(net, Net.Sockaddr.Unix(str(path)), sw=sw, backlog=1, reuse_addr=True)
        except Fs.AlreadyExists as e:
            traceln("%s", e)
            assert isinstance(e, FileExistsError)

    assert run(test) == [
        f"Fs Already_exists: '{path}' exists and is not a socket (left alone)",
        f"  listening on unix:{path}",
        "-> None",
    ]
    assert path.read_text() == "keep me"


def test_without_reuse_addr_a_stale_socket_file_is_an_error(tmp_path):
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()

    def test(net: Any, sw: Switch) -> None:
        try:
            Net.listen(net, Net.Sockaddr.Unix(path), sw=sw, backlog=1)
        except Net.Error as e:
            traceln("%s", str(e).splitlines()[-1])
            traceln("errno %s", e.errno)

    assert run(test) == [f"  listening on unix:{path}", "errno 98", "-> None"]
    assert os.path.exists(path)


def test_closing_a_socket_wakes_a_fiber_reading_it():
    def test(net: Any, sw: Switch) -> None:
        a, _b = Net.socketpair_stream(sw=sw)

        def reader() -> None:
            try:
                Flow.single_read(a, bytearray(10))
            except Net.Error as e:
                traceln("reader woke: %s", str(e).split(":")[0])

        Fiber.both(reader, lambda: Net.close(a))

    assert run(test) == ["reader woke: Unix_error (EBADF)", "-> None"]
