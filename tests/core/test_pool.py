"""Pool: Eio's tests/pool.md as transcripts, then cancellation and bad input.

The Eio cases are named after Eio's; as each shows scheduling order, they run
on the mock and on gevent (``greeneio_backend``). Eio's ``create`` helper
makes item ``i`` by awaiting the ``i``-th of a list of promises.
"""

from __future__ import annotations

import contextlib

import pytest

from greeneio import Cancel, Fiber, Pool, Promise, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def dispose(x):
    traceln("disposing %d", x)


def create(n, items, *, validate=None, dispose=None):
    i = [0]

    def alloc():
        traceln("Creating item %d", i[0])
        p = items[i[0]]
        i[0] += 1
        return p.await_()

    return Pool.create(n, alloc, validate=validate, dispose=dispose)


def user(t, name, **kw):
    # Eio's ``P.use t (fun x -> traceln "A: using item %d" x; Fiber.yield (); traceln "A done")``
    def fn(x):
        traceln("%s: using item %d", name, x)
        Fiber.yield_()
        traceln("%s done", name)

    return lambda: Pool.use(t, fn, **kw)


def ok(v):
    return Promise.create_resolved(v)


# -- Eio's tests/pool.md -----------------------------------------------------------


def test_simple_case(transcript, greeneio_backend):
    def main():
        t = create(1, [ok(0)])
        Pool.use(t, lambda x: traceln("Using item %d", x))
        Pool.use(t, lambda x: traceln("Using item %d", x))

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "Using item 0",
        "Using item 0",
        "-> None",
    ]


def test_two_uses_with_a_capacity_of_1_the_second_must_wait(transcript, greeneio_backend):
    def main():
        p, r = Promise.create()
        t = create(1, [p])
        Fiber.all([user(t, "A"), user(t, "B"), lambda: Promise.resolve(r, 0)])

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "A: using item 0",
        "A done",
        "B: using item 0",
        "B done",
        "-> None",
    ]


def test_two_uses_with_a_capacity_of_2_they_run_in_parallel(transcript, greeneio_backend):
    def main():
        p0, r0 = Promise.create()
        p1, r1 = Promise.create()
        t = create(2, [p0, p1])

        def resolve():
            Promise.resolve(r0, 0)
            Promise.resolve(r1, 1)

        Fiber.all([user(t, "A"), user(t, "B"), resolve])

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "A: using item 0",
        "Creating item 1",
        "B: using item 1",
        "A done",
        "B done",
        "-> None",
    ]


def test_capacity_of_1_two_uses_that_cannot_block_and_two_normal_uses(transcript, greeneio_backend):
    # The first two run in parallel, the next two one after the other. A use
    # that makes a new slot lets the runnable fibers go first, so the items
    # are handed out of order.
    def main():
        p0, r0 = Promise.create()
        p1, r1 = Promise.create()
        t = create(1, [p0, p1], dispose=dispose)

        def resolve():
            Promise.resolve(r0, 0)
            Promise.resolve(r1, 1)

        Fiber.all(
            [
                user(t, "A", never_block=True),
                user(t, "B", never_block=True),
                user(t, "C"),
                user(t, "D"),
                resolve,
            ]
        )

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "Creating item 1",
        "A: using item 1",
        "B: using item 0",
        "A done",
        "B done",
        "disposing 0",
        "C: using item 1",
        "C done",
        "D: using item 1",
        "D done",
        "-> None",
    ]


def test_cancellation(transcript, greeneio_backend):
    def main():
        p, _r = Promise.create()
        t = create(1, [p])

        def not_reached(_x):
            raise AssertionError("not reached")

        def fail():
            raise RuntimeError("Simulated error")

        Fiber.all(
            [
                lambda: Pool.use(t, not_reached),  # waits for the creation to finish
                lambda: Pool.use(t, not_reached),  # waits for the item to be returned
                fail,
            ]
        )

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "Exception: RuntimeError: Simulated error",
    ]


