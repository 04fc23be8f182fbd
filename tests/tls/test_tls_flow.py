"""TLS flows on the gevent backend: over socket pairs and TCP loopback."""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Callable
from typing import Any

import pytest

import greeneio
import greeneio.tls as Tls
from greeneio import Buf_read, Buf_write, Fiber, Flow, Net, Switch, Time

pytestmark = pytest.mark.timeout(30)

V4 = Net.Ipaddr.V4.loopback


def tls_pair(
    sw: Switch,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    **client_kw: Any,
) -> tuple[Any, Any]:
    """``(client, server)`` TLS flows over a socket pair, handshakes done."""
    a, b = Net.socketpair_stream(sw=sw)
    client_kw.setdefault("host", "localhost")
    return Fiber.pair(
        lambda: Tls.client_of_flow(a, context=client_context, **client_kw),
        lambda: Tls.server_of_flow(b, context=server_context),
    )


def run_pair(server_context, client_context, body: Callable[[Any, Any], Any], **kw: Any) -> Any:
    def main(env: Any) -> Any:
        with Switch() as sw:
            c, s = tls_pair(sw, server_context, client_context, **kw)
            with c, s:
                return body(c, s)

    return greeneio.run(main)


def test_handshake_and_data_both_ways_over_a_socketpair(server_context, client_context):
    def body(c: Any, s: Any) -> Any:
        Flow.copy_string("hello from the client", c)
        got = bytearray(100)
        n = Flow.single_read(s, got)
        Flow.copy_string(b"and back: " + bytes(got[:n]), s)
        reply = bytearray(100)
        m = Flow.single_read(c, reply)
        return bytes(reply[:m]), {
            "version": Tls.version(c),
            "cipher": Tls.cipher(c),
            "server_hostname": (Tls.server_hostname(c), Tls.server_hostname(s)),
            "peer_cert": Tls.peer_certificate(c),
            "peer_der": Tls.peer_certificate(c, binary_form=True),
            "server_sees_cert": Tls.peer_certificate(s),
            "alpn": (Tls.alpn_protocol(c), Tls.alpn_protocol(s)),
        }

    reply, info = run_pair(server_context, client_context, body)
    assert reply == b"and back: hello from the client"
    assert info["version"] == "TLSv1.3"
    _name, proto, bits = info["cipher"]
    assert proto == "TLSv1.3" and bits >= 128
    assert info["server_hostname"] == ("localhost", None)
    assert ("DNS", "localhost") in info["peer_cert"]["subjectAltName"]
    assert isinstance(info["peer_der"], bytes) and info["peer_der"][:1] == b"0"
    assert info["server_sees_cert"] is None
    assert info["alpn"] == (None, None)


def test_a_tls_flow_provides_the_two_way_flow_interfaces(server_context, client_context):
    from zope.interface.verify import verifyObject

    from greeneio.interfaces import IClose, ITwoWay

    def body(c: Any, s: Any) -> None:
        assert verifyObject(ITwoWay, c) and verifyObject(IClose, s)
        assert isinstance(c, Tls.TlsFlow)

    run_pair(server_context, client_context, body)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_tcp_loopback_with_buf_read_lines(server_context, client_context, version):
    client_context.maximum_version = client_context.minimum_version = getattr(
        ssl.TLSVersion, version
    )

    def serve(flow: Any, _addr: Any) -> None:
        with Tls.server_of_flow(flow, context=server_context) as t:
            r = Buf_read.of_flow(t, max_size=1 << 20)

            def answer(w: Any) -> None:
                for line in r.lines():
                    Buf_write.string(w, line.upper().decode() + "\n")
                    Buf_write.flush(w)

            Buf_write.with_flow(t, answer)

    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)
            Fiber.fork(lambda: Net.accept_fork(server, serve, sw=sw, on_error=_reraise), sw=sw)
            conn = Net.connect(env.net, Net.listening_addr(server), sw=sw)
            with Tls.client_of_flow(conn, host="127.0.0.1", context=client_context) as t:
                Flow.write(t, [b"one\ntwo\n", b"thr", b"ee\n"])
                r = Buf_read.of_flow(t, max_size=1 << 20)
                lines = [r.line() for _ in range(3)]
                Flow.shutdown(t, "send")
                assert r.at_end_of_input()
                return lines, Tls.version(t)

    lines, got_version = greeneio.run(main)
    assert lines == [b"ONE", b"TWO", b"THREE"]
    assert got_version == version.replace("_", ".")


