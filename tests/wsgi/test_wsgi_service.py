"""The ``wsgi`` service module of greeneio-serve (loading ``MODULE:APP``, the
access log target, ``make_handler``), and WSGI over TLS."""

from __future__ import annotations

import http.client
import logging
import ssl
import sys

import pytest
from wsgi_harness import get, serve

from greeneio import tls as Tls
from greeneio import wsgi
from greeneio.serve import wsgi as service
from greeneio.serve.app import AppError

pytestmark = pytest.mark.timeout(30)


def environ_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    keys = ("wsgi.url_scheme", "wsgi.multiprocess", "SERVER_NAME", "SERVER_PORT")
    return [" ".join(str(environ[k]) for k in keys).encode()]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no_colon", "expected MODULE:APP"),
        ("mod:", "expected MODULE:APP"),
        ("greeneio_no_such_module_here:app", "wsgi: cannot import module"),
        ("json:no_such_app", "wsgi: 'json' has no"),
        ("no/such/file.py:app", "wsgi: no such file"),
    ],
)
def test_load_errors_are_one_line(spec, message):
    with pytest.raises(AppError, match=message) as info:
        service.load(spec)
    assert "\n" not in str(info.value)


@pytest.fixture
def forget_modules():
    yield
    for name in ("my_wsgi_app", "helper_for_wsgi_test", "broken_wsgi_app"):
        sys.modules.pop(name, None)


def test_load_by_path_and_by_module(tmp_path, monkeypatch, forget_modules):
    (tmp_path / "helper_for_wsgi_test.py").write_text("GREETING = b'hi'\n")
    (tmp_path / "my_wsgi_app.py").write_text(
        "from helper_for_wsgi_test import GREETING\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [GREETING]\n"
    )
    (tmp_path / "broken_wsgi_app.py").write_text("import greeneio_no_such_module_here\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    app = service.load(f"{tmp_path / 'my_wsgi_app.py'}:application")
    assert service.load("my_wsgi_app:application") is app  # its folder is on sys.path now
    assert serve(app, get).result[2] == b"hi"
    with pytest.raises(AppError, match="cannot import"):
        service.load(f"{tmp_path / 'broken_wsgi_app.py'}:app")
    with pytest.raises(AppError, match="has no WSGI app 'nothing'"):
        service.load(f"{tmp_path / 'my_wsgi_app.py'}:nothing")


def test_open_access_log(tmp_path):
    assert service.open_access_log("off") is None
    assert service.open_access_log("-").stream is sys.stderr  # type: ignore[union-attr]
    path = tmp_path / "access.log"
    path.write_text("old line\n")
    log = service.open_access_log(str(path))
    assert log is not None
    try:
        log.write("new line\n")
        log.flush()
    finally:
        log.stream.close()
    assert path.read_text() == "old line\nnew line\n"
    with pytest.raises(OSError):
        service.open_access_log(str(tmp_path / "no" / "such" / "dir.log"))


def test_make_handler_sets_multiprocess_and_logs_access(tmp_path):
    path = tmp_path / "access.log"
    access = service.open_access_log(str(path))
    records: list[logging.LogRecord] = []
    log = logging.Logger("t")
    log.addHandler(logging.Handler())
    log.handlers[0].emit = records.append  # type: ignore[method-assign]

    def make(env, stop):
        return service.make_handler(
            environ_app,
            env.mono_clock,
            stop=stop,
            log=log,
            access_log=access,
            shed_at=10,
            workers=2,
        )

    try:
        status, _, body = serve(environ_app, get, wrap=make).result
    finally:
        assert access is not None
        access.stream.close()
    assert status == 200 and body.split()[:2] == [b"http", b"True"]
    assert '"GET / HTTP/1.1" 200' in path.read_text()


def test_https_url_scheme_over_tls():
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    def make(env, stop):
        inner = wsgi.handler(environ_app, clock=env.mono_clock, stop=stop)
        return Tls.handler(inner, context=server, alpn=["http/1.1"], allow_ragged_eof=True)

    def client(port):
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=client_ctx)
        try:
            conn.request("GET", "/", headers={"Host": "example.test:8443"})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    status, body = serve(environ_app, client, wrap=make).result
    # No socket address to read under TLS: SERVER_NAME/PORT from Host, as gunicorn does.
    assert (status, body) == (200, b"https False example.test 8443")
