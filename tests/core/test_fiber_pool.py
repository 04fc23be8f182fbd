"""Forked fibers run on pooled greenlets: reuse must carry nothing over."""

from __future__ import annotations

import contextvars

import pytest
from greenlet import getcurrent

import greeneio
from greeneio import Cancel, Fiber, Promise, Switch
from greeneio._core import _greenlet
from greeneio.mock import Backend

pytestmark = pytest.mark.timeout(30)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def test_a_finished_fibers_greenlet_is_reused():
    def main():
        seen = []
        with Switch() as sw:
            Fiber.fork(lambda: seen.append(getcurrent()), sw=sw)
            Fiber.fork(lambda: seen.append(getcurrent()), sw=sw)
        return seen[0] is seen[1]

    assert Backend.run(main) is True


def test_contextvars_do_not_leak_into_the_next_fiber():
    def main():
        seen = []

        def first():
            request_id.set("first request")

        def second():
            seen.append(request_id.get())

        with Switch() as sw:
            Fiber.fork(first, sw=sw)
            Fiber.fork(second, sw=sw)
        return seen

    assert Backend.run(main) == ["unset"]


def test_bindings_do_not_leak_into_the_next_fiber():
    key = Fiber.create_key()

    def main():
        seen = []
        with Switch() as sw:
            Fiber.with_binding(key, "bound", lambda: Fiber.fork(lambda: None, sw=sw))
            Fiber.fork(lambda: seen.append(Fiber.get(key)), sw=sw)
        return seen

    assert Backend.run(main) == [None]


def test_a_cancelled_fiber_leaves_a_clean_greenlet():
    # The first fiber is cancelled while blocked; the next one on its greenlet
    # must run in its own, live context.
    def main():
        seen = []
        p, _ = Promise.create()
        with pytest.raises(ValueError, match="stop"):
            Switch.run(lambda sw: (Fiber.fork(p.await_, sw=sw), sw.fail(ValueError("stop"))))
        with Switch() as sw:
            Fiber.fork(lambda: seen.append(Fiber.is_cancelled()), sw=sw)
            Fiber.fork(lambda: seen.append(Cancel.protect(lambda: "protected")), sw=sw)
        return seen

    assert Backend.run(main) == [False, "protected"]


def _rounds_of_deep_forks(rounds: int) -> int:
    # With a pool of one greenlet: a fiber 100 frames deep forks a leaf that
    # finishes at once and is parked; the deep fiber then dies (the pool is
    # full). The next round's deep fiber runs on the leaf's greenlet. Were that
    # greenlet started where its forker stood, it would keep that depth for
    # life, and the depth would grow by 100 frames a round until RecursionError.
    def deep(n: int, sw: Switch) -> None:
        if n:
            deep(n - 1, sw)
        else:
            Fiber.fork(lambda: None, sw=sw)

    for _ in range(rounds):
        Switch.run(lambda sw: Fiber.fork(deep, 100, sw, sw=sw))
    return rounds


def test_recursion_depth_does_not_ratchet_on_the_mock_backend(monkeypatch):
    monkeypatch.setattr(_greenlet, "POOL_MAX", 1)
    assert Backend.run(lambda: _rounds_of_deep_forks(50)) == 50


def test_recursion_depth_does_not_ratchet_on_gevent(monkeypatch):
    monkeypatch.setattr(_greenlet, "POOL_MAX", 1)
    assert greeneio.run(lambda env: _rounds_of_deep_forks(50)) == 50
