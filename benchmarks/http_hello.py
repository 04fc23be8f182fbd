"""greeneio HTTP/1.1 keep-alive "hello world" for ../shared/bench's http suite.

    python benchmarks/http_hello.py --port 8000

Same algorithm as the harness's peers: read until CRLFCRLF (no request bodies),
answer each request with a fixed 200. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import signal

import gevent

from greeneio import Flow, Net, Promise, Switch, run

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


def main(env, port: int, workers: int) -> None:
    stop, set_stop = Promise.create()
    with Switch() as sw:
        addr = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, port)
        server = Net.listen(env.net, addr, sw=sw, backlog=1024, reuse_addr=True)
        term = gevent.signal_handler(signal.SIGTERM, Promise.try_resolve, set_stop, None)
        sw.on_release(term.cancel)
        Net.run_server(
            server,
            hello,
            on_error=lambda e: None,
            additional_domains=(env.domain_mgr, workers) if workers else None,
            stop=stop,
            grace=1.0,
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    run(lambda env: main(env, args.port, args.workers))
