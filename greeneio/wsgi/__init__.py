"""greeneio's WSGI server (PEP 3333) on the HTTP engine and ``Net.run_server``.

    from greeneio import Net, wsgi

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello\\n"]

    Net.run_server(sock, wsgi.handler(app, stop=stop), on_error=print, stop=stop)

Layout and theory of operation:

    _handler.py   handler: per connection, Http.serve_connection with an
                  adapter that calls the app once per request, in the
                  connection's fiber; TLS sets wsgi.url_scheme
    _environ.py   the environ: a server template, a connection base
                  (REMOTE_*, SERVER_*), a dict copy per request; wsgi.input
                  over the engine's bounded Body; wsgi.errors to the log
    _response.py  start_response (exc_info), write, and sending the iterable
                  (the head waits for the first body bytes, so exc_info can
                  still replace it); FileWrapper by the engine's sendfile
    _access.py    AccessLog: common log format, buffered, one flusher fiber

The engine does the HTTP: keep-alive and pipelining, chunked bodies both
ways, ``Expect: 100-continue`` (answered on the first read of
``wsgi.input`` that waits), HEAD, the limits and timeouts, the drain on
``stop``, and refusing bad requests before the app sees them. The
iterable's ``close()`` is always called. An app exception is logged once by
the engine (ERROR, with its traceback) and answered with a 500 and
``Connection: close``, or cuts the connection if the response had begun.
A client that disconnects cancels the app (``Cancel.Cancelled``). Docs:
docs/serving-http.md, "WSGI".
"""

from greeneio.wsgi._access import AccessLog
from greeneio.wsgi._handler import handler
from greeneio.wsgi._response import FileWrapper

__all__ = ("AccessLog", "FileWrapper", "handler")
