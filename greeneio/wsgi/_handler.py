"""``handler``: the WSGI server as a ``Net.run_server`` connection handler."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any, Final

from greeneio import http as Http
from greeneio import tls as Tls
from greeneio._core import _greenlet
from greeneio._core.args import bool_arg, callable_arg
from greeneio._core.promise import Promise
from greeneio.interfaces import IAlarmClock, IClock
from greeneio.protocols import AlarmClock, Clock, TwoWay
from greeneio.wsgi._access import AccessLog
from greeneio.wsgi._environ import Environ, ErrorStream, template
from greeneio.wsgi._response import Exchange, FileWrapper

__all__ = ["handler"]

_log: Final = logging.getLogger("greeneio.wsgi")

#: A WSGI application: ``app(environ, start_response) -> iterable of bytes``.
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def handler(
    app: App,
    *,
    clock: AlarmClock | None = None,
    stop: Promise[Any] | None = None,
    log: logging.Logger | None = None,
    access_log: AccessLog | None = None,
    shedding: Http.Shedding | None = None,
    wall_clock: Clock | None = None,
    multiprocess: bool = False,
    url_scheme: str | None = None,
    cancel_on_disconnect: bool = True,
    limits: Http.Limits | None = None,
    **limit_values: Any,
) -> Callable[[TwoWay, object], None]:
    """A ``Net.run_server`` handler ``(flow, addr)`` that serves the WSGI
    application ``app`` (PEP 3333) over HTTP/1.1 on each connection, with
    greeneio's HTTP engine (``Http.serve_connection``), until the connection
    should close. Each request runs in the connection's fiber.

    The engine's limits and timeouts are keywords (``max_request_line=4096``,
    ``header_timeout=5`` ...: the fields of ``Http.Limits``), or one
    ``limits=Http.Limits(...)``; the defaults protect a public server.
    ``clock`` measures the timeouts (default: the running scheduler's clock,
    ``env.mono_clock``); ``stop`` (a promise) starts the drain: responses say
    ``Connection: close`` and idle connections close. ``log`` (default the
    ``greeneio.wsgi`` logger) gets an app's exception once, at ERROR with its
    traceback, what the app writes to ``wsgi.errors`` (ERROR), and ordinary
    disconnects (DEBUG). ``access_log`` (an :class:`AccessLog`) gets a line
    per response. ``shedding`` is the engine's (``Http.Shedding``);
    ``wall_clock`` gives ``Date`` (default: the system time).

    ``multiprocess`` is ``wsgi.multiprocess`` (True with worker processes).
    ``url_scheme`` is ``wsgi.url_scheme``; by default ``"https"`` on a TLS
    flow (``Tls.handler``), else ``"http"``. With ``cancel_on_disconnect``
    (the default), a client that closes its connection while its request
    runs cancels the app (``Cancel.Cancelled`` in the call it blocks in,
    within a second; the iterable is still closed).

    An app exception before any response byte was sent gives a 500 with
    ``Connection: close``; after, the connection is closed; either way the
    server goes on. ``TypeError``/``ValueError`` for bad arguments.
    """
    fn = "wsgi.handler"
    callable_arg(app, fn, "app")
    if limits is not None and limit_values:
        raise TypeError(f"{fn}: give limits=Http.Limits(...) or limit keywords, not both")
    if limits is None:
        try:
            limits = Http.Limits(**limit_values)
        except TypeError:
            bad = sorted(set(limit_values) - set(Http.Limits.__dataclass_fields__))
            raise TypeError(f"{fn}: unknown keyword {bad[0]!r}") from None
    elif not isinstance(limits, Http.Limits):
        raise TypeError(f"{fn}: limits must be an Http.Limits, not {limits!r}")
    if clock is not None and not IAlarmClock.providedBy(clock):
        raise TypeError(f"{fn}: clock must provide IAlarmClock (env.mono_clock), not {clock!r}")
    if wall_clock is not None and not IClock.providedBy(wall_clock):
        raise TypeError(f"{fn}: wall_clock must provide IClock, not {wall_clock!r}")
    if stop is not None and not isinstance(stop, Promise):
        raise TypeError(f"{fn}: stop must be a Promise, not {stop!r}")
    if shedding is not None and not isinstance(shedding, Http.Shedding):
        raise TypeError(f"{fn}: shedding must be an Http.Shedding, not {shedding!r}")
    if log is None:
        log = _log
    elif not isinstance(log, logging.Logger):
        raise TypeError(f"{fn}: log must be a logging.Logger, not {log!r}")
    if access_log is not None and not isinstance(access_log, AccessLog):
        raise TypeError(f"{fn}: access_log must be a wsgi.AccessLog, not {access_log!r}")
    if url_scheme not in (None, "http", "https"):
        raise ValueError(f"{fn}: url_scheme must be 'http' or 'https', not {url_scheme!r}")
    bool_arg(multiprocess, fn, "multiprocess")
    bool_arg(cancel_on_disconnect, fn, "cancel_on_disconnect")
    shared = template(ErrorStream(log), multiprocess, FileWrapper)
    engine_log = log  # narrowed, for the closure

    def connection(flow: TwoWay, addr: object) -> None:
        c = clock if clock is not None else _greenlet.current().sched.clock
        scheme = url_scheme or ("https" if _is_tls(flow) else "http")
        adapter = _Adapter(app, shared, flow, addr, scheme)

        def serve(on_response: Callable[[Http.Request | None, int, int], object] | None) -> None:
            Http.serve_connection(
                flow,
                adapter,
                clock=c,
                limits=limits,
                stop=stop,
                log=engine_log,
                wall_clock=wall_clock,
                on_response=on_response,
                cancel_on_disconnect=cancel_on_disconnect,
                shedding=shedding,
            )

        if access_log is None:
            serve(None)
        else:
            access_log.run(addr, serve, clock=c)

    return connection


def _is_tls(flow: object) -> bool:
    # No TLS flow exists before ssl is imported (greeneio.tls loads it on first use).
    return "ssl" in sys.modules and isinstance(flow, Tls.TlsFlow)


class _Adapter:
    """The engine's handler for one connection: a request in, the app's answer out."""

    __slots__ = ("_app", "_environ", "_flow", "_peer", "_scheme", "_shared")

    def __init__(
        self, app: App, shared: dict[str, Any], flow: object, peer: object, scheme: str
    ) -> None:
        self._app = app
        self._shared = shared
        self._flow = flow
        self._peer = peer
        self._scheme = scheme
        self._environ: Environ | None = None  # made at the first request

    def __call__(self, request: Http.Request, respond: Http.Responder) -> None:
        env = self._environ
        if env is None:
            env = self._environ = Environ(self._shared, self._flow, self._peer, self._scheme)
        exchange = Exchange(respond)
        result = self._app(env.build(request), exchange.start_response)
        try:
            exchange.send(result, request.method == "HEAD")
        finally:
            # A list or tuple has no close (and getattr's miss would cost an
            # AttributeError per request).
            if result.__class__ is not list and result.__class__ is not tuple:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
