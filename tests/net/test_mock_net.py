"""Eio's tests/network.md mock cases: accept_fork, connect options,
getaddrinfo, getsockopt, with_tcp_connect and run_server, as transcripts."""

from __future__ import annotations

from typing import Any

import pytest

from greeneio import Fiber, Flow, Net, Promise, Switch, Time, mock, traceln
from greeneio.mock import Raise, Return, Run

pytestmark = pytest.mark.timeout(10)

LOOPBACK = Net.Ipaddr.V4.loopback
ADDR = Net.Sockaddr.Tcp(LOOPBACK, 8081)


def client_addr(port: int = 1234) -> Net.Sockaddr.Tcp:
    return Net.Sockaddr.Tcp(LOOPBACK, port)


def one_connection() -> tuple[Any, Any]:
    socket = mock.Net.listening_socket("tcp/80")
    flow = mock.Flow.make("connection")
    mock.Net.on_accept(socket, [Return((flow, client_addr()))])
    return socket, flow


# -- accept_fork error handling ------------------------------------------------


def test_accept_fork_closes_after_success(transcript):
    def main():
        socket, _ = one_connection()
        with Switch() as sw:
            Net.accept_fork(socket, lambda flow, addr: None, sw=sw, on_error=_reraise)
            traceln("Mock connection should have been closed by now")

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Mock connection should have been closed by now",
        "-> None",
    ]


def _reraise(e: BaseException) -> None:
    raise e


def test_accept_fork_closes_when_handler_fails(transcript):
    def main():
        socket, _ = one_connection()
        with Switch() as sw:

            def handler(flow, addr):
                raise RuntimeError("Simulated error")

            Net.accept_fork(socket, handler, sw=sw, on_error=_reraise)
            traceln("Mock connection should have been closed by now")

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Mock connection should have been closed by now",
        "Exception: RuntimeError: Simulated error",
    ]


def test_accept_fork_closes_when_fork_fails(transcript):
    def main():
        socket, _ = one_connection()
        with Switch() as sw:
            sw.fail(RuntimeError("Simulated error"))

            def handler(flow, addr):
                raise AssertionError("must not run")

            Net.accept_fork(socket, handler, sw=sw, on_error=_reraise)
            traceln("Mock connection should have been closed by now")

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Mock connection should have been closed by now",
        "Exception: RuntimeError: Simulated error",
    ]


def test_accept_fork_never_passes_cancelled_to_on_error(transcript):
    def main():
        socket, _ = one_connection()
        with Switch() as sw:
            Net.accept_fork(
                socket,
                lambda flow, addr: Fiber.await_cancel(),
                sw=sw,
                on_error=lambda e: traceln("BUG: %r", e),
            )
            sw.fail(RuntimeError("Simulated error"))

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Exception: RuntimeError: Simulated error",
    ]


def test_accept_fork_adds_context_to_io_errors(transcript):
    def main():
        socket, _ = one_connection()
        with Switch() as sw:

            def handler(flow, addr):
                raise Net.ConnectionReset(backend=ConnectionResetError(104, "reset"))

            Net.accept_fork(socket, handler, sw=sw, on_error=lambda e: traceln("%s", e))

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Net Connection_reset: [Errno 104] reset",
        "  handling connection from tcp:127.0.0.1:1234",
        "-> None",
    ]


def test_accept_sub_is_deprecated(transcript):
    def main():
        socket, _ = one_connection()
        with Switch() as sw, pytest.warns(DeprecationWarning, match="accept_fork"):
            Net.accept_sub(socket, lambda flow, addr: None, sw=sw, on_error=_reraise)

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "-> None",
    ]


# -- connect with bind_to and options ------------------------------------------


def test_connect_traces_bind_and_options_in_order(transcript):
    def main():
        with Switch() as sw:
            net = mock.Net.make("mock-net")
            mock.Net.on_connect(net, [Return(mock.Flow.make("flow"))])
            Net.connect(
                net,
                ADDR,
                sw=sw,
                bind_to=Net.Sockaddr.Tcp(LOOPBACK, 0),
                options=[(Net.Sockopt.SO_REUSEADDR, True), (Net.Sockopt.SO_KEEPALIVE, True)],
            )

    assert transcript(main) == [
        "mock-net: connect to tcp:127.0.0.1:8081 (bind to tcp:127.0.0.1:0)",
        "flow: setsockopt SO_REUSEADDR = true",
        "flow: setsockopt SO_KEEPALIVE = true",
        "flow: closed",
        "-> None",
    ]


