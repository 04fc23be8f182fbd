"""Semaphore: Eio's tests/semaphore.md as transcripts, then cancellation and bad input.

The Eio cases are named after Eio's; those whose lines show scheduling order
run on the mock and on gevent (``greeneio_backend``).
"""

from __future__ import annotations

import contextlib

import pytest

from greeneio import Cancel, Fiber, Promise, Semaphore, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def acquire(t):
    traceln("Acquiring")
    Semaphore.acquire(t)
    traceln("Acquired")


def release(t):
    traceln("Releasing")
    Semaphore.release(t)
    traceln("Released")


# -- Eio's tests/semaphore.md ------------------------------------------------------


def test_simple_case(transcript, greeneio_backend):
    def main():
        t = Semaphore.make(1)
        acquire(t)
        release(t)
        acquire(t)
        release(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Acquiring",
        "Acquired",
        "Releasing",
        "Released",
        "Acquiring",
        "Acquired",
        "Releasing",
        "Released",
        "-> None",
    ]


def test_concurrent_access_to_the_semaphore(transcript, greeneio_backend):
    def main():
        t = Semaphore.make(2)

        def fn():
            acquire(t)
            Fiber.yield_()
            release(t)

        Fiber.all([fn] * 4)

    assert transcript(main, backend=greeneio_backend) == [
        "Acquiring",
        "Acquired",
        "Acquiring",
        "Acquired",
        "Acquiring",
        "Acquiring",
        "Releasing",
        "Released",
        "Releasing",
        "Released",
        "Acquired",
        "Acquired",
        "Releasing",
        "Released",
        "Releasing",
        "Released",
        "-> None",
    ]


def test_cancellation(transcript, greeneio_backend):
    def main():
        t = Semaphore.make(0)
        Fiber.first(lambda: acquire(t), lambda: None)
        release(t)
        acquire(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Acquiring",
        "Releasing",
        "Released",
        "Acquiring",
        "Acquired",
        "-> None",
    ]


# -- fairness ----------------------------------------------------------------------


def test_waiters_are_served_first_come_first_served(transcript, greeneio_backend):
    def main():
        t = Semaphore.make(0)

        def waiter(name):
            Semaphore.acquire(t)
            traceln("%s acquired", name)

        with Switch() as sw:
            for name in "abc":
                Fiber.fork(waiter, name, sw=sw)
            for _ in range(3):
                Semaphore.release(t)
                traceln("value %d", Semaphore.get_value(t))
        return Semaphore.get_value(t)

    assert transcript(main, backend=greeneio_backend) == [
        "value 0",  # each release hands its permit to a waiter
        "value 0",
        "value 0",
        "a acquired",
        "b acquired",
        "c acquired",
        "-> 0",
    ]


def test_a_releaser_cannot_overtake_the_waiters(transcript):
    # The permit goes to the waiter, so an acquire right after the release waits.
    def main():
        t = Semaphore.make(1)
        Semaphore.acquire(t)

        def waiter():
            Semaphore.acquire(t)
            traceln("waiter acquired")
            Fiber.yield_()
            traceln("waiter releasing")
            Semaphore.release(t)

        with Switch() as sw:
            Fiber.fork(waiter, sw=sw)
            Semaphore.release(t)
            traceln("released, value %d", Semaphore.get_value(t))
            Semaphore.acquire(t)
            traceln("releaser acquired again")
            Semaphore.release(t)
        return Semaphore.get_value(t)

    assert transcript(main) == [
        "released, value 0",
        "waiter acquired",
        "waiter releasing",
        "releaser acquired again",
        "-> 1",
    ]


# -- cancellation ------------------------------------------------------------------


def test_a_cancelled_acquire_takes_no_permit(transcript, greeneio_backend):
    def main():
        t = Semaphore.make(0)
        with Switch() as sw:

            def waiter(cc_box):
                def body(cc):
                    cc_box.append(cc)
                    Semaphore.acquire(t)

                try:
                    Cancel.sub(body)
                except Cancel.Cancelled:
                    traceln("first waiter cancelled")

            box: list = []
            Fiber.fork(waiter, box, sw=sw)
            Fiber.fork(lambda: (Semaphore.acquire(t), traceln("second waiter acquired")), sw=sw)
            Cancel.cancel(box[0], RuntimeError("stop"))
            Semaphore.release(t)  # skips the cancelled waiter
            traceln("value %d", Semaphore.get_value(t))
        Semaphore.release(t)
        return Semaphore.get_value(t)

    assert transcript(main, backend=greeneio_backend) == [
        "value 0",
        "first waiter cancelled",
        "second waiter acquired",
        "-> 1",
    ]


