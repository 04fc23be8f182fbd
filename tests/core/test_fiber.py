"""Fibers: Eio's tests/fiber.md, ported as transcripts on the mock backend."""

from __future__ import annotations

import pytest

from greeneio import Cancel, Fiber, Promise, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def fail(msg):
    raise ValueError(msg)


# -- Fiber.first --------------------------------------------------------------


def test_first_finishes_second_cancelled(transcript):
    def main():
        p, _ = Promise.create()
        return Fiber.first(lambda: "a", p.await_)

    assert transcript(main) == ["-> 'a'"]


def test_second_finishes_first_cancelled(transcript):
    def main():
        p, _ = Promise.create()
        return Fiber.first(p.await_, lambda: "b")

    assert transcript(main) == ["-> 'b'"]


def test_first_both_succeed_default_keeps_first(transcript):
    assert transcript(lambda: Fiber.first(lambda: "a", lambda: "b")) == ["-> 'a'"]


def test_first_both_succeed_combine(transcript):
    main = lambda: Fiber.first(lambda: "a", lambda: "b", combine=lambda _x, y: y)  # noqa: E731
    assert transcript(main) == ["-> 'b'"]


def test_first_one_crashes(transcript):
    assert transcript(lambda: Fiber.first(lambda: "a", lambda: fail("b crashed"))) == [
        "Exception: ValueError: b crashed"
    ]
    assert transcript(lambda: Fiber.first(lambda: fail("a crashed"), lambda: "b")) == [
        "Exception: ValueError: a crashed"
    ]


def test_first_both_crash(transcript):
    out = transcript(lambda: Fiber.first(lambda: fail("a crashed"), lambda: fail("b crashed")))
    assert out == ["Exception: Multiple exceptions: [ValueError: a crashed; ValueError: b crashed]"]


def test_first_cancelled_before_it_can_crash(transcript):
    def b():
        Fiber.yield_()
        fail("b crashed")

    assert transcript(lambda: Fiber.first(lambda: "a", b)) == ["-> 'a'"]


def test_first_one_claims_to_be_cancelled(transcript):
    def a():
        raise Cancel.Cancelled(ValueError("cancel-a"))

    out = transcript(lambda: Fiber.first(a, lambda: "b"))
    assert out == ["Exception: ValueError: cancel-a"]


def test_first_cancelled_from_parent(transcript):
    def main():
        p, _ = Promise.create()
        Fiber.both(lambda: fail(Fiber.first(p.await_, p.await_)), lambda: fail("Parent cancel"))
        return "not-reached"

    assert transcript(main) == ["Exception: ValueError: Parent cancel"]


def test_first_cancelled_from_parent_while_already_cancelling(transcript):
    def left():
        def b():
            Fiber.yield_()
            fail("cancel-b")

        traceln("%s", Fiber.first(lambda: "a", b))
        Fiber.check()
        traceln("Parent cancel failed")

    def right():
        traceln("Cancelling parent")
        fail("Parent cancel")

    def main():
        Fiber.both(left, right)
        return "not-reached"

    assert transcript(main) == ["Cancelling parent", "a", "Exception: ValueError: Parent cancel"]


def test_cancelling_in_a_sub_switch(transcript):
    def left():
        p, _ = Promise.create()
        try:

            def inner(_sw):
                try:
                    p.await_()
                except BaseException as e:
                    traceln("Nested exception: %s", e)
                    raise

            Switch.run(inner)
        except BaseException as e:
            traceln("Parent exception: %s", e)
            raise

    def right():
        raise KeyError("Exit")

    def main():
        Fiber.both(left, right)

    assert transcript(main) == [
        "Nested exception: Cancelled: KeyError: 'Exit'",
        "Parent exception: Cancelled: KeyError: 'Exit'",
        "Exception: KeyError: 'Exit'",
    ]


# -- pair, all, any, n_any ---------------------------------------------------------


def test_pair(transcript):
    assert transcript(lambda: Fiber.pair(lambda: "a", lambda: "b")) == ["-> ('a', 'b')"]


def test_all(transcript):
    def main():
        Fiber.all([])
        Fiber.all([lambda x=x: traceln("fiber %d", x) for x in range(3)])
        return "done"

    assert transcript(main) == ["fiber 0", "fiber 1", "fiber 2", "-> 'done'"]


def yielding(x):
    def f():
        traceln("%d", x)
        Fiber.yield_()
        return x

    return f


def test_any(transcript):
    assert transcript(lambda: Fiber.any([yielding(x) for x in range(3)])) == [
        "0",
        "1",
        "2",
        "-> 0",
    ]


