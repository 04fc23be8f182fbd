"""Switches: Eio's tests/switch.md, ported as transcripts on the mock backend."""

from __future__ import annotations

import pytest

from greeneio import Cancel, Fiber, Promise, Switch, traceln
from greeneio.mock import Backend

pytestmark = pytest.mark.timeout(10)


def on_sw(fn):
    return lambda: Switch.run(fn)


def fork_sub(sw, on_error, fn):
    def child():
        try:
            Switch.run(fn)
        except Cancel.Cancelled:
            pass
        except Exception as e:
            on_error(e)

    Fiber.fork(child, sw=sw)


def test_basic(transcript):
    assert transcript(on_sw(lambda sw: traceln("Running"))) == ["Running", "-> None"]


def test_failed_switch_still_runs_cleanup(transcript):
    def main(sw):
        traceln("Running")
        sw.fail(ValueError("Cancel"))
        traceln("Clean up")

    assert transcript(on_sw(main)) == ["Running", "Clean up", "Exception: ValueError: Cancel"]


def loop(name, n=2):
    def f():
        for i in range(1, n + 1):
            traceln("%s = %d", name, i)
            Fiber.yield_()

    return f


def test_both_pass(transcript):
    out = transcript(on_sw(lambda sw: Fiber.both(loop("i"), loop("j"))))
    assert out == ["i = 1", "j = 1", "i = 2", "j = 2", "-> None"]


def test_both_only_first_succeeds(transcript):
    def failing():
        raise ValueError("Failed")

    out = transcript(on_sw(lambda sw: Fiber.both(loop("i", 5), failing)))
    assert out == ["i = 1", "Exception: ValueError: Failed"]


def test_both_only_second_succeeds(transcript):
    def failing():
        Fiber.yield_()
        raise ValueError("Failed")

    out = transcript(on_sw(lambda sw: Fiber.both(failing, loop("i", 5))))
    assert out == ["i = 1", "Exception: ValueError: Failed"]


def test_both_first_fails_immediately_other_never_starts(transcript):
    def failing():
        raise ValueError("Failed")

    def main(sw):
        Fiber.both(failing, lambda: traceln("Second OK"))
        traceln("Not reached")

    assert transcript(on_sw(main)) == ["Exception: ValueError: Failed"]


def test_both_fail_gives_exception_group(transcript):
    def f1():
        Cancel.protect(Fiber.yield_)
        raise ValueError("Failed 1")

    def f2():
        Cancel.protect(Fiber.yield_)
        raise ValueError("Failed 2")

    out = transcript(on_sw(lambda sw: Fiber.both(f1, f2)))
    assert out == ["Exception: Multiple exceptions: [ValueError: Failed 1; ValueError: Failed 2]"]


def test_both_fail_is_a_real_exception_group():
    def f(n):
        def g():
            Cancel.protect(Fiber.yield_)
            raise ValueError(n)

        return g

    with pytest.raises(ExceptionGroup) as info:
        Backend.run(lambda: Fiber.both(f(1), f(2)))
    assert [e.args[0] for e in info.value.exceptions] == [1, 2]


def test_fork_on_failed_switch_does_not_start(transcript):
    def main(sw):
        sw.fail(ValueError("Cancel"))
        Fiber.fork(lambda: traceln("Not reached"), sw=sw)
        traceln("Main continues")

    assert transcript(on_sw(main)) == ["Main continues", "Exception: ValueError: Cancel"]


def test_switch_unusable_after_scope():
    sw = Backend.run(lambda: Switch.run(lambda sw: sw))
    with pytest.raises(RuntimeError, match="Switch finished!"):
        sw.check()


def test_cancellation_first(transcript):
    def main(sw):
        p, r = Promise.create()

        def child():
            def waiter():
                traceln("Waiting")
                p.await_()
                traceln("Resolved")

            def failing():
                raise ValueError("Cancelled")

            Fiber.both(waiter, failing)

        Fiber.fork(child, sw=sw)
        Fiber.yield_()
        Promise.resolve(r, None)
        traceln("Main thread done")

    out = transcript(on_sw(main))
    assert out == ["Waiting", "Main thread done", "Exception: ValueError: Cancelled"]


def waiter_fiber(p):
    def f():
        traceln("Waiting")
        p.await_()
        traceln("Resolved")

    return f


def test_promise_resolves_first(transcript):
    def main(sw):
        p, r = Promise.create()
        Fiber.fork(waiter_fiber(p), sw=sw)
        Promise.resolve(r, None)
        Fiber.yield_()
        traceln("Now cancelling...")
        sw.fail(ValueError("Cancelled"))

    out = transcript(on_sw(main))
    assert out == ["Waiting", "Resolved", "Now cancelling...", "Exception: ValueError: Cancelled"]