def _reraise(e: BaseException) -> None:
    raise e


def test_wrong_host_name_is_a_certificate_error_naming_the_address(server_context, client_context):
    server_errors: list[BaseException] = []

    def serve(flow: Any, _addr: Any) -> None:
        try:
            Tls.server_of_flow(flow, context=server_context)
        except Tls.Error as e:
            server_errors.append(e)

    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)
            addr = Net.listening_addr(server)
            Fiber.fork(lambda: Net.accept_fork(server, serve, sw=sw, on_error=_reraise), sw=sw)
            conn = Net.connect(env.net, addr, sw=sw)
            with pytest.raises(Tls.CertificateError) as info:
                Tls.client_of_flow(conn, host="wrong.test", context=client_context)
            assert Net.fd(conn) == -1  # a failed handshake closes the flow
            return info.value, addr

    e, addr = greeneio.run(main)
    assert isinstance(e, ssl.SSLCertVerificationError)
    assert isinstance(e, ssl.SSLError) and isinstance(e, greeneio.Exn.Io)
    assert e.context == [f"TLS handshake with {addr}"]
    assert f"TLS handshake with {addr}" in str(e)
    assert "wrong.test" in str(e) and e.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
    assert isinstance(e.backend, ssl.SSLCertVerificationError) and e.__cause__ is e.backend
    # The client told the server why (an alert), so the server failed too.
    assert len(server_errors) == 1 and "alert" in str(server_errors[0]).lower()


def test_an_untrusted_certificate_is_a_certificate_error(server_context):
    untrusting = ssl.create_default_context()  # the system CAs: not our test CA

    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            server = Fiber.fork_promise(
                lambda: Tls.server_of_flow(b, context=server_context), sw=sw
            )
            with pytest.raises(Tls.CertificateError) as info:
                Tls.client_of_flow(a, host="localhost", context=untrusting)
            with pytest.raises(Tls.Error):
                server.await_()
            return info.value

    e = greeneio.run(main)
    assert "certificate verify failed" in str(e)
    assert e.context == ['TLS handshake with "localhost"']  # a socketpair has no address


@pytest.mark.parametrize(
    "offered, accepted, chosen",
    [
        (["h2", "http/1.1"], ["http/1.1"], "http/1.1"),
        (["h2", "http/1.1"], ["h2", "http/1.1"], "h2"),
        (["spdy/1"], ["h2"], None),
    ],
)
def test_alpn(server_context, client_context, offered, accepted, chosen):
    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            c, s = Fiber.pair(
                lambda: Tls.client_of_flow(
                    a, host="localhost", context=client_context, alpn=offered
                ),
                lambda: Tls.server_of_flow(b, context=server_context, alpn=accepted),
            )
            with c, s:
                return Tls.alpn_protocol(c), Tls.alpn_protocol(s)

    assert greeneio.run(main) == (chosen, chosen)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_half_close_client_shuts_send_server_answers(server_context, client_context, version):
    client_context.maximum_version = getattr(ssl.TLSVersion, version)

    def main(env: Any) -> Any:
        with Switch() as sw:
            server = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)

            def serve(flow: Any, _addr: Any) -> None:
                with Tls.server_of_flow(flow, context=server_context) as t:
                    request = Flow.read_all(t)  # until the client's close_notify
                    Flow.copy_string(b"you said %d bytes" % len(request), t)

            Fiber.fork(lambda: Net.accept_fork(server, serve, sw=sw, on_error=_reraise), sw=sw)
            conn = Net.connect(env.net, Net.listening_addr(server), sw=sw)
            with Tls.client_of_flow(conn, host="localhost", context=client_context) as t:
                Flow.copy_string(b"x" * 100_000, t)
                Flow.shutdown(t, "send")
                return Flow.read_all(t), Tls.version(t)

    assert greeneio.run(main) == (b"you said 100000 bytes", version.replace("_", "."))


