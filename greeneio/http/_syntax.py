"""The syntax the parser checks (RFC 9110 §5.6, RFC 9112, RFC 3986): tokens,
hosts, request-target forms, chunk lines, trailer fields. Pure functions."""

from __future__ import annotations

import re
from typing import Final

from greeneio.http._request import HttpError

__all__ = [
    "BAD_VALUE_RE",
    "CHUNK_LINE_RE",
    "FIELD_LINE_RE",
    "FORBIDDEN_TRAILERS",
    "GOOD_HOSTS",
    "HOST_RE",
    "METHODS",
    "METHOD_RE",
    "SPECIAL",
    "VERSION_LINE_RE",
    "check_target",
    "clean_head",
]

_TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
_TOKEN = rb"[" + _TCHAR + rb"]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
METHOD_RE = re.compile(_TOKEN + rb" ")
VERSION_LINE_RE = re.compile(rb"[^ ]+ [^ ]+ HTTP/[0-9]\.[0-9]\r?")
# Bytes no head may hold: controls other than HTAB, CR and LF, and DEL.
_CTL_RE: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BAD_VALUE_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
CHUNK_LINE_RE = re.compile(
    rb"([0-9A-Fa-f]+)(?:[ \t]*;[ \t]*"
    + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN
    + rb"|"
    + _QUOTED
    + rb"))?)*"
)
FIELD_LINE_RE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(.*?)[ \t]*")
_REG_NAME = rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
_IP_LITERAL = rb"\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]"
_HOST = rb"(?:" + _IP_LITERAL + rb"|" + _REG_NAME + rb")"
HOST_RE = re.compile(_HOST + rb"(?::[0-9]*)?")
_AUTHORITY_FORM_RE = re.compile(_HOST + rb":[0-9]+")
_ABSOLUTE_RE = re.compile(rb"([A-Za-z][A-Za-z0-9+\-.]*)://([^/?#]*)([^#]*)(?:#.*)?", re.S)
_USERINFO_RE = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*")

# Fields a trailer section must not carry (RFC 9110 §6.5.1): those that frame
# the message, route it, control the connection, must precede the content, or
# authenticate. Trailers are kept apart from the header fields either way.
FORBIDDEN_TRAILERS: Final = frozenset(
    {
        b"authorization",
        b"connection",
        b"content-length",
        b"expect",
        b"host",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

METHODS: Final = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")}
GOOD_HOSTS: set[bytes] = set()  # Host values already checked

SPECIAL: Final = {
    b"content-length": 1,
    b"transfer-encoding": 2,
    b"host": 3,
    b"connection": 4,
    b"expect": 5,
    b"content-type": 6,
}


def clean_head(head: bytes) -> bool:
    """No control character but HTAB (and CR, LF), no DEL, as many CRs as LFs.
    A second look after llhttp, which refuses these too (and obs-fold, and a
    CR or LF alone), made of two C-speed operations."""
    return _CTL_RE.search(head) is None and head.count(b"\r") == head.count(b"\n")


def check_target(method: str, target: bytes) -> tuple[bytes, bytes]:
    """``(path, query)`` of a request-target in the form ``method`` allows
    (RFC 9112 §3.2); :class:`HttpError` 400 otherwise."""
    if target[:1] == b"/":
        if method == "CONNECT":
            raise HttpError(400, "CONNECT needs an authority-form target")
        path, _, query = target.partition(b"#")[0].partition(b"?")
        return path, query
    if target == b"*":
        if method != "OPTIONS":
            raise HttpError(400, "the * target is only for OPTIONS")
        return b"*", b""
    if method == "CONNECT":
        if not _AUTHORITY_FORM_RE.fullmatch(target):
            raise HttpError(400, "invalid authority-form target")
        return b"", b""
    m = _ABSOLUTE_RE.fullmatch(target)
    if m is None or m.group(1).lower() not in (b"http", b"https"):
        raise HttpError(400, "invalid request target")
    userinfo, at, host = m.group(2).rpartition(b"@")
    if not host or not HOST_RE.fullmatch(host) or (at and not _USERINFO_RE.fullmatch(userinfo)):
        raise HttpError(400, "invalid authority in request target")
    path, _, query = m.group(3).partition(b"?")
    return path or b"/", query
