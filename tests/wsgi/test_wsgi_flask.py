"""A Flask app served by ``wsgi.handler`` over loopback: GET, POST (form and
JSON), a streamed response, ``send_file``, and the example app."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from wsgi_harness import get, raw, responses, serve

flask = pytest.importorskip("flask")

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(tmp_path):
    app = flask.Flask("wsgi_test")
    data = os.urandom(200_000)
    (tmp_path / "blob.bin").write_bytes(data)
    app.config["BLOB"] = data

    @app.get("/")
    def index():
        return "hello " + flask.request.args.get("name", "world")

    @app.post("/form")
    def form():
        return f"{flask.request.form['a']}+{flask.request.form['b']}"

    @app.post("/json")
    def echo_json():
        body = flask.request.get_json()
        return flask.jsonify(got=body, n=len(body["items"]))

    @app.get("/stream")
    def stream():
        def gen():
            for i in range(4):
                yield f"line {i}\n"

        return flask.Response(gen(), mimetype="text/plain")

    @app.get("/file")
    def file():
        return flask.send_file(tmp_path / "blob.bin")

    @app.get("/missing")
    def missing():
        flask.abort(404)

    return app


def test_flask_get_post_json_and_errors(app):
    def client(port):
        return (
            get(port, "/?name=greeneio"),
            get(
                port,
                "/form",
                "POST",
                body="a=1&b=two",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            get(
                port,
                "/json",
                "POST",
                body=json.dumps({"items": [1, 2, 3]}),
                headers={"Content-Type": "application/json"},
            ),
            get(port, "/missing"),
        )

    (s1, _, b1), (s2, _, b2), (s3, h3, b3), (s4, _, _) = serve(app, client).result
    assert (s1, b1) == (200, b"hello greeneio")
    assert (s2, b2) == (200, b"1+two")
    assert s3 == 200 and h3["Content-Type"] == "application/json"
    assert json.loads(b3) == {"got": {"items": [1, 2, 3]}, "n": 3}
    assert s4 == 404


def test_flask_json_with_a_chunked_body(app):
    def chunks():
        yield b'{"items": ['
        yield b"1, 2"
        yield b"]}"

    def client(port):
        headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        return get(port, "/json", "POST", body=chunks(), headers=headers)

    status, _, body = serve(app, client).result
    assert status == 200 and json.loads(body)["n"] == 2


def test_flask_streaming_response(app):
    out = serve(app, lambda p: raw(p, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")).result
    [(status, headers, body)] = responses(out)
    assert status == 200 and headers["Transfer-Encoding"] == "chunked"
    assert body == b"line 0\nline 1\nline 2\nline 3\n"
    assert out.count(b"\r\n7\r\n") + out.startswith(b"7\r\n") >= 3  # one chunk per line


def test_flask_send_file_goes_by_sendfile(app, monkeypatch):
    calls = []
    real = os.sendfile

    def spy(*args):
        calls.append(args[3])
        return real(*args)

    monkeypatch.setattr(os, "sendfile", spy)
    status, headers, body = serve(app, lambda p: get(p, "/file")).result
    assert status == 200 and body == app.config["BLOB"]
    assert headers["Content-Length"] == str(len(body))
    assert calls  # Flask's send_file uses wsgi.file_wrapper: the engine's sendfile path


# -- the example -------------------------------------------------------------


def test_the_flask_example_loads_by_module_and_by_path():
    from greeneio.serve import wsgi as service

    sys.path.insert(0, str(ROOT))
    try:
        by_module = service.load("examples.flask_app:app")
    finally:
        sys.path.remove(str(ROOT))
    by_path = service.load(str(ROOT / "examples" / "flask_app.py") + ":app")
    for app in (by_module, by_path):
        assert isinstance(app, flask.Flask)

    def client(port):
        return (
            get(port, "/"),
            get(port, "/count?n=2"),
            get(port, "/echo", "POST", b"[1]", {"Content-Type": "application/json"}),
        )

    (s1, _, b1), (s2, _, b2), (s3, _, b3) = serve(by_path, client).result
    assert (s1, s2, s3) == (200, 200, 200)
    assert b1.startswith(b"Hello from Flask") and b2 == b"0\n1\n"
    assert json.loads(b3) == {"got": [1], "length": 3}


def test_the_flask_example_runs_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "flask_app.py"), "tcp:127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        m = re.search(r"tcp:127\.0\.0\.1:(\d+)", first)
        assert m, first
        status, _, body = get(int(m.group(1)), "/")
        assert status == 200 and b"Flask" in body
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "stopped" in err
