"""A request's PEP 3333 environ, built from the engine's :class:`Http.Request`.

Three levels, so that a request costs one dict copy and its own keys:

* the server's *template* (``wsgi.*``, ``SCRIPT_NAME``, ``SERVER_SOFTWARE``),
  made once by ``handler``;
* a connection's *base*: the template plus ``REMOTE_*``, ``SERVER_*`` and
  ``wsgi.url_scheme``, made at the connection's first request;
* each request's copy of the base, with the method, path, query, protocol,
  the header fields and ``wsgi.input``.

Header field names become ``HTTP_NAME`` keys (``Content-Type`` and
``Content-Length`` become ``CONTENT_TYPE`` and ``CONTENT_LENGTH``). A field
whose name holds ``_`` is dropped: ``X_Y`` and ``X-Y`` would both be
``HTTP_X_Y``, and ``Content_Length`` would shadow the framing, so a client
could smuggle a value past a proxy that checks the other spelling (nginx and
gunicorn drop them too). Repeated fields are joined with ``", "``
(``Cookie`` with ``"; "``, RFC 9113 §8.2.3).
"""

from __future__ import annotations

import _socket
import logging
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from greeneio import http as Http
from greeneio.interfaces import IFd
from greeneio.net.sockaddr import Tcp, Unix

__all__ = ["Environ", "ErrorStream", "Input", "template"]

SERVER_SOFTWARE: Final = "greeneio"

#: Header field name (lower case, as the engine gives it) -> environ key;
#: ``""`` for a field that is dropped or set from the parsed request instead.
_KEYS: dict[bytes, str] = {
    b"content-type": "CONTENT_TYPE",
    b"content-length": "",  # CONTENT_LENGTH comes from the parsed framing
    **{
        n: "HTTP_" + n.decode().upper().replace("-", "_")
        for n in (
            b"host accept accept-encoding accept-language user-agent connection cookie "
            b"referer origin cache-control x-forwarded-for x-forwarded-proto x-real-ip "
            b"authorization if-none-match if-modified-since upgrade-insecure-requests"
        ).split()
    },
}
_KEYS_MAX: Final = 1024


def _key(name: bytes) -> str:
    """The environ key of a header field name ("" if the field is dropped)."""
    key = _KEYS.get(name)
    if key is None:
        key = "" if b"_" in name else "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        if len(_KEYS) < _KEYS_MAX:
            _KEYS[name] = key
    return key