def test_unknown_option_on_mock_is_invalid_option(transcript):
    def main():
        ls = mock.Net.listening_socket("socket")
        Net.getsockopt(ls, Net.Sockopt.TCP_CORK)

    assert transcript(main) == [
        "Exception: InvalidOption: Net Invalid_option",
        "  getting socket option TCP_CORK",
    ]


def test_getsockopt_on_mock_gives_default(transcript):
    def main():
        ls = mock.Net.listening_socket("socket")
        return Net.getsockopt(ls, "SO_LINGER")

    assert transcript(main) == ["socket: getsockopt SO_LINGER = <none>", "-> None"]


# -- getaddrinfo --------------------------------------------------------------


def test_getaddrinfo_never_returns_empty(transcript):
    def main():
        net = mock.Net.make("mocknet")
        mock.Net.on_getaddrinfo(net, [Return([])])
        Net.getaddrinfo(net, "example.org")

    assert transcript(main) == [
        'mocknet: getaddrinfo ~service:"" example.org',
        "Exception: AddressLookupFailed: "
        "Net Address_lookup_failed NONAME (name or service is not known)",
        '  looking up "example.org"',
    ]


def test_getaddrinfo_stream_filters(transcript):
    def main():
        net = mock.Net.make("mocknet")
        udp = Net.Sockaddr.Udp(LOOPBACK, 53)
        mock.Net.on_getaddrinfo(net, [Return([udp, ADDR]), Return([udp])])
        found = Net.getaddrinfo_stream(net, "example.org", service="domain")
        traceln("%s", [str(a) for a in found])
        try:
            Net.getaddrinfo_stream(net, "example.org")
        except Net.AddressLookupFailed as e:
            traceln("code %s", e.code)

    assert transcript(main) == [
        "mocknet: getaddrinfo ~service:domain example.org",
        "['tcp:127.0.0.1:8081']",
        'mocknet: getaddrinfo ~service:"" example.org',
        "code NONAME",
        "-> None",
    ]


# -- with_tcp_connect ----------------------------------------------------------

ADDR1 = Net.Sockaddr.Tcp(LOOPBACK, 80)
ADDR2 = Net.Sockaddr.Tcp(Net.Ipaddr.of_raw(b"\x01\x02\x03\x04"), 8080)
REQ = "GET / HTTP/1.1\r\nHost:www.example.com:80\r\n\r\n"
WROTE_REQ = [
    'flow: wrote "GET / HTTP/1.1\\r\\n"',
    '            "Host:www.example.com:80\\r\\n"',
    '            "\\r\\n"',
    "flow: closed",
]


def refused() -> Net.Refused:
    return Net.Refused(backend=ConnectionRefusedError(111, "Simulated failure"))


def send_request(conn: Any) -> None:
    Flow.copy_string(REQ, conn)


def connect_www(net: Any, fn=send_request, **kw: Any) -> Any:
    return Net.with_tcp_connect(net, fn, host="www.example.com", service="http", **kw)


def test_with_tcp_connect_no_usable_addresses(transcript):
    def main():
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([Net.Sockaddr.Unix("/foo")])])
        connect_www(net)

    assert transcript(main) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "Exception: NoMatchingAddresses: Net Connection_failure No_matching_addresses "
        "(no TCP address in: unix:/foo)",
        '  connecting to "www.example.com":http',
    ]


def test_with_tcp_connect_nothing_found(transcript):
    def main():
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([])])
        connect_www(net)

    assert transcript(main) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "Exception: AddressLookupFailed: "
        "Net Address_lookup_failed NONAME (name or service is not known)",
        '  connecting to "www.example.com":http',
    ]


def test_with_tcp_connect_first_address_works(transcript):
    def main():
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([ADDR1, ADDR2])])
        mock.Net.on_connect(net, [Return(mock.Flow.make("flow"))])
        connect_www(net)

    assert transcript(main) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:127.0.0.1:80",
        *WROTE_REQ,
        "-> None",
    ]


def test_with_tcp_connect_second_address_works(transcript):
    def main():
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([ADDR1, ADDR2])])
        mock.Net.on_connect(net, [Raise(refused()), Return(mock.Flow.make("flow"))])
        connect_www(net)

    assert transcript(main) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock-net: connect to tcp:1.2.3.4:8080",
        *WROTE_REQ,
        "-> None",
    ]


