"""greeneio-serve's command line: per-service help with every default, HTTP limits."""

from __future__ import annotations

import pytest

from greeneio.serve.__main__ import main
from greeneio.serve._options import DEFAULT_GRACE, DEFAULT_MAX_CONNECTIONS, parse


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        parse([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def test_each_service_has_its_own_help_with_defaults(capsys):
    echo = help_of(capsys, "echo")
    assert "Echo: send back every byte" in echo
    assert f"(default: {DEFAULT_MAX_CONNECTIONS})" in echo
    assert f"(default: {DEFAULT_GRACE})" in echo
    assert "--root" not in echo and "--max-request-line" not in echo
    http = help_of(capsys, "http")
    for option, default in [
        ("--max-request-line", "8192"),
        ("--max-header-bytes", "65536"),
        ("--max-headers", "100"),
        ("--max-body", "67108864"),
        ("--header-timeout", "10.0"),
        ("--keepalive-timeout", "5.0"),
        ("--body-timeout", "30.0"),
        ("--write-timeout", "30.0"),
    ]:
        line = " ".join(http.split())
        assert option in line and f"(default: {default})" in line, option
    assert "--root" in http and "--list-dirs" in http


def test_defaults_protect_a_public_server():
    opts = parse(["http"])
    assert opts.max_connections == DEFAULT_MAX_CONNECTIONS
    assert opts.grace == DEFAULT_GRACE
    assert opts.limits.header_timeout == 10.0 and opts.limits.max_body == 64 * 1024 * 1024


def test_http_limits_reach_the_engine():
    opts = parse(["http", "--max-body", "10", "--header-timeout", "2.5", "--write-timeout", "off"])
    assert (opts.limits.max_body, opts.limits.header_timeout) == (10, 2.5)
    assert opts.limits.write_timeout is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["http", "--max-body", "-1"], "--max-body must be >= "),
        (["http", "--header-timeout", "0"], "--header-timeout must be > 0"),
        (["http", "--keepalive-timeout", "soon"], "expected seconds or 'off'"),
        (["echo", "--root", "/tmp"], "unrecognized arguments: --root"),
        (["echo", "--max-connections", "0"], "--max-connections must be >= 1"),
    ],
)
def test_bad_http_options_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
