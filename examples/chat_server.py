"""A chat server: every line a client sends goes to every other client.

    python examples/chat_server.py [tcp:127.0.0.1:7001]

Each connection has two fibers: a reader, which broadcasts the lines the
client sends, and a writer, which sends the client what the room says. They
meet in the client's outbox, a bounded ``Stream`` of ``QUEUE`` messages.
Broadcasting never waits: it puts the message in each outbox that has room.

A client that stops reading never slows the room. Its writer blocks on the
socket and its outbox fills; the next message for it is then dropped, together
with everything still queued, and a notice takes their place. When the client
reads again it gets ``* N messages dropped (you were not reading)`` and then
what the room said since; it stays connected. A client whose input ends (or
whose connection fails) has left: what was queued for it is discarded and
the connection closed.
"""

from __future__ import annotations

import contextlib
import sys

from greeneio import Buf_read, Fiber, Flow, Net, Stream, Switch, run, traceln

#: How many messages a client may fall behind before its outbox is dropped.
QUEUE = 64

#: Queued in place of dropped messages; the writer turns it into the notice.
DROPPED = object()


class Client:
    """One member of the room: its outbox, and how many messages it lost."""

    def __init__(self) -> None:
        self.outbox: Stream.Stream[object] = Stream.create(QUEUE)
        self.dropped = 0

    def offer(self, text: str) -> None:
        """Queue ``text`` for this client without ever blocking the room."""
        outbox = self.outbox
        if len(outbox) < QUEUE:
            outbox.add(text)  # there is room: this never waits
            return
        # Not reading: drop this message and the whole queue, leave a notice.
        while (item := outbox.take_nonblocking()) is not None:
            if item is not DROPPED:
                self.dropped += 1
        self.dropped += 1
        outbox.add(DROPPED)

    def write_loop(self, flow: object) -> None:
        """Send the outbox to the client, one message at a time, until it fails."""
        while True:
            item = self.outbox.take()
            if item is DROPPED:
                item = f"* {self.dropped} messages dropped (you were not reading)\n"
                self.dropped = 0
            try:
                Flow.copy_string(str(item), flow)
            except OSError:
                return  # the client has gone: its reader ends too


clients: dict[object, Client] = {}  # addr -> Client


def broadcast(sender: object, text: str) -> None:
    for addr, client in clients.items():  # offer never switches fibers
        if addr != sender:
            client.offer(text)


def read_loop(flow: object, addr: object) -> None:
    for line in Buf_read.of_flow(flow, max_size=4096).lines():
        broadcast(addr, f"[{addr}] {line.decode(errors='replace')}\n")
        # Let the writers send it before the next line: many lines can arrive
        # in one read, and the outboxes of clients that do read must not fill.
        Fiber.yield_()


def handle(flow: object, addr: object) -> None:
    me = Client()
    clients[addr] = me
    broadcast(addr, f"* {addr} joined\n")
    try:
        # Whichever side ends first (input over, or output failed) stops the other.
        Fiber.first(lambda: read_loop(flow, addr), lambda: me.write_loop(flow))
    finally:
        del clients[addr]
        broadcast(addr, f"* {addr} left\n")


def main(env, where: str = "tcp:127.0.0.1:7001") -> None:
    with Switch() as sw:
        server = Net.listen(env.net, Net.Sockaddr.parse(where), sw=sw, backlog=64, reuse_addr=True)
        traceln("chat on %s", Net.listening_addr(server))
        Net.run_server(server, handle, on_error=lambda e: traceln("client error: %s", e))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        run(lambda env: main(env, *sys.argv[1:2]))