def test_error_handling_on_error_the_resource_is_still_returned_to_the_pool(
    transcript, greeneio_backend
):
    def main():
        t = create(1, [ok(0)])

        def fn(x):
            traceln("Using item %d", x)
            raise RuntimeError("Simulated error")

        try:
            Pool.use(t, fn)
        except RuntimeError as e:
            traceln("Failed: %s", e)
        Pool.use(t, lambda x: traceln("Using item %d", x))

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "Using item 0",
        "Failed: Simulated error",
        "Using item 0",
        "-> None",
    ]


def test_error_handling_a_failed_creation_wakes_the_next_fiber_which_tries_again(
    transcript, greeneio_backend
):
    def main():
        p, r = Promise.create()
        t = create(1, [p, ok(1)])
        with Switch() as sw:
            a = Fiber.fork_promise(
                lambda: Pool.use(t, lambda i: traceln("A: using item %d", i)), sw=sw
            )
            Fiber.both(
                lambda: Pool.use(t, lambda i: traceln("B: using item %d", i)),
                lambda: Promise.resolve_error(r, RuntimeError("Simulated creation failure")),
            )
            return a.await_()

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "Creating item 1",
        "B: using item 1",
        "Exception: RuntimeError: Simulated creation failure",
    ]


def test_validation_the_second_time_a_resource_is_used_we_check_it_is_still_valid(
    transcript, greeneio_backend
):
    def main():
        def validate(x):
            good = x % 2 == 0
            traceln("validate %d => %s", x, str(good).lower())
            return good

        t = create(2, [ok(0), ok(1), ok(2)], validate=validate, dispose=dispose)

        def using(name):
            def fn(x):
                traceln("%s: using item %d", name, x)
                Fiber.yield_()

            return lambda: Pool.use(t, fn)

        Fiber.all([using("A"), using("B"), using("C"), using("D")])

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "A: using item 0",
        "Creating item 1",
        "B: using item 1",
        "validate 0 => true",
        "C: using item 0",
        "validate 1 => false",
        "disposing 1",
        "Creating item 2",
        "D: using item 2",
        "-> None",
    ]


def test_dispose_fails_we_report_the_error_but_still_recreate_the_resource_next_time(
    transcript, greeneio_backend
):
    def main():
        def validate(x):
            good = x % 2 == 1
            traceln("validate %d => %s", x, str(good).lower())
            return good

        def failing_dispose(x):
            raise RuntimeError(f"Simulated error disposing {x}")

        t = create(1, [ok(0), ok(1), ok(2)], validate=validate, dispose=failing_dispose)

        def using(name):
            def fn(x):
                traceln("%s: using item %d", name, x)
                Fiber.yield_()

            return lambda: Pool.use(t, fn)

        try:
            Fiber.both(using("A"), using("B"))
        except RuntimeError as e:
            traceln("Failed: %s", e)
        Fiber.both(using("C"), using("D"))

    assert transcript(main, backend=greeneio_backend) == [
        "Creating item 0",
        "A: using item 0",
        "validate 0 => false",
        "Failed: Simulated error disposing 0",
        "Creating item 1",
        "C: using item 1",
        "validate 1 => true",
        "D: using item 1",
        "-> None",
    ]


# -- limits and fairness -----------------------------------------------------------


def test_at_most_n_resources_and_waiters_served_first_come_first_served(
    transcript, greeneio_backend
):
    def main():
        made = []

        def alloc():
            made.append(len(made))
            return made[-1]

        t = Pool.create(2, alloc)
        busy = [0, 0]  # now, most

        def job(name):
            def fn(x):
                busy[0] += 1
                busy[1] = max(busy)
                traceln("%s: item %d", name, x)
                Fiber.yield_()
                Fiber.yield_()
                busy[0] -= 1

            return lambda: t.use(fn)

        Fiber.all([job(n) for n in "abcdef"])
        return made, busy[1]

    assert transcript(main, backend=greeneio_backend) == [
        "a: item 0",
        "b: item 1",
        "c: item 0",
        "d: item 1",
        "e: item 0",
        "f: item 1",
        "-> ([0, 1], 2)",
    ]