def test_switch_cancelled_first(transcript):
    def main(sw):
        p, r = Promise.create()
        Fiber.fork(waiter_fiber(p), sw=sw)
        sw.fail(ValueError("Cancelled"))
        Promise.resolve(r, None)

    assert transcript(on_sw(main)) == ["Waiting", "Exception: ValueError: Cancelled"]


def test_promise_resolves_first_but_switch_off_without_yielding(transcript):
    def main(sw):
        p, r = Promise.create()
        Fiber.fork(waiter_fiber(p), sw=sw)
        Promise.resolve(r, None)
        traceln("Now cancelling...")
        sw.fail(ValueError("Cancelled"))

    out = transcript(on_sw(main))
    assert out == ["Waiting", "Now cancelling...", "Resolved", "Exception: ValueError: Cancelled"]


def test_child_switches_cancelled_with_parent_without_on_error(transcript):
    def main(sw):
        p, _ = Promise.create()

        def on_error(e):
            traceln("child: %r", e)

        def child(label):
            def f(_sw):
                traceln(label)
                p.await_()

            return f

        fork_sub(sw, on_error, child("Child 1"))
        fork_sub(sw, on_error, child("Child 2"))
        sw.fail(ValueError("Cancel parent"))

    out = transcript(on_sw(main))
    assert out == ["Child 1", "Child 2", "Exception: ValueError: Cancel parent"]


def test_child_fails_independently(transcript):
    def main(sw):
        p1, r1 = Promise.create()
        p2, r2 = Promise.create()

        def on_error(e):
            traceln("child: %r", e)

        def child(label, p):
            def f(_sw):
                traceln(label)
                p.await_exn()

            return f

        fork_sub(sw, on_error, child("Child 1", p1))
        fork_sub(sw, on_error, child("Child 2", p2))
        Promise.resolve_error(r1, ValueError("Child error"))
        Promise.resolve_ok(r2, None)
        Fiber.yield_()
        traceln("Parent fiber is still running")

    out = transcript(on_sw(main))
    assert out == [
        "Child 1",
        "Child 2",
        "child: ValueError('Child error')",
        "Parent fiber is still running",
        "-> None",
    ]


def test_child_cancelled_independently(transcript):
    def main(sw):
        p, _ = Promise.create()
        child = []

        def on_error(e):
            traceln("child: %r", e)

        def body(csw):
            traceln("Child 1")
            child.append(csw)
            p.await_()

        fork_sub(sw, on_error, body)
        child[0].fail(ValueError("Cancel child"))
        Fiber.yield_()
        traceln("Parent fiber is still running")

    out = transcript(on_sw(main))
    assert out == [
        "Child 1",
        "child: ValueError('Cancel child')",
        "Parent fiber is still running",
        "-> None",
    ]


def test_child_error_handler_raises(transcript):
    def main(sw):
        p, r = Promise.create()

        def on_error(e):
            raise e

        def body(_sw):
            traceln("Child")
            p.await_exn()

        fork_sub(sw, on_error, body)
        Promise.resolve_error(r, ValueError("Child error escapes"))
        Fiber.yield_()
        traceln("Not reached")

    assert transcript(on_sw(main)) == ["Child", "Exception: ValueError: Child error escapes"]


def release(label):
    Fiber.yield_()
    traceln("release %s", label)


def test_release_on_success(transcript):
    def main(sw):
        sw.on_release(lambda: release("1"))
        sw.on_release(lambda: release("2"))

    assert transcript(on_sw(main)) == ["release 2", "release 1", "-> None"]


def test_release_on_error(transcript):
    def main(sw):
        sw.on_release(lambda: release("1"))
        sw.on_release(lambda: release("2"))
        raise ValueError("Test error")

    out = transcript(on_sw(main))
    assert out == ["release 2", "release 1", "Exception: ValueError: Test error"]


def test_release_operation_fails(transcript):
    def failing(label, msg):
        def f():
            release(label)
            raise ValueError(msg)

        return f

    def main(sw):
        sw.on_release(failing("1", "failure 1"))
        sw.on_release(lambda: release("2"))
        sw.on_release(failing("3", "failure 3"))

    out = transcript(on_sw(main))
    assert out == [
        "release 3",
        "release 2",
        "release 1",
        "Exception: Multiple exceptions: [ValueError: failure 3; ValueError: failure 1]",
    ]


def test_release_hook_on_finished_switch_runs_and_raises(transcript):
    def main(sw):
        sub = Switch.run(lambda s: s)
        sw.fail(ValueError("Parent cancelled too!"))
        sub.on_release(lambda: release("1"))

    out = transcript(on_sw(main))
    assert out == [
        "release 1",
        "Exception: Multiple exceptions: "
        "[ValueError: Parent cancelled too!; RuntimeError: Switch finished!]",
    ]


