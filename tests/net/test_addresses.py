"""Net.Ipaddr and Net.Sockaddr: printing (RFC 5952), parsing, values, bad input."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greeneio.net import Ipaddr, Sockaddr


@pytest.mark.parametrize(
    "text, printed",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("1234:5678:9abc:def0:fedc:ba98:7654:3210", "1234:5678:9abc:def0:fedc:ba98:7654:3210"),
        ("::1", "::1"),
        ("::", "::"),
        ("ab::", "ab::"),
        ("::ffff:192.168.1.3", "::ffff:192.168.1.3"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("4:1:0:0:2:0:0:3", "4:1::2:0:0:3"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  # one zero group is not compressed
    ],
)
def test_ipaddr_printing_rfc5952(text, printed):
    assert str(Ipaddr.parse(text)) == printed


def test_sockaddr_printing():
    assert str(Sockaddr.Tcp(Ipaddr.parse("127.0.0.1"), 8080)) == "tcp:127.0.0.1:8080"
    assert str(Sockaddr.Tcp(Ipaddr.parse("::1"), 8080)) == "tcp:[::1]:8080"
    assert str(Sockaddr.Udp(Ipaddr.V4.any, 53)) == "udp:0.0.0.0:53"
    assert str(Sockaddr.Unix("/tmp/sock")) == "unix:/tmp/sock"


def test_constants_and_raw():
    assert bytes(Ipaddr.V4.loopback) == b"\x7f\x00\x00\x01"
    assert bytes(Ipaddr.V6.loopback) == bytes(15) + b"\x01"
    assert str(Ipaddr.V4.any) == "0.0.0.0" and str(Ipaddr.V6.any) == "::"
    assert Ipaddr.of_raw(b"\x7f\x00\x00\x01") == Ipaddr.V4.loopback
    assert Ipaddr.V4.loopback.fold(v4=lambda _: "v4", v6=lambda _: "v6") == "v4"
    assert Ipaddr.V6.loopback.fold(v4=lambda _: "v4", v6=lambda _: "v6") == "v6"


def test_ipaddress_conversion():
    ip = Ipaddr.of_ipaddress(ipaddress.ip_address("::1"))
    assert ip == Ipaddr.V6.loopback
    assert ip.to_ipaddress() == ipaddress.IPv6Address("::1")


def test_values_are_hashable_immutable_and_matchable():
    a = Sockaddr.Tcp(Ipaddr.V4.loopback, 80)
    assert {a: 1}[Sockaddr.Tcp(Ipaddr.parse("127.0.0.1"), 80)] == 1
    with pytest.raises(AttributeError):
        a.port = 81  # type: ignore[misc]
    match Sockaddr.parse("udp:[::1]:53"):
        case Sockaddr.Udp(ip, port):
            assert (ip, port) == (Ipaddr.V6.loopback, 53)
        case _:
            pytest.fail("did not match Udp")
    assert Sockaddr.UdpV4 is Sockaddr.UdpV4 and Sockaddr.UdpV4 != Sockaddr.UdpV6


@pytest.mark.parametrize(
    "text",
    [
        "tcp:127.0.0.1:8080",
        "tcp:[::1]:0",
        "udp:10.1.2.3:65535",
        "unix:/run/x.sock",
        "unix:\0abstract",
    ],
)
def test_parse_round_trip(text):
    assert str(Sockaddr.parse(text)) == text


@pytest.mark.parametrize(
    "text, message",
    [
        ("tcp:nonsense", "expected tcp:HOST:PORT"),
        ("tcp:localhost:80", "'localhost' is not an IP address"),
        ("tcp:127.0.0.1:70000", "port must be 0-65535, not 70000"),
        ("tcp:127.0.0.1:-1", "port must be a number"),
        ("tcp:::1:80", "IPv6 hosts need brackets"),
        ("sctp:1.2.3.4:5", "unknown scheme 'sctp'"),
        ("unix:", "empty Unix path"),
        ("127.0.0.1:80", "unknown scheme"),
        ("nothing", "expected tcp:HOST:PORT"),
    ],
)
def test_parse_errors_name_the_text(text, message):
    with pytest.raises(ValueError, match=message):
        Sockaddr.parse(text)


@pytest.mark.parametrize("port", [-1, 70000])
def test_port_out_of_range(port):
    with pytest.raises(ValueError, match=f"port must be 0-65535, not {port}"):
        Sockaddr.Tcp(Ipaddr.V4.loopback, port)
    with pytest.raises(ValueError, match="port must be 0-65535"):
        Sockaddr.Udp(Ipaddr.V4.loopback, port)


def test_bad_types():
    with pytest.raises(TypeError, match="port must be an int"):
        Sockaddr.Tcp(Ipaddr.V4.loopback, "80")
    with pytest.raises(TypeError, match="ip must be an Ipaddr"):
        Sockaddr.Tcp("127.0.0.1", 80)
    with pytest.raises(ValueError, match="must be 4 .IPv4. or 16 .IPv6. bytes, not 3"):
        Ipaddr.of_raw(b"123")
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 address: 'nope'"):
        Ipaddr.parse("nope")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=4, max_size=4) | st.binary(min_size=16, max_size=16))
def test_printed_ip_parses_back(raw):
    ip = Ipaddr.of_raw(raw)
    assert Ipaddr.parse(str(ip)) == ip
    assert ipaddress.ip_address(str(ip)).packed == raw


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_sockaddr_parse_never_crashes(text):
    try:
        addr = Sockaddr.parse(text)
    except ValueError:
        return
    assert Sockaddr.parse(str(addr)) == addr