def test_a_failing_alloc_fails_that_use_only_and_the_next_use_retries(transcript):
    def main():
        calls = []

        def alloc():
            calls.append(1)
            if len(calls) == 1:
                raise OSError("no connection")
            return "conn"

        t = Pool.create(1, alloc)
        try:
            Pool.use(t, lambda x: x)
        except OSError as e:
            traceln("first use: %s", e)
        return Pool.use(t, lambda x: x), repr(t)

    assert transcript(main) == [
        "first use: no connection",
        "-> ('conn', '<Pool 1/1 slots, 1 free, 0 waiting>')",
    ]


def test_a_failing_validate_fails_that_use_and_keeps_the_resource(transcript):
    def main():
        checks = []

        def validate(x):
            checks.append(x)
            if len(checks) == 1:
                raise RuntimeError("cannot tell")
            return True

        t = Pool.create(1, lambda: "r", validate=validate, dispose=dispose)
        Pool.use(t, lambda x: None)
        try:
            Pool.use(t, lambda x: None)
        except RuntimeError as e:
            traceln("second use: %s", e)
        return Pool.use(t, lambda x: x)

    assert transcript(main) == ["second use: cannot tell", "-> 'r'"]


def test_never_block_uses_the_pool_when_a_resource_is_free(transcript):
    def main():
        t = Pool.create(1, lambda: traceln("alloc") or 1, dispose=dispose)
        Pool.use(t, lambda x: None, never_block=True)
        Pool.use(t, lambda x: None, never_block=True)
        return repr(t)

    assert transcript(main) == ["alloc", "-> '<Pool 1/1 slots, 1 free, 0 waiting>'"]


def test_never_block_disposes_of_the_extra_resource_when_fn_fails(transcript):
    def main():
        n = [0]

        def alloc():
            n[0] += 1
            return n[0]

        t = Pool.create(1, alloc, dispose=dispose)

        def inner(_x):
            def fn(x):
                traceln("extra %d", x)
                raise RuntimeError("fn failed")

            try:
                Pool.use(t, fn, never_block=True)
            except RuntimeError as e:
                traceln("%s", e)

        Pool.use(t, inner)
        return repr(t)

    assert transcript(main) == [
        "extra 2",
        "disposing 2",
        "fn failed",
        "-> '<Pool 1/1 slots, 1 free, 0 waiting>'",
    ]


# -- cancellation ------------------------------------------------------------------


def test_a_cancelled_waiter_takes_no_resource(transcript, greeneio_backend):
    def main():
        t = Pool.create(1, lambda: "r")
        ccs: list = []

        def holder():
            def fn(x):
                traceln("holder has %s", x)
                Fiber.yield_()
                traceln("holder done")

            t.use(fn)

        def cancelled_waiter():
            def body(cc):
                ccs.append(cc)
                t.use(lambda _x: traceln("not reached"))

            try:
                Cancel.sub(body)
            except Cancel.Cancelled:
                traceln("waiter cancelled")

        with Switch() as sw:
            Fiber.fork(holder, sw=sw)
            Fiber.fork(cancelled_waiter, sw=sw)
            Fiber.fork(lambda: t.use(lambda x: traceln("next waiter has %s", x)), sw=sw)
            Cancel.cancel(ccs[0], RuntimeError("stop"))
        return repr(t)

    assert transcript(main, backend=greeneio_backend) == [
        "holder has r",
        "waiter cancelled",
        "holder done",
        "next waiter has r",
        "-> '<Pool 1/1 slots, 1 free, 0 waiting>'",
    ]


def test_an_already_cancelled_use_raises_before_waiting_or_making_a_slot(transcript):
    def main():
        t = Pool.create(1, lambda: traceln("alloc") or "r")

        def body(cc):
            Cancel.cancel(cc, RuntimeError("stop"))
            t.use(lambda _x: traceln("not reached"))

        try:
            Cancel.sub(body)
        except Cancel.Cancelled as e:
            traceln("%s", e)
        return repr(t)

    assert transcript(main) == [
        "Cancelled: RuntimeError: stop",
        "-> '<Pool 0/1 slots, 0 free, 0 waiting>'",
    ]


