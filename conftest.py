"""Shared pytest fixtures: transcripts of traced lines, fd counting."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from greeneio._core.exn import is_multiple
from greeneio._core.trace import capture
from greeneio.mock import Backend


def describe_exc(e: BaseException) -> str:
    """A one-line description of an exception, like Eio's toplevel prints it."""
    if is_multiple(e):
        parts = "; ".join(describe_exc(x) for x in e.exceptions)  # type: ignore[attr-defined]
        return f"Multiple exceptions: [{parts}]"
    return f"{type(e).__name__}: {e}"


def _transcript(fn: Callable[..., Any], *, full: bool = False) -> list[str]:
    with capture() as lines:
        try:
            result = Backend.run_full(fn) if full else Backend.run(fn)
        except BaseException as e:
            lines.extend(("Exception: " + describe_exc(e)).split("\n"))
        else:
            lines.append(f"-> {result!r}")
    return list(lines)


@pytest.fixture
def transcript() -> Callable[..., list[str]]:
    """``transcript(fn)`` runs ``fn`` on the mock backend and returns the traced
    lines, ending with ``-> result`` or ``Exception: Type: message``.
    ``transcript(fn, full=True)`` calls ``fn(env)`` with a mock clock."""
    return _transcript


@pytest.fixture
def traced() -> Iterator[list[str]]:
    """The lines ``traceln`` prints while the test runs."""
    with capture() as lines:
        yield lines


def _children_of(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


@pytest.fixture
def children_of() -> Callable[[int], list[int]]:
    """``children_of(pid)``: the live child processes of ``pid``."""
    return _children_of


@pytest.fixture
def no_child_left() -> Iterator[None]:
    """Fail the test if it leaves a child process running."""
    yield
    left = _children_of(os.getpid())
    assert not left, f"child processes left running: {left}"


def open_fds() -> set[int]:
    return {int(x) for x in os.listdir("/proc/self/fd")}


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    """Fail the test if it leaves more file descriptors open than it found.

    The gevent hub's own descriptors are created first, so they don't count.
    """
    import greeneio

    greeneio.run(lambda env: None)
    before = open_fds()
    yield
    leaked = open_fds() - before
    assert not leaked, f"file descriptors leaked: {sorted(leaked)}"
