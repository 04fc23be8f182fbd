"""``greeneio-serve SERVICE [options]`` (also ``python -m greeneio.serve``).

Exit status: 0 after a clean drain, 1 when connections had to be cancelled
(``--grace`` ran out, or a second stop signal), 2 for bad usage.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import greeneio
from greeneio import Cancel, Exn, Fiber, Net, Promise, Signal, Switch, Time, compat
from greeneio import tls as Tls
from greeneio.serve import chargen, daytime, discard, echo, http, proxy, udp_echo, wsgi
from greeneio.serve._options import Listen, Options, UsageError, ip_of, parse, tls_context
from greeneio.serve.app import AppError, load

if TYPE_CHECKING:
    import ssl

log = logging.getLogger("greeneio-serve")


class ForcedStop(Exception):
    """A second stop signal: what was left was cancelled."""


def main(argv: list[str] | None = None) -> int:
    """Run greeneio-serve with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    try:
        opts = parse(sys.argv[1:] if argv is None else argv)
        if opts.patch:
            compat.patch_all()  # before the app is imported
        handler = _stream_handler(opts)  # loads an app early: its errors are usage errors
        wsgi_app = wsgi.load(opts.app or "") if opts.service == "wsgi" else None
        try:
            access = wsgi.open_access_log(opts.access_log)
        except OSError as e:
            raise UsageError(f"--access-log {opts.access_log}: {e.strerror}") from None
        tls = tls_context(opts)  # after the app (which may monkey-patch ssl first)
    except (UsageError, AppError) as e:
        print(f"greeneio-serve: error: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(
        stream=sys.stderr, format="greeneio-serve: %(message)s", level=opts.log_level.upper()
    )
    try:
        return greeneio.run(
            lambda env: _serve(env, opts, handler, tls, wsgi_app, access), handle_sigint=False
        )
    except UsageError as e:  # found once running: an address that cannot be used
        print(f"greeneio-serve: error: {e}", file=sys.stderr)
        return 2
    except ForcedStop:
        log.warning("stopped at once: open connections were cancelled")
        return 1
    except Exception as e:  # e.g. a worker that died: one line, not a traceback
        log.error("failed: %s", str(e).replace("\n", "; "))
        return 1


def _stream_handler(opts: Options) -> Callable[[Any, Any], object] | None:
    if opts.service == "app":
        return load(opts.app or "")
    return {
        "echo": echo.handler,
        "discard": discard.handler,
        "chargen": chargen.handler,
        "daytime": daytime.handler,
    }.get(opts.service)


def _over_tls(
    handler: Callable[[Any, Any], object], opts: Options, tls: ssl.SSLContext
) -> Callable[[Any, Any], object]:
    """``handler`` behind a TLS handshake. HTTP frames its own messages, so a
    client that hangs up without close_notify is no error there."""
    web = opts.service in ("http", "wsgi")
    return Tls.handler(
        handler, context=tls, alpn=["http/1.1"] if web else None, allow_ragged_eof=web
    )


def _serve(
    env: Any,
    opts: Options,
    handler: Callable[[Any, Any], object] | None,
    tls: ssl.SSLContext | None = None,
    wsgi_app: Callable[..., Any] | None = None,
    access: Any = None,
) -> int:
    stop, set_stop = Promise.create("stop")
    signals = [0]
    cut_off = [False]

    def on_signal(signum: int) -> None:
        signals[0] += 1
        if signals[0] == 1:
            log.info("stopping: no new connections; draining (signal again to cancel)")
            Promise.try_resolve(set_stop, None)
        else:
            raise ForcedStop()  # fails the switch: everything left is cancelled

    with Switch(name="greeneio-serve") as sw:
        for sig in (signal.SIGTERM, signal.SIGINT):
            Signal.subscribe(env.signals, sig, on_signal, sw=sw)
        if opts.service == "http":
            handler = http.make_handler(
                opts.root,
                env.mono_clock,
                limits=opts.limits,
                stop=stop,
                listing=opts.list_dirs,
                log=log,
                shed_at=_per_process(opts.max_connections, opts.workers),
                access_log=access,
            )
        elif opts.service == "wsgi":
            assert wsgi_app is not None
            handler = wsgi.make_handler(
                wsgi_app,
                env.mono_clock,
                limits=opts.limits,
                stop=stop,
                log=log,
                access_log=access,
                shed_at=_per_process(opts.max_connections, opts.workers),
                workers=opts.workers,
            )
        elif opts.service == "proxy":
            assert opts.to is not None
            handler = proxy.make_handler(env.net, _address(env.net, opts.to, "tcp"))
        if tls is not None and handler is not None:
            handler = _over_tls(handler, opts, tls)

        def counted(flow: Any, addr: Any) -> None:
            try:
                handler(flow, addr)  # type: ignore[misc]
            except Cancel.Cancelled:
                if stop.is_resolved():
                    cut_off[0] = True
                raise

        sockets = [_open(env, sw, opts, item) for item in opts.listen]
        over = " (TLS)" if tls is not None else ""
        jobs = []
        for item, sock in sockets:
            log.info("%s listening on %s%s", opts.service, _where(item, sock), over)
            jobs.append(_job(env, opts, sock, counted, stop))

        def refuse_after_stop() -> None:
            # Once stopped, new clients are refused rather than left in the backlog.
            stop.await_()
            for _ in range(3):
                Fiber.yield_()  # let the accept loops see the stop and finish first
            for _, sock in sockets:
                Net.close(sock)

        Fiber.all([*jobs, refuse_after_stop])
    if cut_off[0]:
        log.warning("--grace ran out: open connections were cancelled")
        return 1
    log.info("stopped cleanly")
    return 0


