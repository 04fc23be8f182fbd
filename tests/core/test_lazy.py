"""Lazy: Eio's tests/lazy.md as transcripts, then cancellation and bad input.

The Eio cases are named after Eio's and, as each shows scheduling order, run
on the mock and on gevent (``greeneio_backend``). Eio prints an exception
with ``Fmt.exn`` (``Failure("failed")``, ``Cancelled: Not_first``); here it
is its ``repr``, and a ``Cancelled`` its ``str``.
"""

from __future__ import annotations

import pytest

from greeneio import Cancel, Fiber, Lazy, Promise, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def show(e):
    return str(e) if isinstance(e, Cancel.Cancelled) else repr(e)


def force_and_trace(label, v):
    # Eio's ``test``: force, then check for cancellation (after tracing an
    # error, but before tracing a value).
    traceln("%s: forcing...", label)
    try:
        x = Lazy.force(v)
    except BaseException as e:
        traceln("%s: %s", label, show(e))
        Fiber.check()
    else:
        Fiber.check()
        traceln("%s: %d", label, x)


# -- Eio's tests/lazy.md -----------------------------------------------------------


def test_two_fibers_request_the_value_it_is_only_computed_once(transcript, greeneio_backend):
    def main():
        def fn():
            traceln("calculating...")
            Fiber.yield_()
            traceln("complete")
            return 42

        v = Lazy.from_fun(fn, cancel="restart")
        Fiber.both(lambda: force_and_trace("a", v), lambda: force_and_trace("b", v))

    assert transcript(main, backend=greeneio_backend) == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        "complete",
        "a: 42",
        "b: 42",
        "-> None",
    ]


def test_the_calculation_fails_it_is_still_only_performed_once(transcript, greeneio_backend):
    def main():
        def fn():
            traceln("calculating...")
            Fiber.yield_()
            raise ValueError("failed")

        v = Lazy.from_fun(fn, cancel="restart")
        Fiber.both(lambda: force_and_trace("a", v), lambda: force_and_trace("b", v))

    assert transcript(main, backend=greeneio_backend) == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        "a: ValueError('failed')",
        "b: ValueError('failed')",
        "-> None",
    ]


def cancel_first_forcer(mode):
    # Eio's ``test_cancel``: "a" forces inside a ``first`` that cancels it.
    def fn():
        traceln("calculating...")
        Fiber.yield_()
        traceln("complete")
        return 42

    v = Lazy.from_fun(fn, cancel=mode)

    def a():
        def forced():
            force_and_trace("a", v)
            raise AssertionError("not reached")

        x = Fiber.first(forced, lambda: 5)
        traceln("a: %d", x)

    Fiber.both(a, lambda: force_and_trace("b", v))


def test_cancellation_in_record_mode_the_second_fiber_sees_the_cancelled_exception(
    transcript, greeneio_backend
):
    assert transcript(lambda: cancel_first_forcer("record"), backend=greeneio_backend) == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        "a: Cancelled: _NotFirst()",
        "b: Cancelled: _NotFirst()",
        "a: 5",
        "-> None",
    ]


def test_cancellation_in_protect_mode_the_first_calculation_succeeds(transcript, greeneio_backend):
    assert transcript(lambda: cancel_first_forcer("protect"), backend=greeneio_backend) == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        "complete",
        "b: 42",
        "a: 5",
        "-> None",
    ]


def test_cancellation_in_restart_mode_the_second_fiber_restarts_the_calculation(
    transcript, greeneio_backend
):
    assert transcript(lambda: cancel_first_forcer("restart"), backend=greeneio_backend) == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        "a: Cancelled: _NotFirst()",
        "calculating...",
        "a: 5",
        "complete",
        "b: 42",
        "-> None",
    ]


# -- results kept ------------------------------------------------------------------


def test_from_val_is_already_forced(transcript):
    v = Lazy.from_val([1, 2])
    assert repr(v) == "<Lazy forced>"
    assert transcript(lambda: Lazy.force(v) is Lazy.force(v)) == ["-> True"]


def test_the_result_is_kept_and_fn_runs_once(transcript):
    calls = []

    def fn():
        calls.append(1)
        return object()

    v = Lazy.from_fun(fn, cancel="record")
    assert repr(v) == "<Lazy unforced>"
    assert transcript(lambda: Lazy.force(v) is v.force()) == ["-> True"]
    assert transcript(lambda: Lazy.force(v) is v.force()) == ["-> True"]  # another run even
    assert calls == [1]
    assert repr(v) == "<Lazy forced>"


def test_the_exception_is_kept_and_raised_with_its_own_traceback(transcript):
    calls = []

    def fn():
        calls.append(1)
        raise KeyError("boom")

    v = Lazy.from_fun(fn, cancel="restart")
    errors = []

    def main():
        for _ in range(3):
            try:
                Lazy.force(v)
            except KeyError as e:
                errors.append(e)
                depth = 0
                tb = e.__traceback__
                while tb is not None:
                    depth += 1
                    tb = tb.tb_next
                traceln("traceback depth %d", depth)

    out = transcript(main)
    assert out[0] == out[1] == out[2]  # the traceback does not grow with each force
    assert calls == [1]
    assert errors[0] is errors[1] is errors[2]
    assert repr(v) == "<Lazy failed>"