def test_with_tcp_connect_both_fail_keeps_attempts(transcript):
    seen: list[Any] = []

    def main():
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([ADDR1, ADDR2])])
        mock.Net.on_connect(net, [Raise(refused()), Raise(refused())])
        try:
            connect_www(net, lambda _: pytest.fail("must not connect"))
        except Net.Refused as e:
            seen.extend(e.attempts)
            raise

    assert transcript(main) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock-net: connect to tcp:1.2.3.4:8080",
        "Exception: Refused: Net Connection_failure Refused: [Errno 111] Simulated failure",
        "  connecting to tcp:1.2.3.4:8080",
        '  connecting to "www.example.com":http',
    ]
    assert [a for a, _ in seen] == [ADDR1, ADDR2]
    assert all(isinstance(e, Net.Refused) for _, e in seen)


def test_with_tcp_connect_first_attempt_times_out(transcript):
    def main(env):
        timeout = Time.Timeout.seconds(env.mono_clock, 10)
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([ADDR1, ADDR2])])
        mock.Net.on_connect(net, [Run(Fiber.await_cancel), Return(mock.Flow.make("flow"))])
        connect_www(net, timeout=timeout)

    assert transcript(main, full=True) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock time is now 10",
        "mock-net: connect to tcp:1.2.3.4:8080",
        *WROTE_REQ,
        "-> None",
    ]


def test_with_tcp_connect_both_attempts_time_out(transcript):
    def main(env):
        timeout = Time.Timeout.seconds(env.mono_clock, 10)
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([ADDR1, ADDR2])])
        mock.Net.on_connect(net, [Run(Fiber.await_cancel), Run(Fiber.await_cancel)])
        connect_www(net, lambda _: pytest.fail("must not connect"), timeout=timeout)

    assert transcript(main, full=True) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock time is now 10",
        "mock-net: connect to tcp:1.2.3.4:8080",
        "mock time is now 20",
        "Exception: ConnectionTimeout: Net Connection_failure Timeout",
        '  connecting to "www.example.com":http',
    ]


# -- happy eyeballs -------------------------------------------------------------

V6 = Net.Sockaddr.Tcp(Net.Ipaddr.V6.loopback, 80)


def test_happy_eyeballs_second_attempt_starts_after_delay_and_wins(transcript):
    def hang():
        try:
            Fiber.await_cancel()
        finally:
            traceln("first attempt cancelled")

    def main(env):
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([V6, ADDR1])])
        mock.Net.on_connect(net, [Run(hang), Return(mock.Flow.make("flow"))])
        delay = Time.Timeout.seconds(env.mono_clock, 0.25)
        connect_www(net, happy_eyeballs_delay=delay)
        traceln("finished at %g", Time.now(env.mono_clock))

    assert transcript(main, full=True) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:[::1]:80",
        "mock time is now 0.25",
        "mock-net: connect to tcp:127.0.0.1:80",
        "first attempt cancelled",
        *WROTE_REQ,
        "finished at 0.25",
        "-> None",
    ]


def test_happy_eyeballs_failure_starts_next_at_once_and_interleaves(transcript):
    v6b = Net.Sockaddr.Tcp(Net.Ipaddr.parse("::2"), 80)

    def main(env):
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([V6, v6b, ADDR1])])
        mock.Net.on_connect(net, [Raise(refused()), Raise(refused()), Raise(refused())])
        connect_www(
            net,
            lambda _: pytest.fail("must not connect"),
            timeout=Time.Timeout.seconds(env.mono_clock, 5),
            happy_eyeballs_delay=0.25,
        )

    # Each failure started the next attempt at once: no "mock time is now" line.
    assert transcript(main, full=True) == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:[::1]:80",
        "mock-net: connect to tcp:127.0.0.1:80",  # IPv4 next: families interleaved
        "mock-net: connect to tcp:[::2]:80",
        "Exception: Refused: Net Connection_failure Refused: [Errno 111] Simulated failure",
        "  connecting to tcp:[::2]:80",
        '  connecting to "www.example.com":http',
    ]


