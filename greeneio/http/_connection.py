"""The per-connection loop: feeds the parser, runs the handler, writes the
responses, and owns the timeouts and the drain.

Theory of operation. ``serve_connection`` runs the loop in the connection's
own fiber, inside a cancellation sub-context. The connection is always in
one *phase*, and the phase says which deadline applies:

========  ==================================  ===============================
phase     waiting for                         deadline, when it passes
========  ==================================  ===============================
IDLE      the first byte of the next request  accept + header_timeout (first
                                              request: 408), else last
                                              response + keepalive_timeout
                                              (silent close)
HEAD      the rest of a head                  its first byte + header_timeout
                                              (408, close)
BODY      more request body (a handler read)  now + body_timeout, per read
                                              (408 if nothing was sent, else
                                              close)
APP       the handler, doing its own work     none
WRITE     the client to take response bytes   now + write_timeout, moved on
                                              while bytes go out (close)
========  ==================================  ===============================

Setting a deadline is an assignment: no timer is started or stopped per
request, and no fiber watches. One alarm of the clock (``IAlarmClock``)
per connection rings at the deadline or after the shortest timeout,
whichever is sooner, so it never oversleeps a deadline set later (every
deadline is at least the shortest timeout away when set); when one has
passed it cancels the sub-context, and the loop answers (408) or closes as
the table says. The connection is also one of ``stop``'s waiters, without a
fiber: once it resolves, every response says ``Connection: close``, and a
connection idle between requests is closed at once (a new connection that
has sent nothing gets ``FRESH_GRACE``, a quarter of a second, for its first
request to arrive). So an idle connection costs its own fiber and buffers,
nothing more.

Responses go out in request order (the parser holds a pipelined request
until the current one is answered); a response's head is held back until
its first body bytes, so the two leave in one write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from collections.abc import Callable
from typing import Final

from greeneio import flow as Flow
from greeneio import time as Time
from greeneio._core import cancel as Cancel
from greeneio._core import fiber as Fiber
from greeneio._core._greenlet import getcurrent
from greeneio._core.args import bool_arg, callable_arg
from greeneio._core.cancel import CancelContext, Cancelled
from greeneio._core.promise import Promise
from greeneio._core.switch import Switch
from greeneio._flows import Buffer
from greeneio.http._body import DRAIN_LIMIT, Body
from greeneio.http._limits import Limits
from greeneio.http._parser import RequestParser
from greeneio.http._request import HttpError, Request
from greeneio.http._responder import Responder
from greeneio.http._response import DateCache, error_response
from greeneio.http._shedding import Shed, Shedding
from greeneio.interfaces import (
    IAlarmClock,
    IClock,
    IFd,
    INonblockingSource,
    IShutdown,
    ISink,
    ISocket,
    ISource,
)
from greeneio.net import _api as _net
from greeneio.net.errors import InvalidOption
from greeneio.net.sockopt import Sockopt
from greeneio.protocols import Alarm, AlarmClock, Clock, Source, TwoWay

__all__ = ["ClientDisconnected", "Connection", "Handler", "serve_connection"]

_log = logging.getLogger("greeneio.http")

#: ``handler(request, responder)``: answers one request.
Handler = Callable[[Request, Responder], object]

_IDLE, _HEAD, _BODY, _APP, _WRITE = range(5)
_PHASES: Final = ("idle", "head", "body", "app", "write")

#: After an error response: how long, and how much, to read and drop what
#: the client still sends (so that it sees the response, not a reset).
LINGER_SECONDS: Final = 1.0
#: Once stopping, how long a new connection that has sent nothing yet is kept.
FRESH_GRACE: Final = 0.25
LINGER_BYTES: Final = 1 << 20

_DEFAULT_LIMITS: Final = Limits()
_SYSTEM_DATES: Final = DateCache(time.time)


class _ClientGone(Exception):
    """The client closed or reset the connection (an ordinary end, logged at DEBUG)."""


class ClientDisconnected(Exception):
    """Why a handler is cancelled (``Cancelled.reason``) when its client closes
    the connection while the request runs (``cancel_on_disconnect=True``)."""


class _Finished(Exception):
    """Why the disconnect watcher of a request is cancelled: the handler returned."""


class _Deadline(Exception):
    """The reason the loop's context is cancelled when a deadline passes."""


class _Stopping(Exception):
    """The reason an idle connection's context is cancelled once ``stop`` resolves."""


