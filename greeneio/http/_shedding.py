"""Shedding: how a full server keeps answering new clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greeneio._core.args import int_arg

if TYPE_CHECKING:
    from greeneio.http._connection import Connection

__all__ = ["Shed", "Shedding"]


class Shed(Exception):
    """Why a connection is closed to make room (``Shedding``)."""


class Shedding:
    """Keeps a full server answering new clients: give the same ``Shedding`` to
    every ``serve_connection`` of a server whose connections are limited to
    ``limit`` (``run_server``'s ``max_connections``; per process with workers).

    Whenever a new connection brings the count to ``limit``, the oldest
    connection that has not sent a complete request head (a slow or silent
    client, or one idle between requests) is closed: with 408 if it had begun a
    head or never sent a request, silently if it was idle after a response. So
    a slowloris crowd cannot hold every slot while clients wait in the listen
    backlog: each new connection frees a slot for the next. ``shed`` counts them.
    """

    __slots__ = ("_conns", "limit", "shed")

    # Nothing is done per request: a connection says when it began waiting for
    # a head (``waiting_since``, a clock reading; None while a request runs),
    # and the victim is looked for only when the limit is reached.

    def __init__(self, limit: int) -> None:
        self.limit = int_arg(limit, "Http.Shedding", "limit", min=1)
        self._conns: dict[Connection, None] = {}  # oldest first
        #: Connections closed to make room, so far.
        self.shed = 0

    def _enter(self, conn: Connection) -> None:
        conns = self._conns
        if len(conns) + 1 >= self.limit:
            victim = None
            since = 0.0
            for c in conns:  # the one waiting longest; of equals, the oldest
                t = c.waiting_since
                if t is not None and (victim is None or t < since):
                    cc = c.cc
                    if cc is not None and not cc.finished and cc.reason is None:
                        victim, since = c, t
            if victim is not None:
                assert victim.cc is not None
                self.shed += 1
                victim.expired = victim.phase
                victim.cc.cancel(Shed("closed to make room for a new connection"))
        conns[conn] = None

    def _leave(self, conn: Connection) -> None:
        self._conns.pop(conn, None)

    def __repr__(self) -> str:
        return f"<Http.Shedding {len(self._conns)}/{self.limit}, {self.shed} shed>"