def test_happy_eyeballs_cancels_the_slower_attempt(transcript):
    """The second attempt wins while the first is still connecting: it is cancelled."""
    slow_flow = mock.Flow.make("slow")

    def main(env):
        clock = env.mono_clock
        net = mock.Net.make("mock-net")
        mock.Net.on_getaddrinfo(net, [Return([V6, ADDR1])])

        def slow():
            Time.sleep(clock, 1)
            return slow_flow

        mock.Net.on_connect(net, [Run(slow), Return(mock.Flow.make("flow"))])
        connect_www(net, happy_eyeballs_delay=Time.Timeout.seconds(clock, 0.25))

    lines = transcript(main, full=True)
    assert lines == [
        "mock-net: getaddrinfo ~service:http www.example.com",
        "mock-net: connect to tcp:[::1]:80",
        "mock time is now 0.25",
        "mock-net: connect to tcp:127.0.0.1:80",
        *WROTE_REQ,
        "-> None",
    ]  # the slow attempt was cancelled before its sleep ended: no "mock time is now 1"


def test_happy_eyeballs_delay_needs_a_clock():
    net = mock.Net.make("n")
    with pytest.raises(TypeError, match="needs a clock"):
        Net.with_tcp_connect(net, print, host="h", service="80", happy_eyeballs_delay=0.25)


# -- run_server -------------------------------------------------------------------


def handle_connection(flow: Any, _addr: Any) -> None:
    msg = Flow.read_all(flow)
    assert msg == b"Hi"
    Fiber.yield_()
    Flow.copy_string("Bye", flow)


def mock_listener(n_clients: int, n_domains: int = 1) -> Any:
    def make_flow(i: int) -> Any:
        def make() -> Any:
            Fiber.check()
            flow = mock.Flow.make(f"flow{i}")
            mock.Flow.on_read(flow, [Return(b"Hi"), Raise(EOFError())])
            return flow, Net.Sockaddr.Tcp(LOOPBACK, 30000 + i)

        return make

    sock = mock.Net.listening_socket("tcp/80")
    actions = [Run(make_flow(i)) for i in range(n_clients)]
    actions += [Run(Fiber.await_cancel) for _ in range(n_domains)]
    mock.Net.on_accept(sock, actions)
    return sock


def test_run_server_graceful_shutdown(transcript):
    def main():
        sock = mock_listener(3)
        stop, set_stop = Promise.create()

        def begin():
            traceln("Begin graceful shutdown")
            Promise.resolve(set_stop, "stopped")

        result = []
        Fiber.both(
            lambda: result.append(
                Net.run_server(
                    sock, handle_connection, max_connections=10, on_error=_reraise, stop=stop
                )
            ),
            begin,
        )
        return result[0]

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        'flow0: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        'flow1: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30002",
        'flow2: read "Hi"',
        "Begin graceful shutdown",
        'flow0: wrote "Bye"',
        "flow0: closed",
        'flow1: wrote "Bye"',
        "flow1: closed",
        'flow2: wrote "Bye"',
        "flow2: closed",
        "-> 'stopped'",
    ]


def test_run_server_abort_closes_connections(transcript):
    def main():
        sock = mock_listener(3)

        def fail():
            raise RuntimeError("Simulated error")

        Fiber.both(
            lambda: Net.run_server(sock, handle_connection, max_connections=10, on_error=_reraise),
            fail,
        )

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        'flow0: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        'flow1: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30002",
        'flow2: read "Hi"',
        "flow0: closed",
        "flow1: closed",
        "flow2: closed",
        "Exception: RuntimeError: Simulated error",
    ]


def test_run_server_max_connections_2(transcript):
    def main():
        sock = mock_listener(10)
        stop, set_stop = Promise.create()

        def begin():
            for _ in range(2):
                Fiber.yield_()
            traceln("Begin graceful shutdown")
            Promise.resolve(set_stop, None)

        Fiber.both(
            lambda: Net.run_server(
                sock, handle_connection, max_connections=2, on_error=_reraise, stop=stop
            ),
            begin,
        )

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        'flow0: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        'flow1: read "Hi"',
        'flow0: wrote "Bye"',
        "flow0: closed",
        'flow1: wrote "Bye"',
        "flow1: closed",
        "tcp/80: accepted connection from tcp:127.0.0.1:30002",
        'flow2: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30003",
        'flow3: read "Hi"',
        "Begin graceful shutdown",
        'flow2: wrote "Bye"',
        "flow2: closed",
        'flow3: wrote "Bye"',
        "flow3: closed",
        "-> None",
    ]