def test_any_with_combine_collects_all(transcript):
    def f(x):
        def g():
            traceln("%d", x)
            return [x]

        return g

    out = transcript(lambda: Fiber.any([f(x) for x in range(3)], combine=lambda a, b: a + b))
    assert out == ["0", "1", "2", "-> [0, 1, 2]"]


def test_n_any_one_result(transcript):
    assert transcript(lambda: Fiber.n_any([yielding(x) for x in range(3)])) == [
        "0",
        "1",
        "2",
        "-> [0]",
    ]


def test_n_any_collects_all_results(transcript):
    def f(x):
        def g():
            traceln("%d", x)
            if x == 1:
                Fiber.yield_()
            return x

        return g

    out = transcript(lambda: Fiber.n_any([f(x) for x in range(4)]))
    assert out == ["0", "1", "2", "3", "-> [0, 2, 3]"]


# -- await_cancel, fork_promise -------------------------------------------------------


def test_await_cancel(transcript):
    def waiter():
        try:
            Fiber.await_cancel()
        except Cancel.Cancelled as e:
            traceln("Caught: %s", e)
            raise

    def main():
        Fiber.both(waiter, lambda: fail("simulated error"))
        return "not reached"

    assert transcript(main) == [
        "Caught: Cancelled: ValueError: simulated error",
        "Exception: ValueError: simulated error",
    ]


def test_fork_promise_inherits_cancellation_from_sw(transcript):
    switch = []

    def left():
        def body(sw):
            switch.append(sw)
            Fiber.await_cancel()

        Switch.run(body)

    def right():
        sw = switch[0]

        def protected():
            def child():
                traceln("Forked child")
                Fiber.await_cancel()

            p = Fiber.fork_promise(child, sw=sw)
            sw.fail(KeyError("Exit"))
            return p.await_exn()

        Cancel.protect(protected)

    def main():
        Fiber.both(left, right)
        return "not reached"

    assert transcript(main) == ["Forked child", "Exception: KeyError: 'Exit'"]


def test_fork_promise_result_and_error(transcript):
    def main():
        with Switch() as sw:
            ok = Fiber.fork_promise(lambda: 42, sw=sw)
            bad = Fiber.fork_promise(lambda: fail("nope"), sw=sw)
            traceln("ok = %d", ok.await_())
            try:
                bad.await_()
            except ValueError as e:
                traceln("bad raised %s", e)
        return "switch not failed"

    assert transcript(main) == ["ok = 42", "bad raised nope", "-> 'switch not failed'"]


# -- scheduling order ------------------------------------------------------------------


def test_fork_runs_child_first_and_caller_at_head_of_queue(transcript):
    def main(sw):
        def first():
            traceln("1st child runs")
            Fiber.yield_()
            traceln("Queued work")

        Fiber.fork(first, sw=sw)
        Fiber.fork(lambda: traceln("2nd child runs immediately"), sw=sw)
        traceln("Caller runs before queued work")
        return "ok"

    assert transcript(lambda: Switch.run(main)) == [
        "1st child runs",
        "2nd child runs immediately",
        "Caller runs before queued work",
        "Queued work",
        "-> 'ok'",
    ]


@pytest.mark.parametrize("combinator", [Fiber.both, Fiber.first])
def test_scheduling_order_with_combinators(transcript, combinator):
    def main(sw):
        def later():
            traceln("Enqueuing work for later")
            Fiber.yield_()
            traceln("Queued work")

        Fiber.fork(later, sw=sw)
        combinator(lambda: traceln("1st branch"), lambda: traceln("2nd branch"))
        return "ok"

    assert transcript(lambda: Switch.run(main)) == [
        "Enqueuing work for later",
        "1st branch",
        "2nd branch",
        "Queued work",
        "-> 'ok'",
    ]


def test_forking_while_cancelled(transcript):
    def g():
        Fiber.both(lambda: traceln("Not reached"), lambda: traceln("Not reached"))
        raise AssertionError("not reached")

    out = transcript(lambda: Fiber.first(lambda: fail("Simulated error"), g))
    assert out == ["Exception: ValueError: Simulated error"]


# -- Fiber.List ------------------------------------------------------------------------


def process(fn):
    def f(x):
        traceln("Start %d", x)
        Fiber.yield_()
        y = fn(x)
        traceln("Finished %d", x)
        return y

    return f


def string_even(x):
    return str(x) if x % 2 == 0 else None


START_FINISH = [f"Start {i}" for i in range(1, 5)] + [f"Finished {i}" for i in range(1, 5)]


