"""Shedding: how a full server keeps answering new clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greeneio._core.args import int_arg, seconds_arg

if TYPE_CHECKING:
    from greeneio.http._connection import Connection
    from greeneio.protocols import Alarm, AlarmClock

__all__ = ["Shed", "Shedding"]


class Shed(Exception):
    """Why a connection is closed to make room (``Shedding``)."""


class Shedding:
    """Keeps a full server answering new clients: give the same ``Shedding`` to
    every ``serve_connection`` of a server whose connections are limited to
    ``limit`` (``run_server``'s ``max_connections``; per process with workers).

    Whenever a new connection brings the count to ``limit``, the connection
    that has waited longest for a complete request head (a slow or silent
    client, or one idle between requests), if it has waited ``min_wait``
    seconds (default 1) or more, is closed: with 408 if it had begun a head
    or never sent a request, silently if it was idle after a response. So a
    slowloris crowd cannot hold every slot while clients wait in the listen
    backlog (each new connection frees a slot for the next), while busy
    keep-alive clients, idle for a moment between requests, are left alone
    even at the limit. ``shed`` counts the connections closed.
    """

    __slots__ = ("_alarm", "_conns", "limit", "min_wait", "shed")

    # Nothing is done per request: a connection says when it began waiting for
    # a head (``waiting_since``, a clock reading; None while a request runs),
    # and the victim is looked for only when the limit is reached. If none has
    # waited min_wait yet, an alarm looks again when the longest waiting one
    # will have (the server accepts no one until a slot frees, so the chain
    # of "each new connection sheds one" must be restarted by time).

    def __init__(self, limit: int, *, min_wait: float = 1.0) -> None:
        self.limit = int_arg(limit, "Http.Shedding", "limit", min=1)
        self.min_wait = seconds_arg(min_wait, "Http.Shedding", "min_wait", min=0)
        self._conns: dict[Connection, None] = {}  # oldest first
        self._alarm: Alarm | None = None
        #: Connections closed to make room, so far.
        self.shed = 0

    def _enter(self, conn: Connection) -> None:
        conns = self._conns
        conns[conn] = None
        if len(conns) >= self.limit:
            self._make_room(conn.clock)

    def _leave(self, conn: Connection) -> None:
        self._conns.pop(conn, None)
        if not self._conns and self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None

    def _make_room(self, clock: AlarmClock) -> None:
        """Shed the connection waiting longest for a head, if it has waited
        ``min_wait``; else look again when it will have (an alarm)."""
        now = clock.now()
        victim = None
        since = now - self.min_wait  # waiting since then, or longer
        oldest: float | None = None  # the longest wait that is not long enough yet
        for c in self._conns:  # the one waiting longest; of equals, the oldest
            t = c.waiting_since
            if t is None:
                continue
            cc = c.cc
            if cc is None or cc.finished or cc.reason is not None:
                continue  # not serving yet, or already on its way out
            if t < since or (t == since and victim is None):
                victim, since = c, t
            elif oldest is None or t < oldest:
                oldest = t
        if victim is not None:
            assert victim.cc is not None
            self.shed += 1
            victim.expired = victim.phase
            victim.cc.cancel(Shed("closed to make room for a new connection"))
        elif oldest is not None and self._alarm is None:
            self._alarm = clock.call_at(oldest + self.min_wait, lambda: self._ring(clock))

    def _ring(self, clock: AlarmClock) -> None:
        # The alarm, outside any fiber.
        self._alarm = None
        if len(self._conns) >= self.limit:
            self._make_room(clock)

    def __repr__(self) -> str:
        return f"<Http.Shedding {len(self._conns)}/{self.limit}, {self.shed} shed>"
