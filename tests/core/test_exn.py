"""Exn: I/O errors with context, combining failures."""

from __future__ import annotations

import traceback

import pytest

from greeneio import Cancel, Exn


class Refused(Exn.Io):
    kind = "Net Connection_failure Refused"


def test_io_error_prints_like_eio_and_keeps_cause():
    os_err = ConnectionRefusedError(111, "Connection refused")
    e = Refused(backend=os_err)
    Exn.add_context(e, "connecting to tcp:127.0.0.1:8081")
    Exn.add_context(e, 'connecting to "www.example.com":http')
    assert str(e) == (
        "Net Connection_failure Refused: [Errno 111] Connection refused\n"
        "  connecting to tcp:127.0.0.1:8081\n"
        '  connecting to "www.example.com":http'
    )
    assert e.__cause__ is os_err and e.backend is os_err
    assert e.context == ["connecting to tcp:127.0.0.1:8081", 'connecting to "www.example.com":http']
    assert e.err == "Net Connection_failure Refused"
    assert e.__notes__ == e.context


def test_add_context_on_other_exceptions_adds_a_note():
    e = Exn.add_context(ValueError("x"), "parsing header")
    text = "".join(traceback.format_exception(e))
    assert "parsing header" in text


def test_combine():
    a, b, c = ValueError("a"), KeyError("b"), OSError("c")
    assert Exn.combine(None, a) is a
    assert Exn.combine(a, a) is a
    assert Exn.combine(Cancel.Cancelled(a), b) is b
    assert Exn.combine(b, Cancel.Cancelled(a)) is b
    g = Exn.combine(Exn.combine(a, b), c)
    assert isinstance(g, ExceptionGroup)
    assert list(g.exceptions) == [a, b, c]
    assert str(g).startswith("Multiple exceptions")


def test_combine_with_base_exception_gives_base_group():
    g = Exn.combine(ValueError("a"), KeyboardInterrupt())
    assert isinstance(g, BaseExceptionGroup) and not isinstance(g, ExceptionGroup)


def test_cancelled_str_names_reason():
    assert str(Cancel.Cancelled(ValueError("boom"))) == "Cancelled: ValueError: boom"
    assert Cancel.Cancelled(ValueError("boom")).reason.args == ("boom",)


def test_re_raising_with_context_keeps_the_backend_as_cause():
    """The pattern at each API boundary: the provider raises ``... from os_err``;
    each API layer adds context and re-raises the same exception (bare ``raise``)."""
    os_err = ConnectionRefusedError(111, "Connection refused")

    def provider():
        raise Refused(backend=os_err) from os_err

    def api(inner, context):
        try:
            inner()
        except Exn.Io as e:
            Exn.add_context(e, context)
            raise

    with pytest.raises(Refused) as info:
        api(
            lambda: api(provider, "connecting to tcp:127.0.0.1:8081"),
            'connecting to "www.example.com":http',
        )
    caught = info.value
    assert caught.__cause__ is os_err and caught.backend is os_err
    assert caught.context == [
        "connecting to tcp:127.0.0.1:8081",
        'connecting to "www.example.com":http',
    ]
    text = "".join(traceback.format_exception(caught))
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in text
    assert "The above exception was the direct cause of the following exception" in text


def test_io_without_backend_has_no_cause():
    e = Refused("Net Connection_failure Refused (no route)")
    assert e.backend is None and e.__cause__ is None
    assert str(e) == "Net Connection_failure Refused (no route)"
