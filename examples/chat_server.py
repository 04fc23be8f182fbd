"""A chat server: every line a client sends goes to every other client.

    python examples/chat_server.py [tcp:127.0.0.1:7001]

Each connection is a fiber reading lines; a shared dict holds who is present.
A client that cannot be written to is dropped, without disturbing the others.
"""

from __future__ import annotations

import contextlib
import sys

from greeneio import Buf_read, Flow, Net, Switch, run, traceln

clients: dict[object, object] = {}  # addr -> flow


def broadcast(sender: object, text: str) -> None:
    for addr, flow in list(clients.items()):
        if addr != sender:
            try:
                Flow.copy_string(text, flow)
            except OSError:
                clients.pop(addr, None)


def handle(flow, addr) -> None:
    clients[addr] = flow
    broadcast(addr, f"* {addr} joined\n")
    try:
        for line in Buf_read.of_flow(flow, max_size=4096).lines():
            broadcast(addr, f"[{addr}] {line.decode(errors='replace')}\n")
    finally:
        clients.pop(addr, None)
        broadcast(addr, f"* {addr} left\n")


def main(env, where: str = "tcp:127.0.0.1:7001") -> None:
    with Switch() as sw:
        server = Net.listen(env.net, Net.Sockaddr.parse(where), sw=sw, backlog=64, reuse_addr=True)
        traceln("chat on %s", Net.listening_addr(server))
        Net.run_server(server, handle, on_error=lambda e: traceln("client error: %s", e))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        run(lambda env: main(env, *sys.argv[1:2]))