def test_list_filter(transcript):
    out = transcript(lambda: Fiber.List.filter(process(lambda x: x % 2 == 0), [1, 2, 3, 4]))
    assert out == [*START_FINISH, "-> [2, 4]"]


def test_list_map(transcript):
    out = transcript(lambda: Fiber.List.map(process(string_even), [1, 2, 3, 4]))
    assert out == [*START_FINISH, "-> [None, '2', None, '4']"]


def test_list_filter_map(transcript):
    out = transcript(lambda: Fiber.List.filter_map(process(string_even), [1, 2, 3, 4]))
    assert out == [*START_FINISH, "-> ['2', '4']"]


def test_list_any_failure_cancels_everything(transcript):
    def crash_on_three(x):
        if x == 3:
            fail("Simulated error")
        return string_even(x)

    out = transcript(lambda: Fiber.List.filter_map(process(crash_on_three), [1, 2, 3, 4]))
    assert out == [
        *[f"Start {i}" for i in range(1, 5)],
        "Finished 1",
        "Finished 2",
        "Exception: ValueError: Simulated error",
    ]


def _limited(fn_name):
    def main():
        ps = [Promise.create() for _ in range(4)]

        def finish(i, v):
            Promise.resolve(ps[i][1], v)

        def left():
            fn = getattr(Fiber.List, fn_name)
            r = fn(process(lambda i: ps[i][0].await_()), range(4), max_fibers=2)
            traceln("%s", r)

        def right():
            finish(1, "one")
            Fiber.yield_()
            finish(2, "two")
            Fiber.yield_()
            Fiber.yield_()
            finish(0, "zero")
            Fiber.yield_()
            Fiber.yield_()
            finish(3, "three")

        Fiber.both(left, right)

    return main


LIMITED = [
    "Start 0",
    "Start 1",
    "Finished 1",
    "Start 2",
    "Finished 2",
    "Start 3",
    "Finished 0",
    "Finished 3",
]


def test_list_map_max_fibers(transcript):
    assert transcript(_limited("map")) == [*LIMITED, "['zero', 'one', 'two', 'three']", "-> None"]


def test_list_iter_max_fibers(transcript):
    assert transcript(_limited("iter")) == [*LIMITED, "None", "-> None"]


def test_list_exception_while_waiting_for_free_fiber(transcript):
    def main():
        ps = [Promise.create() for _ in range(2)]

        def left():
            Fiber.List.map(process(lambda i: ps[i][0].await_exn()), range(2), max_fibers=1)

        def right():
            Fiber.yield_()
            Promise.resolve_error(ps[0][1], ValueError("Simulated error"))

        Fiber.both(left, right)

    assert transcript(main) == ["Start 0", "Exception: ValueError: Simulated error"]


def test_list_bad_max_fibers(transcript):
    assert transcript(lambda: Fiber.List.map(str, [1], max_fibers=0)) == [
        "Exception: ValueError: Fiber.List.map: max_fibers must be >= 1, not 0"
    ]


def test_is_cancelled_and_check(transcript):
    def main(sw):
        traceln("before: %s", Fiber.is_cancelled())
        sw.fail(ValueError("off"))
        traceln("after: %s", Fiber.is_cancelled())
        try:
            Fiber.check()
        except Cancel.Cancelled as e:
            traceln("check: %s", e)

    assert transcript(lambda: Switch.run(main)) == [
        "before: False",
        "after: True",
        "check: Cancelled: ValueError: off",
        "Exception: ValueError: off",
    ]


def test_cancel_sub_can_be_cancelled_alone(transcript):
    def main():
        def body(cc):
            def canceller():
                Cancel.cancel(cc, ValueError("only the sub"))

            with Switch() as sw:
                Fiber.fork(canceller, sw=sw)
                Fiber.await_cancel()

        try:
            Cancel.sub(body)
        except Cancel.Cancelled as e:
            traceln("sub raised %s", e)
        traceln("outer still on: %s", not Fiber.is_cancelled())

    assert transcript(main) == [
        "sub raised Cancelled: ValueError: only the sub",
        "outer still on: True",
        "-> None",
    ]


def test_protect_defers_cancellation(transcript):
    def main(sw):
        p, r = Promise.create()

        def child():
            Cancel.protect(lambda: (p.await_(), traceln("protected work finished")))
            traceln("not reached: the next blocking call raises")
            Fiber.yield_()

        Fiber.fork(child, sw=sw)
        sw.fail(ValueError("stop"))
        Promise.resolve(r, None)

    out = transcript(lambda: Switch.run(main))
    assert out == [
        "protected work finished",
        "not reached: the next blocking call raises",
        "Exception: ValueError: stop",
    ]