def serve_connection(
    flow: TwoWay,
    handler: Handler,
    *,
    clock: AlarmClock,
    limits: Limits | None = None,
    stop: Promise[object] | None = None,
    log: logging.Logger | None = None,
    wall_clock: Clock | None = None,
    on_response: Callable[[Request | None, int, int], object] | None = None,
    cancel_on_disconnect: bool = False,
    shedding: Shedding | None = None,
) -> None:
    """Serve HTTP/1.1 requests on ``flow`` until the connection should close;
    then return (the caller closes ``flow``: ``run_server`` does).

    Each request is answered by ``handler(request, responder)`` in this fiber,
    in order. ``clock`` (``env.mono_clock``) measures ``limits``' timeouts;
    ``stop`` (a promise) starts the drain; ``wall_clock`` gives the ``Date``
    (default: the system time). ``on_response(request, status, body_bytes)``
    is called after each response (an access log); ``request`` is None for
    a refused head. ``log`` (default the
    ``greeneio.http`` logger) gets disconnects and refusals at DEBUG and
    handler failures, with their traceback, at ERROR.

    With ``cancel_on_disconnect``, a handler whose client closes the connection
    while it runs (once the request body has been read) is cancelled at once
    (``Cancelled`` with a :class:`ClientDisconnected` reason, in the call it
    blocks in or its next one); a client that half-closes its side counts as
    gone. Off by default. On a flow that provides ``INonblockingSource``
    (gevent's sockets) the watch is a readiness call, no fiber; on others
    (a TLS flow) a watcher fiber per request. ``shedding`` (an
    :class:`Shedding` shared by the server's connections) closes the oldest
    connection without a complete head when the server is full.

    A request the engine refuses never reaches ``handler``; it is answered
    (400, 408, 413, 414, 417, 431, 501, 505) with ``Connection: close``. A
    handler that raises :class:`HttpError` before responding gets that status;
    any other exception a 500; either way the connection closes. ``Cancelled``
    is not caught.
    """
    if not (ISource.providedBy(flow) and ISink.providedBy(flow)):
        raise TypeError(f"Http.serve_connection: flow must be a two-way flow, not {flow!r}")
    callable_arg(handler, "Http.serve_connection", "handler")
    if not IAlarmClock.providedBy(clock):
        raise TypeError(
            f"Http.serve_connection: clock must provide IAlarmClock (env.mono_clock), not {clock!r}"
        )
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"Http.serve_connection: limits must be an Http.Limits, not {limits!r}")
    if stop is not None and not isinstance(stop, Promise):
        raise TypeError(f"Http.serve_connection: stop must be a Promise, not {stop!r}")
    if shedding is not None and not isinstance(shedding, Shedding):
        raise TypeError(
            f"Http.serve_connection: shedding must be an Http.Shedding, not {shedding!r}"
        )
    if wall_clock is not None and not IClock.providedBy(wall_clock):
        raise TypeError(
            f"Http.serve_connection: wall_clock must provide IClock, not {wall_clock!r}"
        )
    Connection(
        flow,
        handler,
        clock,
        limits or _DEFAULT_LIMITS,
        stop,
        log or _log,
        DateCache(wall_clock.now) if wall_clock is not None else _SYSTEM_DATES,
        on_response,
        bool_arg(cancel_on_disconnect, "Http.serve_connection", "cancel_on_disconnect"),
        shedding,
    ).run()


class _StopEntry:
    """A connection's place among ``stop``'s waiters (no fiber waits there)."""

    __slots__ = ("conn", "fiber")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.fiber: object = True  # None once woken or withdrawn

    def wake(self, _value: object = None) -> bool:
        if self.fiber is None:
            return False
        self.fiber = None
        self.conn._stop_resolved()
        return True


