"""Shared pytest fixtures: fd counting and child-process guards.

``traced``, ``transcript``, ``greeneio_backend`` and ``run_on_backend`` come
from greeneio's own pytest plugin (``greeneio/pytest_plugin.py``), which
installing the project registers; it is loaded here too when plugin
autoloading is off, so the suite never depends on that setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    plugins = config.pluginmanager
    if not plugins.has_plugin("greeneio") and not plugins.is_blocked("greeneio"):
        plugins.import_plugin("greeneio.pytest_plugin")


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
