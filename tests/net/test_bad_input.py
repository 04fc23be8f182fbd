"""Bad input: a ValueError/TypeError that names the argument, at the call,
with nothing left open (checked by the no_fd_leak fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import greeneio
from greeneio import Net, Promise, Switch, mock

pytestmark = [pytest.mark.timeout(10), pytest.mark.usefixtures("no_fd_leak")]

V4 = Net.Ipaddr.V4.loopback


def in_run(fn: Callable[[Any, Switch], object]) -> None:
    greeneio.run(lambda env: Switch.run(lambda sw: fn(env.net, sw)))


@pytest.mark.parametrize("port", [-1, 70000])
def test_port_out_of_range(port):
    with pytest.raises(ValueError, match=f"port must be 0-65535, not {port}"):
        Net.Sockaddr.Tcp(V4, port)
    with pytest.raises(ValueError, match="port"):
        Net.Sockaddr.Udp(V4, port)


def test_port_of_wrong_type():
    with pytest.raises(TypeError, match="port must be an int"):
        Net.Sockaddr.Tcp(V4, "80")


def test_backlog_zero():
    def fn(net, sw):
        Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=0)

    with pytest.raises(ValueError, match="backlog must be >= 1, not 0"):
        in_run(fn)


def test_max_connections_zero():
    def fn(net, sw):
        server = Net.listen(net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=1)
        Net.run_server(server, lambda f, a: None, on_error=print, max_connections=0)

    with pytest.raises(ValueError, match="max_connections must be >= 1, not 0"):
        in_run(fn)


def test_additional_domains_negative():
    sock = mock.Net.listening_socket("l")
    with pytest.raises(ValueError, match="additional_domains count must be >= 0, not -1"):
        mock.Backend.run(
            lambda: Net.run_server(sock, print, on_error=print, additional_domains=(None, -1))
        )


def test_run_server_bad_stop_and_grace():
    sock = mock.Net.listening_socket("l")
    with pytest.raises(TypeError, match="stop must be a Promise"):
        mock.Backend.run(lambda: Net.run_server(sock, print, on_error=print, stop=True))
    with pytest.raises(ValueError, match="grace must be >= 0"):
        mock.Backend.run(
            lambda: Net.run_server(sock, print, on_error=print, stop=Promise.create()[0], grace=-1)
        )


def test_ipaddr_of_raw_wrong_length():
    with pytest.raises(ValueError, match=r"raw must be 4 \(IPv4\) or 16 \(IPv6\) bytes, not 3"):
        Net.Ipaddr.of_raw(b"123")


def test_sockaddr_parse_nonsense():
    with pytest.raises(ValueError, match="tcp:nonsense"):
        Net.Sockaddr.parse("tcp:nonsense")


def test_udp_address_given_to_listen():
    def fn(net, sw):
        Net.listen(net, Net.Sockaddr.Udp(V4, 0), sw=sw, backlog=1)

    with pytest.raises(TypeError, match="Net.listen: addr must be a stream address"):
        in_run(fn)


def test_tcp_address_given_to_datagram_socket():
    def fn(net, sw):
        Net.datagram_socket(net, Net.Sockaddr.Tcp(V4, 0), sw=sw)

    with pytest.raises(TypeError, match="Net.datagram_socket: addr must be Sockaddr.Udp"):
        in_run(fn)


@pytest.mark.parametrize("call", ["listen", "connect", "datagram_socket"])
def test_unix_path_longer_than_the_os_allows(tmp_path, call):
    addr = Net.Sockaddr.Unix(str(tmp_path / ("x" * 200)))

    def fn(net, sw):
        if call == "listen":
            Net.listen(net, addr, sw=sw, backlog=1, reuse_addr=True)
        elif call == "connect":
            Net.connect(net, addr, sw=sw)
        else:
            Net.datagram_socket(net, addr, sw=sw)

    with pytest.raises(ValueError, match=r"addr: the Unix socket path is \d+ bytes, longer"):
        in_run(fn)


def test_str_given_to_recv_as_buffer():
    def fn(net, sw):
        a, _ = Net.socketpair_datagram(sw=sw)
        Net.recv(a, "buffer")

    with pytest.raises(TypeError, match="Net.recv: buf must be a writable bytes-like object"):
        in_run(fn)


def test_bytes_given_to_recv_is_not_writable():
    def fn(net, sw):
        a, _ = Net.socketpair_datagram(sw=sw)
        Net.recv(a, b"readonly")

    with pytest.raises(TypeError, match="Net.recv: buf must be writable"):
        in_run(fn)


def test_str_given_to_send():
    def fn(net, sw):
        a, _ = Net.socketpair_datagram(sw=sw)
        Net.send(a, "text")

    with pytest.raises(TypeError, match="Net.send: bufs must be bytes-like"):
        in_run(fn)


def test_not_a_network():
    with pytest.raises(TypeError, match="Net.connect: net must be a network"):
        mock.Backend.run(
            lambda: Switch.run(lambda sw: Net.connect(object(), Net.Sockaddr.Tcp(V4, 1), sw=sw))
        )


def test_bad_options():
    net = mock.Net.make("n")
    with pytest.raises(TypeError, match="options must be a list"):
        mock.Backend.run(
            lambda: Switch.run(
                lambda sw: Net.connect(net, Net.Sockaddr.Tcp(V4, 1), sw=sw, options="SO_REUSEADDR")
            )
        )
    with pytest.raises(TypeError, match="value for SO_LINGER must be None or an int"):
        mock.Backend.run(
            lambda: Switch.run(
                lambda sw: Net.connect(
                    net, Net.Sockaddr.Tcp(V4, 1), sw=sw, options=[("SO_LINGER", "long")]
                )
            )
        )


def test_with_tcp_connect_bad_timeout():
    with pytest.raises(TypeError, match="timeout must be Time.Timeout"):
        mock.Backend.run(
            lambda: Net.with_tcp_connect(
                mock.Net.make("n"), print, host="h", service="80", timeout=5
            )
        )


def test_empty_unix_path_cannot_be_listened_on():
    with pytest.raises(ValueError, match="Net.listen: addr must not be the empty Unix path"):
        mock.Backend.run(
            lambda: Switch.run(
                lambda sw: Net.listen(mock.Net.make("n"), Net.Sockaddr.Unix(""), sw=sw, backlog=1)
            )
        )