def test_a_cancelled_acquire_leaves_the_permit_free(transcript):
    def main():
        t = Semaphore.make(0)
        Fiber.first(lambda: Semaphore.acquire(t), lambda: None)
        Semaphore.release(t)
        return Semaphore.get_value(t), repr(t)

    assert transcript(main) == ["-> (1, '<Semaphore 1 free, 0 waiting>')"]


def test_an_already_cancelled_fiber_raises_before_waiting(transcript):
    def main():
        t = Semaphore.make(1)

        def body(cc):
            Cancel.cancel(cc, RuntimeError("stop"))
            Semaphore.acquire(t)  # a free permit: taken, no check (as in Eio)
            traceln("took the free permit, value %d", Semaphore.get_value(t))
            Semaphore.acquire(t)  # would wait: raises

        try:
            Cancel.sub(body)
        except Cancel.Cancelled as e:
            traceln("%s", e)
        return repr(t)

    assert transcript(main) == [
        "took the free permit, value 0",
        "Cancelled: RuntimeError: stop",
        "-> '<Semaphore 0 free, 0 waiting>'",
    ]


def test_a_permit_handed_over_before_the_cancellation_is_kept(transcript):
    # As with a resolved promise: what was handed over is not lost; the
    # fiber's next blocking call raises Cancelled instead.
    def main():
        t = Semaphore.make(0)
        ccs: list = []

        def waiter():
            def body(cc):
                ccs.append(cc)
                Semaphore.acquire(t)
                traceln("acquired while cancelled: %s", Fiber.is_cancelled())
                Semaphore.release(t)
                Fiber.yield_()

            try:
                Cancel.sub(body)
            except Cancel.Cancelled:
                traceln("then cancelled")

        with Switch() as sw:
            Fiber.fork(waiter, sw=sw)
            Semaphore.release(t)  # hands the permit over ...
            Cancel.cancel(ccs[0], RuntimeError("late"))  # ... before the waiter runs
        return Semaphore.get_value(t)

    assert transcript(main) == [
        "acquired while cancelled: True",
        "then cancelled",
        "-> 1",
    ]


def test_many_cancelled_waiters_are_dropped(transcript):
    def main():
        t = Semaphore.make(0)
        ccs: list = []

        def waiter(i):
            def body(cc):
                ccs.append(cc)
                Semaphore.acquire(t)
                traceln("waiter %d acquired", i)

            with contextlib.suppress(Cancel.Cancelled):
                Cancel.sub(body)

        with Switch() as sw:
            for i in range(10):
                Fiber.fork(waiter, i, sw=sw)
            for cc in ccs[:9]:
                Cancel.cancel(cc, RuntimeError("stop"))
            Fiber.yield_()
            traceln("%r", t)
            Semaphore.release(t)
        return Semaphore.get_value(t)

    assert transcript(main) == [
        "<Semaphore 0 free, 1 waiting>",
        "waiter 9 acquired",
        "-> 0",
    ]


def test_waiting_for_a_permit_that_never_comes_is_a_deadlock_on_the_mock(transcript):
    out = transcript(lambda: Semaphore.acquire(Semaphore.make(0)))
    assert len(out) == 1
    assert out[0].startswith("Exception: Deadlock: ")


# -- the class API (run_server, mock domains) ---------------------------------------


def test_the_class_api_is_the_module_api(transcript):
    def main():
        t = Semaphore.Semaphore(2)
        t.acquire()
        t.acquire()
        traceln("value %d", t.get_value())
        p, r = Promise.create()
        with Switch() as sw:
            Fiber.fork(lambda: (t.acquire(), Promise.resolve(r, "got it")), sw=sw)
            t.release()
            traceln("%s", p.await_())
        return t.get_value()

    assert transcript(main) == ["value 0", "got it", "-> 0"]


# -- bad input ---------------------------------------------------------------------


def test_make_rejects_a_negative_count():
    with pytest.raises(ValueError, match=r"Semaphore\.make: n must be >= 0, not -1"):
        Semaphore.make(-1)
    with pytest.raises(ValueError, match=r"Semaphore\.make: n must be >= 0, not -1"):
        Semaphore.Semaphore(-1)


@pytest.mark.parametrize("n", [1.0, "1", None, True])
def test_make_rejects_a_count_that_is_not_an_int(n):
    with pytest.raises(TypeError, match=r"Semaphore\.make: n must be an int"):
        Semaphore.make(n)


def test_zero_permits_is_allowed():
    assert Semaphore.get_value(Semaphore.make(0)) == 0


@pytest.mark.parametrize("fn", [Semaphore.acquire, Semaphore.release, Semaphore.get_value])
def test_the_functions_reject_what_is_not_a_semaphore(fn):
    with pytest.raises(TypeError, match=rf"Semaphore\.{fn.__name__}: s must be a Semaphore"):
        fn(3)


def test_all_is_the_public_names():
    assert sorted(Semaphore.__all__) == ["Semaphore", "acquire", "get_value", "make", "release"]
