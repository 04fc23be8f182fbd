"""When things go wrong: a client that disconnects cancels the app; an app
exception is a 500 (or a cut), logged once with its traceback, and the
server goes on (acceptance item 5)."""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time

import pytest
from wsgi_harness import get, raw, responses, serve

from greeneio import Cancel, Fiber, Promise, Time
from greeneio import http as Http

pytestmark = pytest.mark.timeout(30)

TEXT = [("Content-Type", "text/plain")]


def disconnecting_client(started: threading.Event, closed_at: list[float]):
    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert started.wait(10)
            closed_at.append(time.monotonic())
        return "closed"

    return client


@pytest.mark.parametrize("blocks_in", ["await_cancel", "Time.sleep", "streaming"])
def test_a_client_disconnect_cancels_the_app_within_a_second(blocks_in):
    started = threading.Event()
    closed_at: list[float] = []
    saw, set_saw = Promise.create("the app saw Cancelled")
    closes: list[str] = []
    clock = []

    def block():
        try:
            if blocks_in == "await_cancel":
                Fiber.await_cancel()
            else:
                Time.sleep(clock[0], 30)
        except Cancel.Cancelled as c:
            Promise.resolve(set_saw, (time.monotonic(), type(c.reason)))
            raise

    class Body:
        def __iter__(self):
            yield b"first"
            started.set()
            block()
            yield b"never"

        def close(self):
            closes.append("closed")

    def app(environ, start_response):
        start_response("200 OK", TEXT)
        if blocks_in == "streaming":
            return Body()
        started.set()
        block()
        return [b"never"]

    def wait_for_record(env):
        return Time.with_timeout(env.mono_clock, 3.0, saw.await_)

    served = serve(
        app,
        disconnecting_client(started, closed_at),
        on_env=lambda env: clock.append(env.mono_clock),
        also=wait_for_record,
    )
    seen_at, reason = served.also
    assert reason is Http.ClientDisconnected
    assert seen_at - closed_at[0] < 1.0
    assert served.errors == []
    assert not [r for r in served.records if r.levelno >= logging.WARNING]
    if blocks_in == "streaming":
        assert closes == ["closed"]


def test_an_app_exception_is_a_500_logged_once_with_its_traceback_and_the_server_goes_on():
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise ValueError("boom")
        start_response("200 OK", TEXT)
        return [b"fine"]

    def client(port):
        pipelined = b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        return raw(port, pipelined), get(port)

    served = serve(app, client)
    first, second = served.result
    [(status, headers, _)] = responses(first)  # the pipelined second was not answered
    assert status == 500 and headers["Connection"] == "close"
    assert second == (200, {**second[1]}, b"fine")
    errors = [r for r in served.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    text = logging.Formatter().format(errors[0])
    assert "/boom" in text and "Traceback" in text and "ValueError: boom" in text
    assert served.errors == []


def test_an_exception_after_the_response_began_cuts_the_connection():
    def app(environ, start_response):
        start_response("200 OK", TEXT)

        def body():
            yield b"partial"
            raise RuntimeError("midway")

        return body() if environ["PATH_INFO"] == "/cut" else [b"fine"]

    def client(port):
        with pytest.raises(http.client.IncompleteRead):
            get(port, "/cut")
        return get(port)

    served = serve(app, client)
    assert served.result[0] == 200 and served.result[2] == b"fine"
    errors = [r for r in served.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "RuntimeError: midway" in logging.Formatter().format(errors[0])


def test_exc_info_after_the_head_was_sent_re_raises_the_apps_exception():
    def app(environ, start_response):
        write = start_response("200 OK", TEXT)
        if environ["PATH_INFO"] == "/ok":
            return [b"fine"]
        write(b"begun")
        try:
            raise KeyError("late")
        except KeyError:
            import sys

            start_response("500 Oops", TEXT, sys.exc_info())  # raises KeyError again
        return [b"never"]

    def client(port):
        with pytest.raises(http.client.IncompleteRead):
            get(port)
        return get(port, "/ok")

    served = serve(app, client)
    assert served.result[0] == 200 and served.result[2] == b"fine"
    errors = [r for r in served.records if r.levelno >= logging.ERROR]
    assert errors and "KeyError: 'late'" in logging.Formatter().format(errors[0])


def test_an_app_that_returns_without_start_response_gets_a_500():
    def app(environ, start_response):
        return [b"no status"]

    served = serve(app, get)
    assert served.result[0] == 500
    errors = [r for r in served.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "start_response" in logging.Formatter().format(errors[0])


def test_a_body_over_max_body_is_413_even_if_the_app_catches_it():
    def app(environ, start_response):
        with contextlib.suppress(Exception):  # swallowed: the engine answers anyway
            environ["wsgi.input"].read()
        start_response("200 OK", TEXT)
        return [b"ignored"]

    served = serve(app, lambda p: get(p, "/", "POST", body=b"x" * 5000), max_body=1000)
    assert served.result[0] == 413


def test_wsgi_errors_goes_to_the_log():
    def app(environ, start_response):
        environ["wsgi.errors"].write("something odd\n")
        environ["wsgi.errors"].writelines(["one\n", "two\n"])
        environ["wsgi.errors"].flush()
        start_response("200 OK", TEXT)
        return [b""]

    served = serve(app, get)
    assert [r.getMessage() for r in served.records if r.levelno == logging.ERROR] == [
        "wsgi.errors: something odd",
        "wsgi.errors: one",
        "wsgi.errors: two",
    ]