def _job(
    env: Any, opts: Options, sock: Any, handler: Callable[[Any, Any], None], stop: Promise[Any]
) -> Callable[[], None]:
    if opts.service == "udp-echo":
        return lambda: Fiber.first(lambda: udp_echo.serve(sock), stop.await_)
    domains = (env.domain_mgr, opts.workers - 1) if opts.workers > 1 else None
    return lambda: Net.run_server(
        sock,
        handler,
        on_error=_on_error,
        max_connections=opts.max_connections,
        additional_domains=domains,
        restart_workers=domains is not None,  # a worker that dies is replaced
        stop=stop,
        grace=opts.grace,
    )


def _per_process(limit: int | None, workers: int) -> int | None:
    """A process's share of ``limit`` (the connections are spread across workers)."""
    return None if limit is None else max(1, limit // workers)


def _on_error(e: BaseException) -> None:
    """Log what run_server reports, at the level an operator expects."""
    text = str(e).replace("\n", "; ")
    if isinstance(e, RuntimeError) and text.startswith("worker "):
        log.error("%s", text)  # "worker 4242 killed by SIGKILL, restarting"
    elif isinstance(e, Net.ConnectionReset | EOFError):
        log.debug("client went away: %s", text)  # ordinary: not worth a warning
    elif isinstance(e, Exn.Io | Time.Timeout):
        log.warning("connection error: %s", text)  # the client's trouble: one line
    else:  # a bug in the handler: its traceback
        log.error("connection error: %s", text, exc_info=e)


def _address(net: Any, item: Listen, kind: str) -> Any:
    """The ``Sockaddr`` for a tcp/udp/unix ``item`` (names are looked up)."""
    if item.kind == "unix":
        return Net.Sockaddr.Unix(item.path)
    ip = ip_of(item.host)
    if ip is None:
        try:
            found = Net.getaddrinfo(net, item.host, service=str(item.port))
        except Net.AddressLookupFailed as e:
            raise UsageError(f"{item.text}: cannot resolve {item.host!r} ({e.code})") from None
        wanted = Net.Sockaddr.Udp if kind == "udp" else Net.Sockaddr.Tcp
        addrs = [a for a in found if isinstance(a, wanted)]
        if not addrs:
            raise UsageError(f"{item.text}: no {kind} address for {item.host!r}")
        return addrs[0]
    return (Net.Sockaddr.Udp if kind == "udp" else Net.Sockaddr.Tcp)(ip, item.port)


def _open(env: Any, sw: Switch, opts: Options, item: Listen) -> tuple[Listen, Any]:
    if item.kind == "fd":
        return item, _import_fd(sw, item)
    try:
        if item.kind == "udp":
            addr = _address(env.net, item, "udp")
            return item, Net.datagram_socket(
                env.net, addr, sw=sw, reuse_addr=True, reuse_port=opts.reuse_port
            )
        addr = _address(env.net, item, "tcp")
        return item, Net.listen(
            env.net,
            addr,
            sw=sw,
            backlog=opts.backlog,
            reuse_addr=True,
            reuse_port=opts.reuse_port,
        )
    except (ValueError, OSError) as e:
        raise UsageError(f"--listen {item.text}: {str(e).splitlines()[0]}") from None


def _import_fd(sw: Switch, item: Listen) -> Any:
    try:
        sock = socket.socket(fileno=item.fd)
    except OSError as e:
        raise UsageError(f"{item.text}: not an open socket ({e.strerror})") from None
    if sock.type == socket.SOCK_DGRAM:
        return Net.import_socket_datagram(sock, sw=sw)
    return Net.import_socket_listening(sock, sw=sw)


def _where(item: Listen, sock: Any) -> str:
    """Where ``sock`` really listens (the port the OS chose, for port 0)."""
    try:
        return str(Net.listening_addr(sock))
    except TypeError:
        pass  # a datagram socket: ask the OS
    view = socket.socket(fileno=Net.fd(sock))
    try:
        host, port = view.getsockname()[:2]
    finally:
        view.detach()
    return str(Net.Sockaddr.Udp(Net.Ipaddr.parse(host), port))


if __name__ == "__main__":
    sys.exit(main())
