"""Net.with_tcp_connect(..., tls=): a TLS flow to the host, over real loopback."""

from __future__ import annotations

import ssl

import pytest

import greeneio
from greeneio import Buf_read, Fiber, Flow, Net, Promise, Switch, Time, Tls

pytestmark = pytest.mark.timeout(30)
V4 = Net.Ipaddr.V4.loopback


def serve_one_echo_line(server_context: ssl.SSLContext, body):
    """Run ``body(port)`` beside a TLS server that echoes one line per connection."""

    def handler(flow, _addr):
        r = Buf_read.of_flow(flow, max_size=1024)
        Flow.copy_string(r.line().decode() + "\n", flow)

    def main(env):
        with Switch() as sw:
            listening = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)
            port = Net.listening_addr(listening).port
            stop, set_stop = Promise.create()
            tls_handler = Tls.handler(handler, context=server_context, handshake_timeout=5)
            Fiber.fork(
                lambda: Net.run_server(listening, tls_handler, on_error=errors.append, stop=stop),
                sw=sw,
            )
            try:
                return body(env, port)
            finally:
                Promise.try_resolve(set_stop, None)

    errors: list[BaseException] = []
    return greeneio.run(main), errors


def test_tls_true_context_verifies_and_fn_gets_a_tls_flow(server_context, client_context):
    def body(env, port):
        def fn(t):
            assert isinstance(t, Tls.TlsFlow)
            assert Tls.server_hostname(t) == "localhost"
            Flow.copy_string("hello\n", t)
            return Buf_read.of_flow(t, max_size=100).line()

        return Net.with_tcp_connect(
            env.net, fn, host="localhost", service=str(port), tls=client_context
        )

    result, errors = serve_one_echo_line(server_context, body)
    assert result == b"hello"
    assert errors == []


def test_tls_true_uses_the_default_context_which_rejects_the_test_ca(server_context):
    def body(env, port):
        with pytest.raises(Tls.CertificateError) as info:
            Net.with_tcp_connect(
                env.net, lambda t: None, host="localhost", service=str(port), tls=True
            )
        return info.value

    e, _errors = serve_one_echo_line(server_context, body)
    assert isinstance(e, ssl.SSLCertVerificationError)
    assert any(line.startswith('connecting to "localhost":') for line in e.context)


def test_a_handshake_that_never_ends_is_bounded_by_timeout(client_context):
    def main(env):
        with Switch() as sw:
            # A server that accepts but never speaks TLS.
            listening = Net.listen(env.net, Net.Sockaddr.Tcp(V4, 0), sw=sw, backlog=8)
            port = Net.listening_addr(listening).port
            Fiber.fork_daemon(lambda: Net.accept(listening, sw=sw) and Fiber.await_cancel(), sw=sw)
            with pytest.raises(Net.ConnectionTimeout):
                Net.with_tcp_connect(
                    env.net,
                    lambda t: None,
                    host="localhost",
                    service=str(port),
                    timeout=Time.Timeout.seconds(env.mono_clock, 0.2),
                    tls=client_context,
                )

    greeneio.run(main)


def test_tls_must_be_none_true_or_a_context():
    def main(env):
        with pytest.raises(TypeError, match="tls must be None, True or an ssl.SSLContext"):
            Net.with_tcp_connect(env.net, lambda t: None, host="localhost", service="1", tls="yes")

    greeneio.run(main)
