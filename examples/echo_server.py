"""An echo server with a bounded number of connections and a graceful stop.

    python examples/echo_server.py [tcp:127.0.0.1:7000]

Try it with ``nc 127.0.0.1 7000``. SIGTERM stops accepting and gives open
connections 5 seconds to finish, then cancels the rest. Ctrl-C closes every
connection at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys

import gevent

from greeneio import Flow, Net, Promise, Switch, run, traceln


def echo(flow, addr):
    traceln("connection from %s", addr)
    Flow.copy(flow, flow)
    traceln("%s finished", addr)


def main(env, text="tcp:127.0.0.1:7000"):
    addr = Net.Sockaddr.parse(text)
    stop, set_stop = Promise.create()
    with Switch() as sw:
        server = Net.listen(env.net, addr, sw=sw, backlog=128, reuse_addr=True)
        traceln("echo server on %s", Net.listening_addr(server))
        handler = gevent.signal_handler(signal.SIGTERM, Promise.try_resolve, set_stop, "SIGTERM")
        sw.on_release(handler.cancel)
        result = Net.run_server(
            server,
            echo,
            on_error=lambda e: traceln("handler failed: %s", e),
            max_connections=1000,
            stop=stop,
            grace=5.0,
        )
        traceln("stopped (%s)", result)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: connections already closed
        run(lambda env: main(env, *sys.argv[1:2]))