def test_half_close_keeps_data_already_received(server_context, client_context):
    # Data the server sent before the client's close_notify, some of it
    # already inside the client's buffers, is still read after the shutdown.
    def body(c: Any, s: Any) -> Any:
        Flow.write(s, [b"a" * 50_000, b"b" * 50_000])
        first = bytearray(10)
        Flow.read_exact(c, first)
        Flow.shutdown(c, "send")
        rest = bytearray(100_000 - 10)
        Flow.read_exact(c, rest)
        assert Flow.read_all(s) == b""  # the close_notify arrived
        Flow.copy_string("after", s)
        Flow.shutdown(s, "send")
        return bytes(first + rest), Flow.read_all(c)

    data, after = run_pair(server_context, client_context, body)
    assert data == b"a" * 50_000 + b"b" * 50_000
    assert after == b"after"


def test_peer_close_notify_is_end_of_file(server_context, client_context):
    def body(c: Any, s: Any) -> Any:
        Flow.copy_string("last words", s)
        s.close()  # close_notify, then the socket
        got = Flow.read_all(c)
        with pytest.raises(EOFError):
            Flow.single_read(c, bytearray(10))
        with pytest.raises(EOFError):  # and again
            Flow.single_read(c, bytearray(10))
        return got

    assert run_pair(server_context, client_context, body) == b"last words"


@pytest.mark.parametrize("allow", [False, True])
def test_raw_close_without_close_notify_is_ragged(server_context, client_context, allow):
    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            c, s = Fiber.pair(
                lambda: Tls.client_of_flow(
                    a, host="localhost", context=client_context, allow_ragged_eof=allow
                ),
                lambda: Tls.server_of_flow(b, context=server_context),
            )
            Flow.copy_string("partial", s)
            Net.close(b)  # the transport ends; no close_notify was sent
            buf = bytearray(100)
            n = Flow.single_read(c, buf)
            try:
                Flow.single_read(c, buf)
            except Exception as e:
                return bytes(buf[:n]), e
            raise AssertionError("read past the end")

    data, e = greeneio.run(main)
    assert data == b"partial"
    if allow:
        assert type(e) is EOFError
    else:
        assert isinstance(e, Tls.Error) and not isinstance(e, Tls.CertificateError)
        assert isinstance(e, ssl.SSLError)
        assert "close_notify" in str(e)


def test_a_handshake_cut_by_with_timeout_raises_timeout_and_closes_the_flow(client_context):
    def main(env: Any) -> Any:
        with Switch() as sw:
            before = _open_fds()
            a, b = Net.socketpair_stream(sw=sw)  # b never answers the ClientHello
            with pytest.raises(Time.Timeout):
                Time.with_timeout(
                    env.mono_clock,
                    0.1,
                    lambda: Tls.client_of_flow(a, host="localhost", context=client_context),
                )
            assert Net.fd(a) == -1
            Net.close(b)
            return _open_fds() - before

    assert greeneio.run(main) == set()


def test_garbage_from_the_server_is_a_tls_error_with_context(client_context):
    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            Flow.copy_string("HTTP/1.1 400 Bad Request\r\n\r\n", b)
            with pytest.raises(Tls.Error) as info:
                Tls.client_of_flow(a, host="example.test", context=client_context)
            return info.value

    e = greeneio.run(main)
    assert not isinstance(e, Tls.CertificateError)
    assert e.context == ['TLS handshake with "example.test"']
    assert "wrong version number" in str(e).lower() or "record" in str(e).lower()