def test_a_resource_handed_over_before_the_cancellation_is_used_and_returned(transcript):
    # What was handed over is not lost: fn runs, and its next blocking call
    # raises Cancelled; the resource goes back to the pool.
    def main():
        t = Pool.create(1, lambda: "r")
        ccs: list = []
        release, go = Promise.create()

        def waiter():
            def fn(x):
                traceln("waiter has %s, cancelled: %s", x, Fiber.is_cancelled())
                Fiber.yield_()

            def body(cc):
                ccs.append(cc)
                t.use(fn)

            try:
                Cancel.sub(body)
            except Cancel.Cancelled:
                traceln("then cancelled")

        with Switch() as sw:
            Fiber.fork(lambda: t.use(lambda _x: release.await_()), sw=sw)
            Fiber.fork(waiter, sw=sw)
            Promise.resolve(go, None)
            Fiber.yield_()  # the holder returns its slot to the waiter
            Cancel.cancel(ccs[0], RuntimeError("late"))
        return repr(t)

    assert transcript(main) == [
        "waiter has r, cancelled: True",
        "then cancelled",
        "-> '<Pool 1/1 slots, 1 free, 0 waiting>'",
    ]


def test_many_cancelled_waiters_are_dropped(transcript):
    def main():
        t = Pool.create(1, lambda: "r")
        ccs: list = []
        release, go = Promise.create()

        def waiter(i):
            def body(cc):
                ccs.append(cc)
                t.use(lambda _x: traceln("waiter %d used it", i))

            with contextlib.suppress(Cancel.Cancelled):
                Cancel.sub(body)

        with Switch() as sw:
            Fiber.fork(lambda: t.use(lambda _x: release.await_()), sw=sw)
            for i in range(10):
                Fiber.fork(waiter, i, sw=sw)
            for cc in ccs[:9]:
                Cancel.cancel(cc, RuntimeError("stop"))
            Fiber.yield_()
            traceln("%r", t)
            Promise.resolve(go, None)
        return repr(t)

    assert transcript(main) == [
        "<Pool 1/1 slots, 0 free, 1 waiting>",
        "waiter 9 used it",
        "-> '<Pool 1/1 slots, 1 free, 0 waiting>'",
    ]


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, -1])
def test_create_rejects_a_size_below_1(n):
    with pytest.raises(ValueError, match=rf"Pool\.create: n must be >= 1, not {n}"):
        Pool.create(n, lambda: 1)


@pytest.mark.parametrize("n", [1.0, "2", None, True])
def test_create_rejects_a_size_that_is_not_an_int(n):
    with pytest.raises(TypeError, match=r"Pool\.create: n must be an int"):
        Pool.create(n, lambda: 1)


@pytest.mark.parametrize("name", ["alloc", "validate", "dispose"])
def test_create_rejects_functions_that_are_not_callable(name):
    kw = {"alloc": lambda: 1, name: 42}
    alloc = kw.pop("alloc")
    with pytest.raises(TypeError, match=rf"Pool\.create: {name} must be callable, not 42"):
        Pool.create(1, alloc, **kw)


def test_use_rejects_bad_arguments(transcript):
    t = Pool.create(1, lambda: 1)
    with pytest.raises(TypeError, match=r"Pool\.use: pool must be a Pool, not 42"):
        Pool.use(42, lambda x: x)
    with pytest.raises(TypeError, match=r"Pool\.use: fn must be callable, not 42"):
        Pool.use(t, 42)
    with pytest.raises(TypeError, match=r"Pool\.use: never_block must be a bool, not 1"):
        Pool.use(t, lambda x: x, never_block=1)
    assert repr(t) == "<Pool 0/1 slots, 0 free, 0 waiting>"  # nothing was taken


def test_all_is_the_public_names():
    assert sorted(Pool.__all__) == ["Pool", "create", "use"]
