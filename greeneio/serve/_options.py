"""greeneio-serve's command line: parsing and checking, before anything runs.

Every mistake becomes one ``UsageError`` line; ``__main__`` prints it and
exits with status 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from greeneio import Net

if TYPE_CHECKING:
    import ssl

SERVICES = ("echo", "discard", "chargen", "daytime", "udp-echo", "http", "proxy", "app", "wsgi")
#: The services that take stream connections (and so may serve them over TLS).
STREAM_SERVICES = tuple(s for s in SERVICES if s != "udp-echo")
DEFAULT_PORT = 7000


class UsageError(Exception):
    """Bad command-line input: one line saying what is wrong."""


@dataclass(frozen=True)
class Listen:
    """Where to listen: ``kind`` is tcp, udp, unix or fd; ``host`` may be a name."""

    kind: str
    host: str = ""
    port: int = 0
    path: str = ""
    fd: int = -1
    text: str = ""


@dataclass
class Options:
    service: str
    listen: list[Listen] = field(default_factory=list)
    workers: int = 1
    max_connections: int | None = None
    backlog: int = 128
    reuse_port: bool = False
    grace: float | None = None
    log_level: str = "info"
    root: str | None = None
    list_dirs: bool = False
    to: Listen | None = None
    app: str | None = None
    #: The HTTP engine's limits and timeouts (``greeneio.http.Limits``), for HTTP services.
    limits: Any = None
    patch: bool = False
    access_log: str = "off"
    tls_cert: str | None = None
    tls_key: str | None = None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


#: What each service does (its ``greeneio-serve SERVICE --help`` description).
SERVICE_HELP = {
    "echo": "Echo: send back every byte a client sends (RFC 862).",
    "discard": "Discard: read and drop everything (RFC 863).",
    "chargen": "Character generator: send lines of characters until the client leaves (RFC 864).",
    "daytime": "Daytime: send the date and time, then close (RFC 867).",
    "udp-echo": "UDP echo: send every datagram back to its sender.",
    "http": "HTTP/1.1: a hello page, or static files from --root (Range, ETag, 304s).",
    "proxy": "TCP proxy: forward every connection to --to, both ways, with half-close.",
    "app": "Your own handler(flow, addr) (or a socketserver handler class) from MODULE:FUNC.",
    "wsgi": "A WSGI app (Flask, Django...) from MODULE:APP on the HTTP engine (PEP 3333).",
}
#: The limits and timeouts of the HTTP engine, as options of the HTTP services.
HTTP_LIMITS = {
    "max_request_line": (int, "bytes in a request line (longer: 414)"),
    "max_header_bytes": (int, "bytes in a request's header section (more: 431)"),
    "max_headers": (int, "header fields in a request (more: 431)"),
    "max_body": (int, "bytes in a request body (more: 413)"),
    "header_timeout": (float, "seconds for a whole request head to arrive (else 408)"),
    "keepalive_timeout": (float, "seconds an idle keep-alive connection is kept"),
    "body_timeout": (float, "seconds without progress while reading a body"),
    "write_timeout": (float, "seconds without progress while writing a response"),
}
HTTP_SERVICES = ("http", "wsgi")
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_GRACE = 30.0


def _timeout_value(text: str) -> float | None:
    if text in ("off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or 'off', not {text!r}") from None


def _common_options() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument(
        "--listen",
        action="append",
        default=[],
        metavar="ADDR",
        help="tcp:HOST:PORT, unix:PATH, udp:HOST:PORT or fd:N (repeatable); "
        f"default: systemd's LISTEN_FDS, else tcp:127.0.0.1:{DEFAULT_PORT}",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="accepting processes in all (default: %(default)s); a worker that dies is replaced",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help="connections served at once, across all workers; more wait in the backlog "
        "(default: %(default)s)",
    )
    p.add_argument("--backlog", type=int, default=128, help="listen backlog (default: %(default)s)")
    p.add_argument("--reuse-port", action="store_true", help="set SO_REUSEPORT")
    p.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="seconds to drain after a stop signal, then cancel what is left "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="(default: %(default)s)",
    )
    p.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="serve over TLS with this certificate chain (PEM; any stream service)",
    )
    p.add_argument(
        "--tls-key", metavar="FILE", help="the certificate's private key (PEM, unencrypted)"
    )
    return p


def _http_options() -> _Parser:
    from greeneio.http import Limits

    defaults = Limits()
    p = _Parser(add_help=False)
    for name, (kind, what) in HTTP_LIMITS.items():
        default = getattr(defaults, name)
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=int if kind is int else _timeout_value,
            default=default,
            metavar="N" if kind is int else "S",
            help=f"{what} (default: {default if default is not None else 'off'})",
        )
    return p


def _parser() -> _Parser:
    p = _Parser(
        prog="greeneio-serve",
        description="Serve a demo service (or your own handler) with greeneio's run_server. "
        "`greeneio-serve SERVICE --help` shows the service's options and their defaults.",
    )
    services = p.add_subparsers(
        dest="service", metavar="SERVICE", required=True, parser_class=_Parser
    )
    common = _common_options()
    http = _http_options()
    for name, text in SERVICE_HELP.items():
        parents = [common, http] if name in HTTP_SERVICES else [common]
        sp = services.add_parser(name, parents=parents, help=text, description=text)
        if name == "http":
            sp.add_argument("--root", help="serve files from this directory (default: hello page)")
            sp.add_argument(
                "--list-dirs", action="store_true", help="list directories without an index.html"
            )
        if name == "proxy":
            sp.add_argument("--to", metavar="ADDR", help="forward to tcp:HOST:PORT or unix:PATH")
        if name == "app":
            sp.add_argument("target", metavar="MODULE:FUNC", help="the handler to serve")
        if name == "wsgi":
            sp.add_argument(
                "target", metavar="MODULE:APP", help="module:name or path/to/file.py:name"
            )
            sp.add_argument(
                "--patch",
                action="store_true",
                help="gevent.monkey.patch_all() before the app is imported (blocking code)",
            )
        if name in HTTP_SERVICES:
            sp.add_argument(
                "--access-log",
                default="-" if name == "wsgi" else "off",
                metavar="-|FILE|off",
                help="one common-log-format line per response: - for stderr, a file to "
                "append to, or off (default: " + ("- for stderr)" if name == "wsgi" else "off)"),
            )
    return p


def _shown(text: str) -> str:
    """``text`` as it can appear in a one-line message (quoted if it has control chars)."""
    return text if text.isprintable() else repr(text)


def parse_listen(text: str) -> Listen:
    """``--listen`` text as a ``Listen``; ``UsageError`` naming the text if bad."""
    shown = _shown(text)
    kind, sep, rest = text.partition(":")
    if not sep or not rest:
        raise UsageError(
            f"--listen {shown}: expected tcp:HOST:PORT, unix:PATH, udp:HOST:PORT or fd:N"
        )
    if kind == "unix":
        return Listen("unix", path=rest, text=text)
    if kind == "fd":
        if not rest.isdigit():
            raise UsageError(f"--listen {shown}: fd must be a file descriptor number")
        return Listen("fd", fd=int(rest), text=text)
    if kind not in ("tcp", "udp"):
        raise UsageError(f"--listen {shown}: unknown kind {kind!r} (tcp, udp, unix or fd)")
    host, sep, port_text = rest.rpartition(":")
    if not sep or not host:
        raise UsageError(f"--listen {shown}: expected {kind}:HOST:PORT")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--listen {shown}: port must be 0-65535, not {port_text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return Listen(kind, host=host, port=int(port_text), text=text)


def systemd_fds(environ: Mapping[str, str] | None = None) -> list[Listen]:
    """The sockets systemd passed to this process (LISTEN_FDS/LISTEN_PID), if any."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if env.get("LISTEN_PID") != str(os.getpid()):
        return []
    try:
        n = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        raise UsageError(f"LISTEN_FDS must be a number, not {env['LISTEN_FDS']!r}") from None
    names = env.get("LISTEN_FDNAMES", "").split(":")
    out = []
    for i in range(n):
        name = names[i] if i < len(names) and names[i] else f"fd:{3 + i}"
        out.append(Listen("fd", fd=3 + i, text=f"{name} (systemd)"))
    return out