def test_the_peer_hanging_up_mid_handshake_is_a_tls_error(client_context):
    def hang_up(b: Any) -> None:
        Flow.single_read(b, bytearray(4096))  # the ClientHello
        Net.close(b)

    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            Fiber.fork(lambda: hang_up(b), sw=sw)
            with pytest.raises(Tls.Error) as info:
                Tls.client_of_flow(a, host="localhost", context=client_context)
            return info.value

    e = greeneio.run(main)
    assert "EOF" in str(e) and e.context == ['TLS handshake with "localhost"']


def test_the_flows_own_errors_come_through_with_context(client_context):
    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            Net.close(b)  # the ClientHello cannot be sent
            with pytest.raises(Net.ConnectionReset) as info:
                Tls.client_of_flow(a, host="localhost", context=client_context)
            return info.value

    assert greeneio.run(main).context == ['TLS handshake with "localhost"']


def test_close_sends_close_notify_and_closes_the_underlying_flow(server_context, client_context):
    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            c, s = Fiber.pair(
                lambda: Tls.client_of_flow(a, host="localhost", context=client_context),
                lambda: Tls.server_of_flow(b, context=server_context),
            )
            c.close()
            c.close()  # twice does nothing
            assert Net.fd(a) == -1
            with pytest.raises(EOFError):  # close_notify, not a ragged EOF
                Flow.single_read(s, bytearray(10))
            s.close()
            return Net.fd(b)

    assert greeneio.run(main) == -1


def test_bulk_both_ways_at_once(server_context, client_context):
    # A reader and a writer on each end at the same time (the send lock keeps
    # the records in order); 8 MiB each way, checked by hash.
    size = 8 << 20
    payload = os.urandom(1 << 20)

    def send(t: Any) -> None:
        for _ in range(size // len(payload)):
            Flow.write(t, [payload])
        Flow.shutdown(t, "send")

    def receive(t: Any) -> str:
        h = hashlib.sha256()
        buf = bytearray(65536)
        while True:
            try:
                n = Flow.single_read(t, buf)
            except EOFError:
                return h.hexdigest()
            h.update(memoryview(buf)[:n])

    def body(c: Any, s: Any) -> Any:
        results: list[str] = []
        Fiber.all(
            [
                lambda: send(c),
                lambda: send(s),
                lambda: results.append(receive(c)),
                lambda: results.append(receive(s)),
            ]
        )
        return results

    expected = hashlib.sha256(payload * (size // len(payload))).hexdigest()
    assert run_pair(server_context, client_context, body) == [expected, expected]


def test_tls_over_tls(server_context, client_context):
    # An inner session carried by an outer one (as through a TLS proxy).
    def main(env: Any) -> Any:
        with Switch() as sw:
            outer_c, outer_s = tls_pair(sw, server_context, client_context)
            c, s = Fiber.pair(
                lambda: Tls.client_of_flow(outer_c, host="example.test", context=client_context),
                lambda: Tls.server_of_flow(outer_s, context=server_context),
            )
            with c, s:
                Flow.copy_string("inner", c)
                Flow.shutdown(c, "send")
                return Flow.read_all(s)

    assert greeneio.run(main) == b"inner"


def test_bad_arguments(server_context, client_context):
    def main(env: Any) -> None:
        with Switch() as sw:
            a, _b = Net.socketpair_stream(sw=sw)
            with pytest.raises(TypeError, match="flow must be a two-way flow"):
                Tls.client_of_flow(object(), host="x")
            with pytest.raises(ValueError, match="host is required"):
                Tls.client_of_flow(a, context=client_context)
            with pytest.raises(TypeError, match="host must be a str"):
                Tls.client_of_flow(a, host=b"x")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="host must not be empty"):
                Tls.client_of_flow(a, host="")
            with pytest.raises(TypeError, match="context must be an ssl.SSLContext"):
                Tls.client_of_flow(a, host="x", context="ctx")  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="alpn must be a list"):
                Tls.client_of_flow(a, host="x", alpn="h2")
            with pytest.raises(ValueError, match="alpn names must be 1 to 255"):
                Tls.client_of_flow(a, host="x", alpn=[""])
            with pytest.raises(TypeError, match="allow_ragged_eof must be a bool"):
                Tls.client_of_flow(a, host="x", allow_ragged_eof=1)  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="is a client context"):
                Tls.server_of_flow(a, context=client_context)
            with pytest.raises(TypeError, match="t must be a TLS flow"):
                Tls.version(a)
            with pytest.raises(TypeError, match="handler must be callable"):
                Tls.handler(None, context=server_context)  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="handshake_timeout must be >= 0"):
                Tls.handler(lambda f, a: None, context=server_context, handshake_timeout=-1)
            assert Net.fd(a) != -1  # bad arguments leave the flow alone

    greeneio.run(main)