class Input:
    """``wsgi.input``: the request body as a binary stream (``read``,
    ``readline``, ``readlines``, iteration), over the engine's bounded,
    cooperative :class:`Http.Body`. It ends with the body (``wsgi.input_terminated``)."""

    __slots__ = ("_body",)

    def __init__(self, body: Http.Body) -> None:
        self._body = body

    def read(self, size: int | None = -1) -> bytes:
        return self._body.read(-1 if size is None else size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._body.readline(-1 if size is None else size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = []
        total = 0
        limit = -1 if hint is None else hint
        while line := self._body.readline():
            lines.append(line)
            total += len(line)
            if 0 < limit <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self._body.readline():
            yield line


class ErrorStream:
    """``wsgi.errors``: what the app writes goes to ``log`` at ERROR, a record
    per ``write`` (without its final newline)."""

    __slots__ = ("_log",)

    def __init__(self, log: logging.Logger) -> None:
        self._log = log

    def write(self, s: str) -> None:
        text = s.rstrip("\n")
        if text:
            self._log.error("wsgi.errors: %s", text)

    def writelines(self, seq: list[str]) -> None:
        for s in seq:
            self.write(s)

    def flush(self) -> None:
        pass


def template(errors: ErrorStream, multiprocess: bool, file_wrapper: Any) -> dict[str, Any]:
    """The keys every request of a server shares."""
    return {
        "SCRIPT_NAME": "",
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "wsgi.version": (1, 0),
        "wsgi.errors": errors,
        "wsgi.multithread": False,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": file_wrapper,
    }


def _local_address(flow: object, peer: object) -> tuple[str, str] | None:
    """Where the TCP connection ``flow`` was accepted (host, port), if it has
    a descriptor (one ``getsockname``; the C socket type, which ``--patch``
    leaves alone, and which neither changes nor closes the descriptor)."""
    if not isinstance(peer, Tcp) or not IFd.providedBy(flow):
        return None
    family = _socket.AF_INET6 if peer.ip.is_v6 else _socket.AF_INET
    try:
        view = _socket.socket(family, _socket.SOCK_STREAM, 0, flow.fileno())
    except OSError:
        return None
    try:
        host, port = view.getsockname()[:2]
    except OSError:
        return None
    finally:
        view.detach()
    return host, str(port)


class Environ:
    """Builds the environs of one connection's requests."""

    __slots__ = ("_base", "_fields", "_headers", "_input", "_last", "_line", "_server")

    def __init__(self, template: dict[str, Any], flow: object, peer: object, scheme: str) -> None:
        base = dict(template)
        base["wsgi.url_scheme"] = scheme
        if isinstance(peer, Tcp):
            base["REMOTE_ADDR"] = str(peer.ip)
            base["REMOTE_PORT"] = str(peer.port)
        elif isinstance(peer, Unix):
            base["REMOTE_ADDR"] = peer.path  # as gunicorn: usually "" for a Unix peer
        else:
            base["REMOTE_ADDR"] = ""
        local = _local_address(flow, peer)
        if local is not None:
            base["SERVER_NAME"], base["SERVER_PORT"] = local
        self._server = local is not None
        self._base = base
        # The last request's header fields and what they made of the base: a
        # client tends to send the same fields on every request of a connection.
        self._headers: list[tuple[bytes, bytes]] | None = None
        self._fields: dict[str, Any] = base
        # The last request line (method, target, version) and the environ it
        # made with the last fields, without ``wsgi.input``: the engine hands
        # a repeated head's request with the very same objects.
        self._line: tuple[str, bytes, tuple[int, int]] | None = None
        self._last: dict[str, Any] = base
        # The last ``wsgi.input`` and its body (every bodiless request of a
        # connection has the same empty body).
        self._input: Input | None = None

    def build(self, request: Http.Request) -> dict[str, Any]:
        """The environ of ``request`` (a fresh dict the app may change)."""
        headers = request.headers
        body = request.body
        wsgi_input = self._input
        if wsgi_input is None or wsgi_input._body is not body:
            wsgi_input = self._input = Input(body)
        bodiless = request.content_length is None
        if bodiless and headers == self._headers:
            line = self._line
            if (
                line is not None
                and line[1] is request.target
                and line[0] is request.method
                and line[2] == request.version
            ):
                environ = self._last.copy()
                environ["wsgi.input"] = wsgi_input
                return environ
            environ = self._fields.copy()
        else:
            environ = self._from_fields(request)
        environ["REQUEST_METHOD"] = request.method
        path = request.path
        # PEP 3333 (as wsgiref and gunicorn): percent-decoded bytes, as latin-1.
        environ["PATH_INFO"] = (unquote_to_bytes(path) if b"%" in path else path).decode("latin-1")
        environ["QUERY_STRING"] = request.query.decode("latin-1")
        environ["RAW_URI"] = environ["REQUEST_URI"] = request.target.decode("latin-1")
        environ["SERVER_PROTOCOL"] = "HTTP/1.1" if request.version == (1, 1) else "HTTP/1.0"
        if bodiless:  # its fields are the remembered ones (or _from_fields made them so)
            self._line = (request.method, request.target, request.version)
            self._last = environ.copy()
        environ["wsgi.input"] = wsgi_input
        return environ

    def _from_fields(self, request: Http.Request) -> dict[str, Any]:
        # The base and what the header fields say (remembered when bodiless).
        environ = self._base.copy()
        if request.content_length is not None:
            environ["CONTENT_LENGTH"] = str(request.content_length)
        for name, value in request.headers:
            key = _KEYS.get(name)
            if key is None:
                key = _key(name)
            if not key:
                continue
            text = value.decode("latin-1")
            old = environ.get(key)
            if old is None:
                environ[key] = text
            else:
                environ[key] = old + ("; " if key == "HTTP_COOKIE" else ", ") + text
        if not self._server:
            self._server_from_host(environ)
        if request.content_length is None:
            self._headers = request.headers.copy()
            self._fields = environ.copy()
        return environ

    @staticmethod
    def _server_from_host(environ: dict[str, Any]) -> None:
        # No TCP address to read (TLS, a Unix socket): the Host field, as gunicorn does.
        default = "443" if environ["wsgi.url_scheme"] == "https" else "80"
        host = environ.get("HTTP_HOST", "")
        name, sep, port = host.rpartition(":")
        if sep and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
            environ["SERVER_NAME"], environ["SERVER_PORT"] = name, port
        else:
            environ["SERVER_NAME"], environ["SERVER_PORT"] = host or "localhost", default