def parse(argv: list[str]) -> Options:
    """The options ``argv`` asks for, checked; ``UsageError`` otherwise."""
    a = _parser().parse_args(argv)
    if a.workers < 1:
        raise UsageError(f"--workers must be >= 1, not {a.workers}")
    if a.max_connections < 1:
        raise UsageError(f"--max-connections must be >= 1, not {a.max_connections}")
    if a.backlog < 1:
        raise UsageError(f"--backlog must be >= 1, not {a.backlog}")
    if a.grace < 0:
        raise UsageError(f"--grace must be >= 0, not {a.grace}")
    if a.service == "proxy" and not a.to:
        raise UsageError("proxy needs --to tcp:HOST:PORT")
    root = getattr(a, "root", None)
    if root is not None and not os.path.isdir(root):
        raise UsageError(f"--root {root}: not a directory")
    if (a.tls_cert is None) != (a.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if a.tls_cert is not None and a.service not in STREAM_SERVICES:
        raise UsageError(f"--tls-cert is only for stream services, not {a.service}")
    limits = _limits(a) if a.service in HTTP_SERVICES else None
    listen = [parse_listen(t) for t in a.listen] or systemd_fds()
    if not listen:
        kind = "udp" if a.service == "udp-echo" else "tcp"
        listen = [parse_listen(f"{kind}:127.0.0.1:{DEFAULT_PORT}")]
    datagram = a.service == "udp-echo"
    for item in listen:
        if item.kind == "udp" and not datagram:
            raise UsageError(f"--listen {item.text}: {a.service} is a stream service (tcp/unix)")
        if item.kind in ("tcp", "unix") and datagram:
            raise UsageError(f"--listen {item.text}: udp-echo needs udp: addresses")
    to = parse_listen(a.to) if getattr(a, "to", None) else None
    if to is not None and to.kind not in ("tcp", "unix"):
        raise UsageError(f"--to {a.to}: expected tcp:HOST:PORT or unix:PATH")
    return Options(
        service=a.service,
        listen=listen,
        workers=a.workers,
        max_connections=a.max_connections,
        backlog=a.backlog,
        reuse_port=a.reuse_port,
        grace=a.grace,
        log_level=a.log_level,
        root=root,
        list_dirs=getattr(a, "list_dirs", False),
        to=to,
        app=getattr(a, "target", None),
        limits=limits,
        patch=getattr(a, "patch", False),
        access_log=getattr(a, "access_log", "off"),
        tls_cert=a.tls_cert,
        tls_key=a.tls_key,
    )


def _limits(a: argparse.Namespace) -> Any:
    from greeneio.http import Limits

    try:
        return Limits(**{name: getattr(a, name) for name in HTTP_LIMITS})
    except (TypeError, ValueError) as e:
        text = str(e).replace("Http.Limits: ", "--")
        for name in HTTP_LIMITS:
            text = text.replace("--" + name, "--" + name.replace("_", "-"))
        raise UsageError(text) from None


def tls_context(opts: Options) -> ssl.SSLContext | None:
    """The server TLS context ``--tls-cert``/``--tls-key`` ask for (None without
    them), loaded now so that a bad file is a usage error before anything
    listens. ``ssl`` is imported only then."""
    if opts.tls_cert is None or opts.tls_key is None:
        return None
    import ssl

    for option, path in (("--tls-cert", opts.tls_cert), ("--tls-key", opts.tls_key)):
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            raise UsageError(f"{option} {_shown(path)}: {e.strerror}") from None

    def no_password() -> str:
        raise UsageError(f"--tls-key {_shown(opts.tls_key or '')}: the key is encrypted")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key, password=no_password)
    except ssl.SSLError as e:
        why = e.reason or str(e)
        raise UsageError(
            f"--tls-cert {_shown(opts.tls_cert)} --tls-key {_shown(opts.tls_key)}: "
            f"not a PEM certificate chain and its private key ({why})"
        ) from None
    return ctx


def ip_of(host: str) -> Any:
    """``host`` as a ``Net.Ipaddr`` if it is numeric, else None (a name to look up)."""
    try:
        return Net.Ipaddr.parse(host)
    except ValueError:
        return None