def _open_fds() -> set[int]:
    return {int(x) for x in os.listdir("/proc/self/fd")}


def test_a_cancelled_write_leaves_the_stream_whole(server_context, client_context):
    # A write cut by a timeout (the peer was not reading) may have sent a
    # prefix; what follows still arrives after it, record by record.
    payload = os.urandom(1 << 20) * 16

    def main(env: Any) -> Any:
        with Switch() as sw:
            c, s = tls_pair(sw, server_context, client_context)
            with pytest.raises(Time.Timeout):
                Time.with_timeout(env.mono_clock, 0.1, lambda: Flow.write(c, [payload]))

            def finish() -> None:
                Flow.copy_string("END", c)
                Flow.shutdown(c, "send")

            _, got = Fiber.pair(finish, lambda: Flow.read_all(s))
            c.close()
            s.close()
            return got

    got = greeneio.run(main)
    assert got.endswith(b"END") and 0 < len(got) - 3 < len(payload)
    assert payload.startswith(got[:-3])


def test_close_does_not_wait_long_for_a_peer_that_does_not_read(server_context, client_context):
    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            c, _s = Fiber.pair(
                lambda: Tls.client_of_flow(a, host="localhost", context=client_context),
                lambda: Tls.server_of_flow(b, context=server_context),
            )
            with pytest.raises(Time.Timeout):  # fill every buffer on the way
                Time.with_timeout(env.mono_clock, 0.1, lambda: Flow.write(c, [b"x" * (64 << 20)]))
            t0 = Time.now(env.mono_clock)
            c.close()
            return Time.now(env.mono_clock) - t0, Net.fd(a)

    took, fd = greeneio.run(main)
    assert fd == -1
    assert 0.5 < took < 5  # FAREWELL_SECONDS (1 s): bounded, not forever


@pytest.mark.parametrize("with_cert", [True, False])
def test_mutual_tls(ca, server_context, client_context, with_cert):
    server_context.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server_context)
    if with_cert:
        ca.issue_cert("client@example.test").configure_cert(client_context)

    def main(env: Any) -> Any:
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            server = Fiber.fork_promise(
                lambda: Tls.server_of_flow(b, context=server_context), sw=sw
            )
            c = Tls.client_of_flow(a, host="localhost", context=client_context)
            try:
                s = server.await_()
            except Tls.Error as e:
                with pytest.raises(Tls.Error) as info:  # TLS 1.3: told at the first read
                    Flow.read_all(c)
                return "refused", str(e), str(info.value)
            Flow.copy_string("hi", c)
            Flow.shutdown(c, "send")
            assert Flow.read_all(s) == b"hi"
            return "accepted", Tls.peer_certificate(s)["subjectAltName"], None

    outcome, detail, client_saw = greeneio.run(main)
    if with_cert:
        assert outcome == "accepted" and detail == (("email", "client@example.test"),)
    else:
        assert outcome == "refused" and "certificate" in detail.lower()
        assert "alert" in client_saw.lower()