def test_run_server_grace_cancels_handlers_that_never_end(transcript):
    def main(env):
        sock = mock_listener(2)
        stop, set_stop = Promise.create()

        def stuck(flow, addr):
            try:
                Fiber.await_cancel()
            finally:
                traceln("handler for %s cancelled at %g", addr, Time.now(env.mono_clock))

        def begin():
            Fiber.yield_()
            traceln("stop")
            Promise.resolve(set_stop, "done")

        out = []
        Fiber.both(
            lambda: out.append(
                Net.run_server(sock, stuck, on_error=_reraise, stop=stop, grace=0.5)
            ),
            begin,
        )
        return out[0]

    assert transcript(main, full=True) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        "stop",
        "mock time is now 0.5",
        "handler for tcp:127.0.0.1:30000 cancelled at 0.5",
        "flow0: closed",
        "handler for tcp:127.0.0.1:30001 cancelled at 0.5",
        "flow1: closed",
        "-> 'done'",
    ]


def test_run_server_backs_off_when_out_of_fds(transcript):
    import errno

    def emfile() -> Net.Error:
        return Net.Error(
            "Unix_error (EMFILE)", backend=OSError(errno.EMFILE, "Too many open files")
        )

    def main(env):
        clock = env.mono_clock
        sock = mock.Net.listening_socket("tcp/80")
        flow = mock.Flow.make("flow0")
        stop, set_stop = Promise.create()

        def last():
            Promise.resolve(set_stop, "stopped")
            Fiber.await_cancel()

        mock.Net.on_accept(
            sock,
            [Raise(emfile()), Raise(emfile()), Raise(emfile()),
             Return((flow, client_addr())), Raise(emfile()), Run(last)],
        )  # fmt: skip

        def on_error(e):
            traceln("on_error at %g: errno %s", Time.now(clock), e.errno)

        return Net.run_server(sock, lambda f, a: None, on_error=on_error, stop=stop)

    assert transcript(main, full=True) == [
        "on_error at 0: errno 24",
        "mock time is now 0.01",
        "on_error at 0.01: errno 24",
        "mock time is now 0.03",
        "on_error at 0.03: errno 24",
        "mock time is now 0.07",
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "flow0: closed",
        "on_error at 0.07: errno 24",  # back-off reset by the success
        "mock time is now 0.08",
        "-> 'stopped'",
    ]


def test_run_server_other_accept_errors_end_it(transcript):
    def main():
        sock = mock.Net.listening_socket("tcp/80")
        mock.Net.on_accept(sock, [Raise(ValueError("broken"))])
        Net.run_server(sock, lambda f, a: None, on_error=_reraise)

    assert transcript(main) == ["Exception: ValueError: broken"]


def test_unconfigured_mock_fails_loudly(transcript):
    def main():
        with Switch() as sw:
            Net.connect(mock.Net.make("mock-net"), ADDR, sw=sw)

    assert transcript(main) == [
        "mock-net: connect to tcp:127.0.0.1:8081",
        "Exception: RuntimeError: mock-net: connect: no more actions configured",
    ]


def test_mock_listen_and_getnameinfo(transcript):
    def main():
        net = mock.Net.make("mock-net")
        listener = mock.Net.listening_socket("tcp/80", ADDR)
        mock.Net.on_listen(net, [Return(listener)])
        mock.Net.on_getnameinfo(net, [Return(("localhost", "http"))])
        with Switch() as sw:
            sock = Net.listen(net, ADDR, sw=sw, backlog=5)
            traceln("listening on %s", Net.listening_addr(sock))
            return Net.getnameinfo(net, ADDR)

    assert transcript(main) == [
        "mock-net: listen on tcp:127.0.0.1:8081",
        "listening on tcp:127.0.0.1:8081",
        "mock-net: getnameinfo tcp:127.0.0.1:8081",
        "tcp/80: closed",
        "-> ('localhost', 'http')",
    ]


# -- run_server with mock domains ----------------------------------------------


