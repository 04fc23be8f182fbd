"""greeneio's HTTP/1.1 server engine: one hardened connection loop, shared by
``greeneio-serve http`` (static files) and the WSGI server.

    from greeneio import http as Http

    def app(request: Http.Request, respond: Http.Responder) -> None:
        body = request.body.read()          # bounded, cooperative
        respond.send(200, [(b"Content-Type", b"text/plain")], b"hello\\n")

    def handler(flow, addr):                # for Net.run_server
        Http.serve_connection(flow, app, clock=env.mono_clock, stop=stop)

Theory of operation. Two sides, kept apart as in h11:

* **Bytes in, requests out, no I/O**: ``_parser.py`` (with ``_syntax.py``
  and ``_request.py``). httptools (llhttp) parses each head; the parser frames
  heads itself (a complete line at a time, never past the blank line),
  checks what llhttp parsed (version 1.0/1.1 else 505; the request-target's
  form; Content-Length and Transfer-Encoding per RFC 9112 §6; Host; control
  characters; obs-fold), enforces :class:`Limits` on the bytes themselves,
  and decodes bodies (Content-Length, chunked with extensions and trailers).
  So a request gets the same answer however its bytes are split into reads.
  A connection's last bodiless head is remembered, and the same bytes again
  (a keep-alive client repeating itself) give a fresh copy of that request
  without being parsed again; response heads built lately are remembered too.
  ``_response.py`` builds heads (checked: no response splitting), reason
  phrases, the cached ``Date``, chunk framing and error responses.
* **The loop over one flow**: ``_connection.py``. It reads into the parser's
  buffer (sized to the request: 2 KiB while idle), calls the handler for
  each request in order (keep-alive, pipelining), and owns the timeouts: one
  deadline per connection, re-armed by assignment, watched by one clock alarm (no
  timer per request). Once ``stop`` resolves, each response says
  ``Connection: close`` and idle connections close at once. The handler
  reads through a :class:`Body` (``_body.py``: bounded, ``Expect:
  100-continue`` on the first read that waits, a small unread rest drained)
  and answers through a :class:`Responder` (``_responder.py``: framing, HEAD,
  head and body in one write, ``sendfile``). Optionally the loop cancels a
  handler whose client went away (:class:`ClientDisconnected`), and a shared
  :class:`Shedding` closes the oldest connection without a complete head
  when the server is full.

Refusals never reach the handler: 400 (malformed or ambiguous: both
Content-Length and Transfer-Encoding, repeated or invalid Content-Length,
obs-fold, bad chunk syntax, forbidden trailer fields, a bad target form),
408 (head or body too slow), 413 (``max_body``), 414
(``max_request_line``), 417 (an ``Expect`` other than 100-continue), 431
(``max_header_bytes``, ``max_headers``), 501 (an unknown method, a transfer
coding other than chunked), 505 (a version other than 1.0/1.1): each a
well-formed response with ``Connection: close``. Docs: docs/serving-http.md.
"""

from greeneio.http._body import Body
from greeneio.http._connection import ClientDisconnected, Handler, serve_connection
from greeneio.http._limits import Limits
from greeneio.http._request import HttpError, Request
from greeneio.http._responder import Responder
from greeneio.http._response import format_date, reason_phrase
from greeneio.http._shedding import Shedding
from greeneio.http._syntax import FORBIDDEN_TRAILERS

__all__ = (
    "FORBIDDEN_TRAILERS",
    "Body",
    "ClientDisconnected",
    "Handler",
    "HttpError",
    "Limits",
    "Request",
    "Responder",
    "Shedding",
    "format_date",
    "reason_phrase",
    "serve_connection",
)