def test_a_forcer_that_forces_itself_gets_an_error_not_a_hang(transcript):
    box = []

    def fn():
        return Lazy.force(box[0])

    box.append(Lazy.from_fun(fn, cancel="record"))
    out = transcript(lambda: Lazy.force(box[0]))
    assert out == [
        "Exception: RuntimeError: Lazy.force: the value is being forced by this fiber already"
    ]
    # The error is the outcome: it is kept.
    assert transcript(lambda: Lazy.force(box[0])) == out


# -- cancellation ------------------------------------------------------------------


def test_a_cancelled_waiter_changes_nothing(transcript, greeneio_backend):
    def main():
        p, r = Promise.create()

        def fn():
            traceln("calculating...")
            p.await_()
            traceln("complete")
            return 42

        v = Lazy.from_fun(fn, cancel="record")
        with Switch() as sw:
            Fiber.fork(lambda: force_and_trace("a", v), sw=sw)
            Fiber.first(lambda: force_and_trace("b", v), lambda: traceln("b cancelled"))
            Promise.resolve(r, None)
        return v.force()

    assert transcript(main, backend=greeneio_backend) == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        "b cancelled",
        "b: Cancelled: _NotFirst()",
        "complete",
        "a: 42",
        "-> 42",
    ]


def test_an_already_cancelled_waiter_raises_before_waiting(transcript):
    def main():
        p, r = Promise.create()
        v = Lazy.from_fun(p.await_, cancel="record")

        def waiter(cc):
            Cancel.cancel(cc, RuntimeError("stop"))
            return Lazy.force(v)

        with Switch() as sw:
            Fiber.fork(v.force, sw=sw)
            try:
                Cancel.sub(waiter)
            except Cancel.Cancelled as e:
                traceln("%s", e)
            Promise.resolve(r, "value")
        return v.force()

    assert transcript(main) == ["Cancelled: RuntimeError: stop", "-> 'value'"]


def test_restart_mode_with_no_waiter_runs_again_at_the_next_force(transcript):
    def main():
        runs = []

        def fn():
            runs.append(1)
            traceln("run %d", len(runs))
            Fiber.yield_()
            return len(runs)

        v = Lazy.from_fun(fn, cancel="restart")
        Fiber.first(v.force, lambda: None)
        traceln("%r", v)
        return Lazy.force(v)

    assert transcript(main) == ["run 1", "<Lazy unforced>", "run 2", "-> 2"]


def test_restart_mode_keeps_a_cancelled_that_is_not_the_forcers_own(transcript):
    # fn lets out a Cancelled from a context of its own: the forcer is not
    # cancelled, so this is fn's outcome, kept as in record mode.
    def main():
        def fn():
            def body(cc):
                Cancel.cancel(cc, RuntimeError("inner"))
                Fiber.check()

            return Cancel.sub(body)

        v = Lazy.from_fun(fn, cancel="restart")
        for _ in range(2):
            try:
                Lazy.force(v)
            except Cancel.Cancelled as e:
                traceln("%s", e)
        return repr(v)

    assert transcript(main) == [
        "Cancelled: RuntimeError: inner",
        "Cancelled: RuntimeError: inner",
        "-> '<Lazy failed>'",
    ]


def test_protect_mode_defers_the_forcers_cancellation(transcript):
    def main():
        def fn():
            Fiber.yield_()
            traceln("fn done, cancelled: %s", Fiber.is_cancelled())
            return 7

        v = Lazy.from_fun(fn, cancel="protect")

        def body(cc):
            Fiber.fork(lambda: Cancel.cancel(cc, RuntimeError("stop")), sw=sw)
            x = Lazy.force(v)
            traceln("forced %d, cancelled: %s", x, Fiber.is_cancelled())
            Fiber.yield_()

        with Switch() as sw:
            try:
                Cancel.sub(body)
            except Cancel.Cancelled as e:
                traceln("then %s", e)
        return v.force()

    assert transcript(main) == [
        "fn done, cancelled: False",
        "forced 7, cancelled: True",
        "then Cancelled: RuntimeError: stop",
        "-> 7",
    ]


def test_an_interrupt_of_the_forcer_is_not_kept(transcript):
    # KeyboardInterrupt (like GreenletExit) is about the forcer, not the value.
    def main():
        runs = []

        def fn():
            runs.append(1)
            if len(runs) == 1:
                raise KeyboardInterrupt
            return "second"

        v = Lazy.from_fun(fn, cancel="record")
        try:
            v.force()
        except KeyboardInterrupt:
            traceln("interrupted")
        return v.force()

    assert transcript(main) == ["interrupted", "-> 'second'"]


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["Restart", "cancel", None, 1])
def test_from_fun_rejects_another_cancel_mode(mode):
    with pytest.raises(ValueError, match=r"Lazy\.from_fun: cancel must be 'restart', 'record'"):
        Lazy.from_fun(lambda: 1, cancel=mode)


def test_from_fun_requires_the_cancel_mode():
    with pytest.raises(TypeError):
        Lazy.from_fun(lambda: 1)  # type: ignore[call-arg]


def test_from_fun_rejects_what_is_not_callable():
    with pytest.raises(TypeError, match=r"Lazy\.from_fun: fn must be callable, not 42"):
        Lazy.from_fun(42, cancel="record")


def test_force_rejects_what_is_not_a_lazy_value():
    with pytest.raises(TypeError, match=r"Lazy\.force: lazy must be a Lazy value, not 42"):
        Lazy.force(42)


def test_all_is_the_public_names():
    assert sorted(Lazy.__all__) == ["Lazy", "force", "from_fun", "from_val"]
