"""Promises: resolving, awaiting, errors."""

from __future__ import annotations

import pytest

from greeneio import Fiber, Promise, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def test_await_after_resolve(transcript):
    def main():
        p, r = Promise.create("p")
        assert Promise.peek(p) is None
        assert not Promise.is_resolved(p)
        Promise.resolve(r, 42)
        return Promise.await_(p), p.peek(), p.is_resolved()

    assert transcript(main) == ["-> (42, 42, True)"]


def test_several_waiters_woken_in_order(transcript):
    def main(sw):
        p, r = Promise.create()
        for i in range(3):
            Fiber.fork(lambda i=i: traceln("waiter %d got %s", i, p.await_()), sw=sw)
        traceln("resolving")
        Promise.resolve(r, "v")

    assert transcript(lambda: Switch.run(main)) == [
        "resolving",
        "waiter 0 got v",
        "waiter 1 got v",
        "waiter 2 got v",
        "-> None",
    ]


def test_resolve_twice_is_value_error(transcript):
    def main():
        _p, r = Promise.create()
        Promise.resolve(r, 1)
        assert Promise.try_resolve(r, 2) is False
        Promise.resolve(r, 3)

    out = transcript(main)
    assert len(out) == 1 and out[0].startswith("Exception: ValueError: Promise.resolve:")
    assert "(resolver u) is already resolved" in out[0]


def test_resolve_error_raises_to_awaiters(transcript):
    def main():
        p, r = Promise.create()
        Promise.resolve_error(r, KeyError("k"))
        assert p.peek() is None
        return p.await_exn()

    assert transcript(main) == ["Exception: KeyError: 'k'"]


def test_create_resolved(transcript):
    assert transcript(lambda: Promise.create_resolved("x").await_()) == ["-> 'x'"]


def test_resolve_with_wrong_argument_is_type_error(transcript):
    def main():
        p, _r = Promise.create()
        Promise.resolve(p, 1)

    out = transcript(main)
    assert out[0].startswith(
        "Exception: TypeError: expected the resolver from Promise.create() as u"
    )


def test_cancelled_waiter_is_forgotten(transcript):
    def main():
        p, r = Promise.create()
        Fiber.first(p.await_, lambda: "other")
        Fiber.first(p.await_, lambda: "other")
        assert p._waiters.live() == 0 and len(p._waiters) <= 1  # swept in batches
        Promise.resolve(r, 1)
        return p.await_()

    assert transcript(main) == ["-> 1"]
