"""greeneio HTTPS (TLS) keep-alive "hello world" for ../shared/bench's https suite.

    python benchmarks/https_hello.py --port 8443 --cert cert.pem --key key.pem

``http_hello.py``'s algorithm (read until CRLFCRLF, answer each request with a
fixed 200) behind ``Tls.handler``: a TLS handshake per connection, then TLS
records both ways. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import ssl

from greeneio import Flow, Net, Promise, Signal, Switch, run
from greeneio import tls as Tls

RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!"
EOL = b"\r\n\r\n"


def hello(flow, _addr) -> None:
    buf = memoryview(bytearray(65536))
    pending = b""
    while True:
        try:
            n = Flow.single_read(flow, buf)
        except (EOFError, OSError):
            return
        data = bytes(buf[:n])
        pending = pending + data if pending else data
        count = pending.count(EOL)
        if count:
            Flow.write(flow, [RESP * count])
            pending = pending[pending.rfind(EOL) + 4 :]
        elif len(pending) > 65536:
            return


def main(env, port: int, workers: int, context: ssl.SSLContext) -> None:
    stop, set_stop = Promise.create()
    with Switch() as sw:
        addr = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, port)
        server = Net.listen(env.net, addr, sw=sw, backlog=1024, reuse_addr=True)
        Signal.subscribe(
            env.signals, signal.SIGTERM, lambda _: Promise.try_resolve(set_stop, None), sw=sw
        )
        handler = Tls.handler(hello, context=context, alpn=["http/1.1"], allow_ragged_eof=True)
        Net.run_server(
            server,
            handler,
            on_error=lambda e: None,
            additional_domains=(env.domain_mgr, workers) if workers else None,
            stop=stop,
            grace=1.0,
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True, help="certificate chain (PEM)")
    ap.add_argument("--key", required=True, help="its private key (PEM)")
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    run(lambda env: main(env, args.port, args.workers, ctx))