class Connection:
    __slots__ = (
        "alarm",
        "cancel_on_disconnect",
        "cc",
        "clock",
        "close_idle_at",
        "continue_sent",
        "dates",
        "deadline",
        "expired",
        "flow",
        "handler",
        "limits",
        "log",
        "no_body",
        "on_response",
        "parser",
        "peek_flow",
        "phase",
        "probe",
        "progress_mark",
        "ready",
        "requests",
        "responder",
        "shedding",
        "stop",
        "stop_entry",
        "stopping",
        "sw",
        "tick",
        "waiting_since",
    )

    def __init__(
        self,
        flow: TwoWay,
        handler: Handler,
        clock: AlarmClock,
        limits: Limits,
        stop: Promise[object] | None,
        log: logging.Logger,
        dates: DateCache,
        on_response: Callable[[Request | None, int, int], object] | None,
        cancel_on_disconnect: bool,
        shedding: Shedding | None,
    ) -> None:
        self.shedding = shedding
        self.flow = flow
        self.cancel_on_disconnect = cancel_on_disconnect
        # The disconnect watch: a readiness call on a flow that offers one
        # (gevent's sockets), else a watcher fiber per request in ``sw``.
        self.peek_flow: INonblockingSource | None = (
            flow if cancel_on_disconnect and INonblockingSource.providedBy(flow) else None
        )
        self.ready: Alarm | None = None  # the pending readiness call, while a handler runs
        self.sw: Switch | None = None
        self.handler = handler
        self.clock = clock
        self.limits = limits
        self.stop = stop
        self.log = log
        self.dates = dates
        self.on_response = on_response
        self.parser = RequestParser(limits)
        self.cc: CancelContext | None = None
        self.phase = _IDLE
        self.deadline: float | None = None
        self.expired = _IDLE
        self.progress_mark = 0  # what a copy had sent when the alarm last looked
        self.probe: Callable[[], int] | None = None  # bytes sent by a copy in progress
        self.requests = 0
        self.responder: Responder | None = None
        self.stopping = False
        self.continue_sent = False
        self.alarm: Alarm | None = None
        self.tick = 0.0  # the shortest timeout: the alarm rings at least this often
        self.close_idle_at: float | None = None  # once stopping: close if idle from then
        self.stop_entry: _StopEntry | None = None
        #: When it began waiting for a request head (None while a request runs).
        self.waiting_since: float | None = None
        self.no_body = Body(self, None)  # the body of every bodiless request

    # -- the fiber's life ----------------------------------------------------

    def run(self) -> None:
        self._nodelay()
        limits = self.limits
        now = self.waiting_since = self.clock.now()
        if limits.header_timeout is not None:
            self.deadline = now + limits.header_timeout
        shedding = self.shedding
        try:
            try:
                if shedding is not None:
                    shedding._enter(self)
                if self.cancel_on_disconnect and self.peek_flow is None:
                    with Switch(name="http connection") as sw:
                        self.sw = sw
                        Cancel.sub(self._serve)
                else:
                    Cancel.sub(self._serve)
            except Cancelled as c:
                if isinstance(c.reason, _Deadline | Shed):
                    self._timed_out(c.reason)
                elif isinstance(c.reason, ClientDisconnected):
                    self.log.debug("http: client went away: handler cancelled")
                elif not isinstance(c.reason, _Stopping):
                    raise
            finally:
                if shedding is not None:
                    shedding._leave(self)
        except _ClientGone as e:
            self.log.debug("http: client went away: %s", e.__cause__ or e)

    def _nodelay(self) -> None:
        # Small responses and streamed chunks must not wait for the client's
        # delayed ACK (Nagle): on TCP, send at once.
        if ISocket.providedBy(self.flow):
            with contextlib.suppress(InvalidOption, OSError):  # not TCP (a Unix socket)
                _net.setsockopt(self.flow, Sockopt.TCP_NODELAY, True)

    def _watch(self) -> None:
        """Start the alarm and join ``stop``'s waiters (in ``_serve``, once ``cc`` is set)."""
        timeouts = self.limits.timeouts()
        if timeouts:
            self.tick = min(timeouts)
            self._ring_by(self.clock.now() + self.tick)
        stop = self.stop
        if stop is not None:
            entry = _StopEntry(self)
            if stop._subscribe(entry):
                self.stop_entry = entry
            else:
                self._stop_resolved()  # accepted after the stop

    def _unwatch(self) -> None:
        alarm = self.alarm
        if alarm is not None:
            self.alarm = None
            alarm.cancel()
        entry = self.stop_entry
        if entry is not None:
            self.stop_entry = None
            if entry.fiber is not None:
                entry.fiber = None
                assert self.stop is not None
                self.stop._unsubscribe(entry)

    def _ring_by(self, t: float) -> None:
        """Make the alarm ring at ``t`` at the latest."""
        alarm = self.alarm
        if alarm is not None:
            alarm.cancel()
        self.alarm = self.clock.call_at(t, self._ring)

    def _ring(self) -> None:
        # The alarm, outside any fiber: it must not block or raise.
        self.alarm = None
        cc = self.cc
        if cc is None or cc.finished:
            return
        now = self.clock.now()
        c = self.close_idle_at
        if c is not None and now >= c:
            self.close_idle_at = c = None
            if self._idle():
                cc.cancel(_Stopping("stopping: idle connection closed"))
                return
        d = self.deadline
        if d is not None and now >= d:
            if self.phase == _WRITE and self.probe is not None and self._moved():
                assert self.limits.write_timeout is not None
                d = self.deadline = now + self.limits.write_timeout  # still moving
            else:
                self.expired = self.phase
                cc.cancel(_Deadline(f"{_PHASES[self.phase]} timeout"))
                return
        t = now + self.tick
        if d is not None and d < t:
            t = d
        if c is not None and c < t:
            t = c
        self.alarm = self.clock.call_at(t, self._ring)

    def _moved(self) -> bool:
        """True if a copy by sendfile sent bytes since the alarm last looked."""
        assert self.probe is not None
        try:
            done = self.probe()
        except OSError:
            return False
        moved = done != self.progress_mark
        self.progress_mark = done
        return moved

    def _idle(self) -> bool:
        """True between requests with nothing of the next one received."""
        parser = self.parser
        return self.phase == _IDLE and not parser.head_started() and not parser.buffered()

    def _stop_resolved(self) -> None:
        # In the fiber that resolved ``stop`` (or this one): must not block.
        self.stopping = True
        cc = self.cc
        if cc is None or cc.finished or not self._idle():
            return  # the loop sees ``stopping`` after the response
        if not self.requests:
            # A connection accepted just before the stop: its first request may
            # be on its way. It gets a moment, not the whole header timeout.
            self.close_idle_at = self.clock.now() + FRESH_GRACE
            self._ring_by(self.close_idle_at)
        else:
            cc.cancel(_Stopping("stopping: idle connection closed"))

    def _timed_out(self, why: BaseException) -> None:
        phase = self.expired
        self.log.debug("http: %s (while %s)", why, _PHASES[phase])
        responder = self.responder
        if phase == _HEAD or (phase == _IDLE and not self.requests):
            self._answer_error(HttpError(408, "request head not received in time"))
        elif phase == _BODY and (responder is None or not responder.committed):
            self._answer_error(HttpError(408, "request body not received in time"))

    def _answer_error(self, e: HttpError) -> None:
        """Outside the loop's context (after a timeout or a shed): answer, bounded
        in time, and close without lingering: the client was too slow already,
        and its slot is wanted (a full server sheds to serve new clients now)."""
        with contextlib.suppress(Time.Timeout):
            Time.with_timeout(
                self.clock,
                self.limits.write_timeout or LINGER_SECONDS,
                lambda: self._refuse(e, linger=False),
            )

    # -- the loop ------------------------------------------------------------

    def _serve(self, cc: CancelContext) -> None:
        self.cc = cc
        parser = self.parser
        handle = self._handle
        try:
            self._watch()
            while True:
                # The usual case: one read brings a whole head (or a pipelined
                # one is here already); anything else is _more_head's.
                if not parser.buffered():
                    self._fill()
                try:
                    request = parser.next_request()
                except HttpError as e:
                    self._refused(e)
                    return
                if request is None:
                    request = self._more_head()
                    if request is None:
                        return
                self.waiting_since = None
                if not handle(request):
                    return
        finally:
            self._unwatch()

    def _refused(self, e: HttpError) -> None:
        self.log.debug("http: refused: %s", e)
        self._refuse(e)

    def _more_head(self) -> Request | None:
        """Read until a whole head is in (the next request), the client is gone
        or stopping closes an idle connection (None)."""
        parser = self.parser
        while True:
            if parser.eof:
                return None
            if parser.head_started():
                if self.phase != _HEAD:
                    self.phase = _HEAD
                    t = self.limits.header_timeout
                    if self.requests and t is not None:
                        self.deadline = self.clock.now() + t
            elif self.requests and self.stopping:
                return None  # idle between requests: closed at once
            self._fill()
            try:
                request = parser.next_request()
            except HttpError as e:
                self._refused(e)
                return None
            if request is not None:
                return request

    def _handle(self, request: Request) -> bool:
        """Answer ``request``; True if the connection may carry another one."""
        self.phase = _APP
        self.deadline = None
        self.continue_sent = False
        responder = self.responder = Responder(self, request)
        if request.content_length or request.chunked:
            body = request.body = Body(self, request)
        else:
            body = request.body = self.no_body
        try:
            if self.cancel_on_disconnect and (body is self.no_body or self.parser.body_done):
                peek_flow = self.peek_flow
                if peek_flow is not None:
                    # The handler runs while a readiness call reads ahead (a
                    # pipelined request is kept) and cancels the loop's
                    # context if the client goes away (_peek).
                    self.ready = peek_flow.call_when_readable(self._peek)
                    try:
                        self.handler(request, responder)
                    finally:
                        ready = self.ready  # None: the last call was made, nothing is pending
                        self.ready = None
                        if ready is not None:
                            ready.cancel()
                else:
                    Cancel.sub(lambda cc: self._watched(cc, request, responder))
            else:
                self.handler(request, responder)
        except Cancelled as c:
            if not isinstance(c.reason, ClientDisconnected):
                raise
            self.log.debug("http: client went away during %r: handler cancelled", request)
            return False
        except HttpError as e:
            if responder.committed:
                self.log.debug("http: %s after the response began: closing", e)
            else:
                self.log.debug("http: refused: %s", e)
                self._refuse(e)
            return False
        except _ClientGone:
            raise
        except Exception as e:
            self.log.error(
                "http: handler failed on %s %r: %s: %s",
                request.method,
                request.target,
                type(e).__name__,
                e,
                exc_info=e,
            )
            if not responder.committed:
                self._refuse(HttpError(500, "the server failed to answer"))
            return False
        if body.error is not None and not responder.committed:
            self._refuse(body.error)  # the handler swallowed the error: answer it anyway
            return False
        if not responder.started:
            self.log.error("http: handler returned without responding to %r", request)
            self._refuse(HttpError(500, "the server failed to answer"))
            return False
        if not responder.finished:
            responder.finish()
        if self.on_response is not None:
            self.on_response(request, responder.status, responder.sent)
        if responder.broken or not responder.keep_alive or body.error is not None:
            return False
        parser = self.parser
        if body is not self.no_body and not parser.body_done and not body.drain():
            return False
        parser.start_next()
        self.requests += 1
        self.responder = None
        self.phase = _IDLE
        now = self.clock.now()
        self.waiting_since = now
        t = self.limits.keepalive_timeout
        self.deadline = None if t is None else now + t
        return not (self.stopping and not parser.buffered())

    def _peek(self) -> None:
        # The readiness call, outside any fiber: it must not block or raise.
        flow = self.peek_flow
        if self.ready is None or flow is None:
            return  # the handler has returned
        parser = self.parser
        if self._read_ahead_full():
            self.ready = None  # enough of the next request is kept: read no further
            return
        view = parser.read_buffer()
        try:
            try:
                n = flow.read_nonblocking(view)
            finally:
                view.release()
        except (EOFError, OSError) as e:
            self.ready = None
            if self.cc is not None:
                self._client_left(self.cc, e)
            return
        if n:
            parser.received(n)
        self.ready = flow.call_when_readable(self._peek)

    def _read_ahead_full(self) -> bool:
        """True once the disconnect watch holds as much of the next request as
        a head may take (it reads no further until the handler returns)."""
        limits = self.limits
        return self.parser.buffered() >= limits.max_request_line + limits.max_header_bytes

    def _client_left(self, cc: CancelContext, e: BaseException) -> None:
        """The disconnect watch saw the end of the stream or an error (``e``):
        cancel the handler's context ``cc``. Must not block."""
        if isinstance(e, EOFError):
            self.parser.eof_received()
        if not cc.finished:
            cc.cancel(ClientDisconnected("the client closed the connection"))

    def _watched(self, cc: CancelContext, request: Request, respond: Responder) -> None:
        """Run the handler in ``cc`` while a second fiber reads ahead and
        cancels ``cc`` if the client goes away."""
        assert self.sw is not None
        watcher: list[CancelContext] = []

        def watch(wcc: CancelContext) -> None:
            watcher.append(wcc)
            parser = self.parser
            try:
                while not self._read_ahead_full():  # a pipelined request may arrive: keep it
                    view = parser.read_buffer()
                    try:
                        wcc.check()
                        n = self.flow.single_read(view)
                    finally:
                        view.release()
                    parser.received(n)
            except (EOFError, OSError) as e:
                self._client_left(cc, e)

        def watcher_fiber() -> None:
            with contextlib.suppress(Cancelled):  # _Finished: the handler returned
                Cancel.sub(watch)

        Fiber.fork(watcher_fiber, sw=self.sw)
        try:
            self.handler(request, respond)
        finally:
            if watcher and not watcher[0].finished:
                watcher[0].cancel(_Finished())

    def body_blocks_reuse(self) -> bool:
        """True if what is left of the request body will not be drained (so the
        response must say ``Connection: close``)."""
        parser = self.parser
        if parser.body_done:
            return False
        request = parser.request
        if request is not None and request.expect_continue and not self.continue_sent:
            return True
        left = parser.body_remaining()
        return left is not None and left > DRAIN_LIMIT

    # -- I/O, each under its phase's deadline --------------------------------

    def _fill(self) -> None:
        """Read once into the parser (EOF is recorded there)."""
        parser = self.parser
        view = parser.read_buffer()
        try:
            # The provider itself (the flow was checked once, in serve_connection),
            # after the cancellation check that Flow.single_read would make.
            cc = getcurrent().cc
            if cc.reason is not None or cc.finished:
                cc.check()
            n = self.flow.single_read(view)
        except EOFError:
            parser.eof_received()
            return
        except OSError as e:
            raise _ClientGone("reading the request") from e
        finally:
            view.release()
        parser.received(n)

    def read_body(self) -> None:
        """Read more of a request body, under the body timeout."""
        t = self.limits.body_timeout
        self.phase = _BODY
        if t is not None:
            self.deadline = self.clock.now() + t
        try:
            self._fill()
        finally:
            self.phase = _APP
            self.deadline = None

    def write(self, bufs: list[Buffer]) -> None:
        """Write all of ``bufs``, under the write timeout (reset by progress)."""
        self.phase = _WRITE
        t = self.limits.write_timeout
        if t is not None:
            self.deadline = self.clock.now() + t
        flow = self.flow
        cc = getcurrent().cc
        try:
            while True:
                if cc.reason is not None or cc.finished:
                    cc.check()
                n = flow.single_write(bufs)
                if len(bufs) == 1 and n == len(bufs[0]):
                    return  # the usual case: one buffer, all sent
                while n:
                    first = bufs[0]
                    if n >= len(first):
                        n -= len(first)
                        bufs.pop(0)
                    else:
                        bufs[0] = memoryview(first)[n:]
                        n = 0
                if not bufs:
                    return
                if t is not None:  # some went out: the client is reading, slowly
                    self.deadline = self.clock.now() + t
        except (EOFError, OSError) as e:
            raise _ClientGone("writing the response") from e
        finally:
            self.phase = _APP
            self.deadline = None

    def copy(self, src: Source, length: int) -> int:
        """Send ``length`` bytes of ``src`` (by ``sendfile`` when they are the rest
        of a regular file); the count actually sent."""
        fd = src.fileno() if IFd.providedBy(src) else -1
        whole = False
        if fd >= 0:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode):
                start = os.lseek(fd, 0, os.SEEK_CUR)
                whole = st.st_size - start == length
        if not whole:
            return self._copy_bounded(src, length)

        def probe() -> int:
            return os.lseek(fd, 0, os.SEEK_CUR) - start

        self.probe = probe
        self._start_write()
        try:
            Flow.copy(src, self.flow)
        except (EOFError, OSError) as e:
            raise _ClientGone("sending a file") from e
        finally:
            self.probe = None
            self.phase = _APP
            self.deadline = None
        return probe()

    def _copy_bounded(self, src: Source, length: int) -> int:
        buf = bytearray(min(length, 65536))
        left = length
        while left:
            view = memoryview(buf)[: min(left, len(buf))]
            try:
                n = Flow.single_read(src, view)
            except EOFError:
                break
            self.write([bytes(view[:n])])
            left -= n
        return length - left

    def _start_write(self) -> None:
        self.phase = _WRITE
        t = self.limits.write_timeout
        if t is not None:
            self.deadline = self.clock.now() + t
            self.progress_mark = 0

    def _refuse(self, e: HttpError, linger: bool = True) -> None:
        """Answer ``e`` with ``Connection: close``, then (``linger``) read and drop
        what the client still sends for a while, so that it reads the answer
        rather than a reset."""
        try:
            self.write([error_response(e.status, e.detail, self.dates.line())])
        except _ClientGone:
            return
        if self.on_response is not None:
            self.on_response(self.parser.request, e.status, 0)
        flow = self.flow
        if not IShutdown.providedBy(flow) or self.parser.eof:
            return
        try:
            Flow.shutdown(flow, "send")
        except OSError:
            return
        if not linger:
            return
        buf = bytearray(16384)

        def drop() -> None:
            total = 0
            while total < LINGER_BYTES:
                total += Flow.single_read(flow, buf)

        with contextlib.suppress(Time.Timeout, EOFError, OSError):
            Time.with_timeout(self.clock, LINGER_SECONDS, drop)