def test_attaching_to_switch_from_release_handler(transcript):
    def main(sw):
        def r1():
            def f():
                traceln("Starting release 1")
                Fiber.yield_()
                traceln("Finished release 1")

            Fiber.fork(f, sw=sw)

        def r2():
            def f():
                traceln("Starting release 2")
                try:
                    sw.on_release(lambda: traceln("Immediate release"))
                except RuntimeError as e:
                    traceln("on_release refused: %s", e)
                Fiber.yield_()
                traceln("Finished release 2")

            Fiber.fork(f, sw=sw)

        sw.on_release(r1)
        sw.on_release(r2)
        traceln("Main fiber done")

    assert transcript(on_sw(main)) == [
        "Main fiber done",
        "Starting release 2",
        "Immediate release",
        "on_release refused: Switch finished!",
        "Starting release 1",
        "Finished release 2",
        "Finished release 1",
        "-> None",
    ]


def test_all_cleanup_errors_reported(transcript):
    def failing_on_cancel(msg):
        def f():
            try:
                Fiber.await_cancel()
            except BaseException:
                raise ValueError(msg) from None

        return f

    def main(sw):
        Fiber.fork(failing_on_cancel("cancel1 failed"), sw=sw)
        Fiber.fork(failing_on_cancel("cancel2 failed"), sw=sw)
        raise KeyError("Exit")

    out = transcript(on_sw(main))
    assert out == [
        "Exception: Multiple exceptions: "
        "[KeyError: 'Exit'; ValueError: cancel1 failed; ValueError: cancel2 failed]"
    ]


def test_errors_during_cleanup_reported_during_cancellation(transcript):
    def main(sw):
        def nested():
            def body(_sw):
                try:
                    Fiber.await_cancel()
                except BaseException:
                    raise ValueError("cleanup failed") from None

            Switch.run(body)

        def failing():
            raise ValueError("simulated error")

        Fiber.fork(nested, sw=sw)
        Fiber.fork(failing, sw=sw)

    out = transcript(on_sw(main))
    assert out == [
        "Exception: Multiple exceptions: [ValueError: simulated error; ValueError: cleanup failed]"
    ]


def test_hook_remove_and_try_remove(transcript):
    def main(sw):
        h1 = sw.on_release_cancellable(lambda: traceln("hook 1"))
        sw.on_release(lambda: traceln("hook 2"))
        h1.remove()
        assert h1.try_remove() is False
        return "ok"

    assert transcript(lambda: Switch.run(main)) == ["hook 2", "-> 'ok'"]


def test_run_protected_not_cancelled_by_parent(transcript):
    def main(sw):
        p, r = Promise.create()

        def child():
            def inner(_sw):
                p.await_()
                traceln("protected switch finished its work")

            Switch.run_protected(inner)

        Fiber.fork(child, sw=sw)
        sw.fail(ValueError("parent failed"))
        Promise.resolve(r, None)

    out = transcript(on_sw(main))
    assert out == ["protected switch finished its work", "Exception: ValueError: parent failed"]


def test_check_and_get_error(transcript):
    def main(sw):
        assert sw.get_error() is None
        sw.check()
        err = ValueError("off")
        sw.fail(err)
        assert sw.get_error() is err
        try:
            sw.check()
        except Cancel.Cancelled as c:
            traceln("check raised Cancelled, reason %r", c.reason)

    out = transcript(on_sw(main))
    assert out == ["check raised Cancelled, reason ValueError('off')", "Exception: ValueError: off"]


def test_cancelled_from_outside_raises_cancelled_inside_original_outside(transcript):
    def main(sw):
        def child():
            try:
                Switch.run(lambda _s: Fiber.await_cancel())
            except Cancel.Cancelled as c:
                traceln("inner switch raised %s", c)
                raise

        Fiber.fork(child, sw=sw)
        sw.fail(ValueError("outer failure"))

    out = transcript(on_sw(main))
    assert out == [
        "inner switch raised Cancelled: ValueError: outer failure",
        "Exception: ValueError: outer failure",
    ]


def test_fork_daemon_cancelled_when_only_daemons_left(transcript):
    def main(sw):
        def daemon():
            try:
                Fiber.await_cancel()
            finally:
                traceln("daemon stopped")

        Fiber.fork_daemon(daemon, sw=sw)
        traceln("main done")
        return "ok"

    assert transcript(on_sw(main)) == ["main done", "daemon stopped", "-> 'ok'"]


def test_switch_entered_twice_is_an_error(transcript):
    def main():
        sw = Switch()
        with sw:
            pass
        with sw:
            pass

    assert transcript(main) == ["Exception: RuntimeError: a Switch can be entered only once"]
