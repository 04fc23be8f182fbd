"""greeneio echo server for ../shared/bench (the harness's server contract).

    python benchmarks/echo_server.py --port 7000 [--workers N]

``--workers N`` is ``additional_domains`` (worker processes besides this
one). Runs until SIGTERM, then stops accepting and drains (1 s grace).
"""

from __future__ import annotations

import argparse
import signal

import gevent

from greeneio import Flow, Net, Promise, Switch, run


def echo(flow, _addr):
    Flow.copy(flow, flow)


def main(env, port: int, workers: int) -> None:
    stop, set_stop = Promise.create()
    with Switch() as sw:
        addr = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, port)
        server = Net.listen(env.net, addr, sw=sw, backlog=1024, reuse_addr=True)
        term = gevent.signal_handler(signal.SIGTERM, Promise.try_resolve, set_stop, None)
        sw.on_release(term.cancel)
        domains = (env.domain_mgr, workers) if workers else None
        Net.run_server(
            server,
            echo,
            on_error=lambda e: None,  # clients that reset are expected under load
            additional_domains=domains,
            stop=stop,
            grace=1.0,
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=0, help="additional worker processes")
    args = ap.parse_args()
    run(lambda env: main(env, args.port, args.workers))