def mock_listener_domains(n_clients: int, n_domains: int) -> Any:
    def make_flow(i: int) -> Any:
        def make() -> Any:
            Fiber.yield_()  # load balance
            flow = mock.Flow.make(f"flow{i}")
            mock.Flow.on_read(flow, [Return(b"Hi"), Raise(EOFError())])
            return flow, Net.Sockaddr.Tcp(LOOPBACK, 30000 + i)

        return make

    sock = mock.Net.listening_socket("tcp/80")
    actions = [Run(make_flow(i)) for i in range(n_clients)]
    actions += [Run(Fiber.await_cancel) for _ in range(n_domains)]
    mock.Net.on_accept(sock, actions)
    return sock


def test_run_server_3_domains_graceful(transcript):
    def main():
        def with_dm(dm):
            sock = mock_listener_domains(10, 3)
            stop, set_stop = Promise.create()

            def shutdown():
                Fiber.yield_()
                Promise.resolve(set_stop, None)
                Fiber.yield_()
                traceln("Requested graceful shutdown")

            Fiber.both(
                lambda: Net.run_server(
                    sock,
                    handle_connection,
                    additional_domains=(dm, 2),
                    max_connections=10,
                    on_error=_reraise,
                    stop=stop,
                ),
                shutdown,
            )

        mock.Domain_manager.run(with_dm)

    assert transcript(main) == [
        "[1] tcp/80: accepted connection from tcp:127.0.0.1:30000",
        '[1] flow0: read "Hi"',
        "[2] tcp/80: accepted connection from tcp:127.0.0.1:30001",
        '[2] flow1: read "Hi"',
        "[0] tcp/80: accepted connection from tcp:127.0.0.1:30002",
        '[0] flow2: read "Hi"',
        '[1] flow0: wrote "Bye"',
        "[1] flow0: closed",
        "[1] tcp/80: accepted connection from tcp:127.0.0.1:30003",
        '[1] flow3: read "Hi"',
        '[2] flow1: wrote "Bye"',
        "[2] flow1: closed",
        "[2] tcp/80: accepted connection from tcp:127.0.0.1:30004",
        '[2] flow4: read "Hi"',
        '[0] flow2: wrote "Bye"',
        "[0] flow2: closed",
        "[0] tcp/80: accepted connection from tcp:127.0.0.1:30005",
        '[0] flow5: read "Hi"',
        "[0] Requested graceful shutdown",
        '[1] flow3: wrote "Bye"',
        "[1] flow3: closed",
        '[2] flow4: wrote "Bye"',
        "[2] flow4: closed",
        '[0] flow5: wrote "Bye"',
        "[0] flow5: closed",
        "-> None",
    ]


def test_run_server_3_domains_abort(transcript):
    def main():
        def with_dm(dm):
            sock = mock_listener_domains(10, 3)

            def fail():
                Fiber.yield_()
                raise RuntimeError("Simulated error")

            Fiber.both(
                lambda: Net.run_server(
                    sock,
                    handle_connection,
                    additional_domains=(dm, 2),
                    max_connections=10,
                    on_error=_reraise,
                ),
                fail,
            )

        mock.Domain_manager.run(with_dm)

    assert transcript(main) == [
        "[1] tcp/80: accepted connection from tcp:127.0.0.1:30000",
        '[1] flow0: read "Hi"',
        "[2] tcp/80: accepted connection from tcp:127.0.0.1:30001",
        '[2] flow1: read "Hi"',
        "[0] tcp/80: accepted connection from tcp:127.0.0.1:30002",
        '[0] flow2: read "Hi"',
        "[1] flow0: closed",
        "[2] flow1: closed",
        "[0] flow2: closed",
        "Exception: RuntimeError: Simulated error",
    ]


def test_run_server_stats_single_process(transcript):
    stats = Net.ServerStats()

    def main():
        sock = mock_listener(3)
        stop, set_stop = Promise.create()

        def check():
            traceln("open %s accepted %s", stats.open(), stats.accepted())
            Promise.resolve(set_stop, None)

        Fiber.both(
            lambda: Net.run_server(
                sock, handle_connection, on_error=_reraise, stop=stop, stats=stats
            ),
            check,
        )

    assert transcript(main) == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        'flow0: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        'flow1: read "Hi"',
        "tcp/80: accepted connection from tcp:127.0.0.1:30002",
        'flow2: read "Hi"',
        "open [3] accepted [3]",
        'flow0: wrote "Bye"',
        "flow0: closed",
        'flow1: wrote "Bye"',
        "flow1: closed",
        'flow2: wrote "Bye"',
        "flow2: closed",
        "-> None",
    ]
    assert stats.open() == [0] and stats.accepted() == [3]
