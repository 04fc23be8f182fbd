"""Mutex: Eio's tests/mutex.md, ported as transcripts, plus cancellation and bad input.

Each Eio case is one test named after it; the scheduling-order ones run on
the mock and on gevent (``greeneio_backend``). Eio's ``Sys_error`` is
``RuntimeError`` here, and ``Poisoned`` prints as ``Poisoned: <reason>``.
"""

from __future__ import annotations

import contextlib

import pytest

from greeneio import Cancel, Fiber, Mutex, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def fail(msg):
    raise ValueError(msg)


def lock(t):
    traceln("Locking")
    Mutex.lock(t)
    traceln("Locked")


def unlock(t):
    traceln("Unlocking")
    Mutex.unlock(t)
    traceln("Unlocked")


# -- Test cases -----------------------------------------------------------------


def test_simple_case(transcript):
    def main():
        t = Mutex.create()
        lock(t)
        unlock(t)
        lock(t)
        unlock(t)

    assert transcript(main) == [
        "Locking",
        "Locked",
        "Unlocking",
        "Unlocked",
        "Locking",
        "Locked",
        "Unlocking",
        "Unlocked",
        "-> None",
    ]


def test_concurrent_access_to_the_mutex(transcript, greeneio_backend):
    def main():
        t = Mutex.create()

        def fn():
            lock(t)
            Fiber.yield_()
            unlock(t)

        Fiber.all([fn] * 4)

    assert transcript(main, backend=greeneio_backend) == [
        "Locking",
        "Locked",
        "Locking",
        "Locking",
        "Locking",
        "Unlocking",
        "Unlocked",
        "Locked",
        "Unlocking",
        "Unlocked",
        "Locked",
        "Unlocking",
        "Unlocked",
        "Locked",
        "Unlocking",
        "Unlocked",
        "-> None",
    ]


def test_double_unlock_raises_an_exception(transcript):
    def main():
        t = Mutex.create()
        Mutex.lock(t)
        Mutex.unlock(t)
        try:
            Mutex.unlock(t)
        except RuntimeError as e:
            traceln("Caught: %s", e)
        traceln("Trying to use lock after error...")
        Mutex.lock(t)

    assert transcript(main) == [
        "Caught: Mutex.unlock: already unlocked!",
        "Trying to use lock after error...",
        "Exception: Poisoned: RuntimeError: Mutex.unlock: already unlocked!",
    ]


# -- Read-write access ------------------------------------------------------------


def test_successful_use_only_one_critical_section_is_active_at_once(transcript, greeneio_backend):
    def main():
        t = Mutex.create()

        def fn():
            traceln("Entered critical section")
            Fiber.yield_()
            traceln("Leaving critical section")

        Fiber.both(
            lambda: Mutex.use_rw(t, fn, protect=True), lambda: Mutex.use_rw(t, fn, protect=True)
        )

    assert transcript(main, backend=greeneio_backend) == [
        "Entered critical section",
        "Leaving critical section",
        "Entered critical section",
        "Leaving critical section",
        "-> None",
    ]


def test_a_failed_critical_section_will_poison_the_mutex(transcript):
    def main():
        t = Mutex.create()
        try:
            Mutex.use_rw(t, lambda: fail("Simulated error"), protect=True)
        except ValueError:
            traceln("Trying to use the failed lock again fails:")
            Mutex.lock(t)

    assert transcript(main) == [
        "Trying to use the failed lock again fails:",
        "Exception: Poisoned: ValueError: Simulated error",
    ]


def test_poisoned_keeps_its_reason_as_reason_and_cause():
    t = Mutex.create()
    err = ValueError("Simulated error")

    def boom():
        raise err

    from greeneio.mock import Backend

    def main():
        with pytest.raises(ValueError):
            Mutex.use_rw(t, boom, protect=False)
        for use in (Mutex.lock, Mutex.unlock, Mutex.try_lock, lambda m: Mutex.use_ro(m, int)):
            with pytest.raises(Mutex.Poisoned) as info:
                use(t)
            assert info.value.reason is err
            assert info.value.__cause__ is err

    Backend.run(main)
    assert repr(t) == "<Mutex poisoned by ValueError: Simulated error>"


# -- Protection -------------------------------------------------------------------


def test_we_can_prevent_cancellation_during_a_critical_section(transcript, greeneio_backend):
    def main():
        t = Mutex.create()

        def section():
            Fiber.yield_()
            traceln("Restored invariant")

        def user():
            Mutex.use_rw(t, section, protect=True)
            Fiber.check()
            traceln("Error: not cancelled!")

        def canceller():
            traceln("Cancelling...")
            fail("Simulated error")

        Fiber.both(user, canceller)

    assert transcript(main, backend=greeneio_backend) == [
        "Cancelling...",
        "Restored invariant",
        "Exception: ValueError: Simulated error",
    ]


def test_or_allow_interruption_and_disable_the_mutex(transcript):
    def main():
        t = Mutex.create()

        def section():
            Fiber.yield_()
            traceln("Restored invariant")

        def canceller():
            traceln("Cancelling...")
            fail("Simulated error")

        try:
            Fiber.both(lambda: Mutex.use_rw(t, section, protect=False), canceller)
        except Exception:
            traceln("Trying to reuse the failed mutex...")
            Mutex.use_ro(t, lambda: fail("not reached"))

    assert transcript(main) == [
        "Cancelling...",
        "Trying to reuse the failed mutex...",
        "Exception: Poisoned: Cancelled: ValueError: Simulated error",
    ]


def test_protection_doesnt_prevent_cancellation_while_were_still_waiting_for_the_lock(
    transcript,
):
    def main():
        t = Mutex.create()
        Mutex.lock(t)

        def canceller():
            traceln("Cancelling...")
            fail("Simulated error")

        try:
            Fiber.both(
                lambda: Mutex.use_rw(t, lambda: fail("not reached"), protect=True), canceller
            )
        except ValueError:
            Mutex.unlock(t)
            Mutex.use_ro(t, lambda: traceln("Can reuse the mutex"))

    assert transcript(main) == ["Cancelling...", "Can reuse the mutex", "-> None"]


def test_poisoning_wakes_any_waiters(transcript, greeneio_backend):
    def main():
        t = Mutex.create()

        def section():
            Fiber.yield_()
            traceln("Poisoning mutex")
            fail("Simulated error")

        def poisoner():
            with contextlib.suppress(ValueError):
                Mutex.use_rw(t, section, protect=False)

        def waiter():
            traceln("Waiting for lock...")
            Mutex.use_ro(t, lambda: fail("not reached"))

        Fiber.both(poisoner, waiter)

    assert transcript(main, backend=greeneio_backend) == [
        "Waiting for lock...",
        "Poisoning mutex",
        "Exception: Poisoned: ValueError: Simulated error",
    ]


# -- Read-only access -------------------------------------------------------------


def test_if_the_resource_isnt_being_mutated_we_can_just_unlock_on_error(transcript):
    def main():
        t = Mutex.create()
        try:
            Mutex.use_ro(t, lambda: fail("Simulated error"))
        except ValueError as e:
            traceln("Caught: %s", e)
            traceln("Trying to use the lock again is OK:")
            Mutex.lock(t)

    assert transcript(main) == [
        "Caught: Simulated error",
        "Trying to use the lock again is OK:",
        "-> None",
    ]


def test_with_statement_is_use_ro(transcript):
    def main():
        t = Mutex.create()
        try:
            with t:
                traceln("inside: try_lock gives %s", Mutex.try_lock(t))
                fail("Simulated error")
        except ValueError as e:
            traceln("Caught: %s", e)
        with t:
            traceln("Lock still works")
        return repr(t)

    assert transcript(main) == [
        "inside: try_lock gives False",
        "Caught: Simulated error",
        "Lock still works",
        "-> '<Mutex unlocked>'",
    ]


# -- Try_lock ---------------------------------------------------------------------


def test_try_lock(transcript, greeneio_backend):
    def main():
        t = Mutex.create()

        def fn():
            if Mutex.try_lock(t):
                traceln("Entered critical section")
                Fiber.yield_()
                traceln("Leaving critical section")
                Mutex.unlock(t)
            else:
                traceln("Failed to get lock")

        Fiber.both(fn, fn)
        Mutex.use_ro(t, lambda: traceln("Lock still works"))

    assert transcript(main, backend=greeneio_backend) == [
        "Entered critical section",
        "Failed to get lock",
        "Leaving critical section",
        "Lock still works",
        "-> None",
    ]


# -- Cancellation: a cancelled lock takes nothing ----------------------------------


def test_a_cancelled_waiter_never_owns_the_mutex_the_next_real_waiter_gets_it(
    transcript, greeneio_backend
):
    def main(sw):
        t = Mutex.create()
        Mutex.lock(t)
        ccs = []

        def waiter(name):
            def body(cc):
                ccs.append(cc)
                try:
                    Mutex.lock(t)
                except Cancel.Cancelled as e:
                    traceln("%s: cancelled (%s)", name, e.reason)
                    return
                traceln("%s: got the lock", name)
                Mutex.unlock(t)

            Cancel.sub(body)

        Fiber.fork(lambda: waiter("a"), sw=sw)
        Fiber.fork(lambda: waiter("b"), sw=sw)
        Fiber.fork(lambda: waiter("c"), sw=sw)
        traceln("%r", t)
        Cancel.cancel(ccs[0], ValueError("stop a"))
        Cancel.cancel(ccs[2], ValueError("stop c"))
        Fiber.yield_()
        traceln("%r", t)
        traceln("holder unlocks")
        Mutex.unlock(t)
        Fiber.yield_()
        traceln("%r", t)
        return Mutex.try_lock(t)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "<Mutex locked, 3 waiting>",
        "a: cancelled (stop a)",
        "c: cancelled (stop c)",
        "<Mutex locked, 1 waiting>",
        "holder unlocks",
        "b: got the lock",
        "<Mutex unlocked>",
        "-> True",
    ]


def test_a_lock_handed_over_just_before_cancellation_is_kept_and_unlocked_normally(
    transcript, greeneio_backend
):
    def main(sw):
        t = Mutex.create()
        Mutex.lock(t)
        ccs = []

        def section():
            traceln("waiter: owns the lock: %r", t)
            Fiber.yield_()  # its next blocking call: the cancellation arrives here
            traceln("not reached")

        def waiter(cc):
            ccs.append(cc)
            try:
                Mutex.use_ro(t, section)
            except Cancel.Cancelled:
                traceln("waiter: cancelled inside use_ro, which unlocked: %r", t)

        Fiber.fork(lambda: Cancel.sub(waiter), sw=sw)
        Mutex.unlock(t)  # hands the lock to the waiter (its resumption is queued)...
        Cancel.cancel(ccs[0], ValueError("late"))  # ...before the cancellation
        traceln("holder: %r", t)
        Fiber.yield_()
        Fiber.yield_()
        return Mutex.try_lock(t)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "holder: <Mutex locked, 0 waiting>",
        "waiter: owns the lock: <Mutex locked, 0 waiting>",
        "waiter: cancelled inside use_ro, which unlocked: <Mutex unlocked>",
        "-> True",
    ]


def test_a_lock_call_in_a_cancelled_fiber_takes_a_free_mutex_but_waits_for_none(transcript):
    # As Eio: taking a free mutex does not check for cancellation; waiting does.
    def main():
        t = Mutex.create()

        def body(cc):
            cc.cancel(ValueError("cancelled"))
            Mutex.lock(t)
            traceln("took the free mutex: %r", t)
            try:
                Mutex.lock(t)
            except Cancel.Cancelled:
                traceln("a wait raises Cancelled: %r", t)

        Cancel.sub(body)
        Mutex.unlock(t)
        return repr(t)

    assert transcript(main) == [
        "took the free mutex: <Mutex locked, 0 waiting>",
        "a wait raises Cancelled: <Mutex locked, 0 waiting>",
        "-> '<Mutex unlocked>'",
    ]


def test_waiters_are_served_first_come_first_served(transcript, greeneio_backend):
    def main(sw):
        t = Mutex.create()
        Mutex.lock(t)
        for name in "abcd":
            Fiber.fork(lambda name=name: Mutex.use_ro(t, lambda: traceln(name)), sw=sw)
        Mutex.unlock(t)
        # A fiber that keeps locking cannot overtake those waiting.
        return Mutex.try_lock(t)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "a",
        "b",
        "c",
        "d",
        "-> False",
    ]


def test_cancelling_many_waiters_keeps_the_queue_small(transcript):
    def main(sw):
        t = Mutex.create()
        Mutex.lock(t)
        ccs = []

        def waiter(cc):
            ccs.append(cc)
            with contextlib.suppress(Cancel.Cancelled):
                Mutex.lock(t)

        for _ in range(1000):
            Fiber.fork(lambda: Cancel.sub(waiter), sw=sw)
        Fiber.fork(lambda: Mutex.use_ro(t, lambda: traceln("the live waiter got it")), sw=sw)
        for cc in ccs:
            cc.cancel(ValueError("stop"))
            Fiber.yield_()  # let it see its cancellation
        # The dead wakers were dropped in batches as they were cancelled.
        traceln("%r, queue of %d", t, len(t._waiters))
        Mutex.unlock(t)

    out = transcript(lambda: Switch.run(main))
    assert out[0] == "<Mutex locked, 1 waiting>, queue of 1"
    assert out[1:] == ["the live waiter got it", "-> None"]


# -- Bad input --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lock", "unlock", "try_lock"])
def test_functions_check_the_mutex(transcript, name):
    out = transcript(lambda: getattr(Mutex, name)(42))
    assert out == [f"Exception: TypeError: Mutex.{name}: m must be a Mutex, not 42"]


def test_use_checks_its_arguments(transcript):
    t = Mutex.create()
    assert transcript(lambda: Mutex.use_ro("m", int)) == [
        "Exception: TypeError: Mutex.use_ro: m must be a Mutex, not 'm'"
    ]
    assert transcript(lambda: Mutex.use_ro(t, 3)) == [
        "Exception: TypeError: Mutex.use_ro: fn must be callable, not 3"
    ]
    assert transcript(lambda: Mutex.use_rw(t, 3, protect=True)) == [
        "Exception: TypeError: Mutex.use_rw: fn must be callable, not 3"
    ]
    assert transcript(lambda: Mutex.use_rw(t, int, protect=1)) == [
        "Exception: TypeError: Mutex.use_rw: protect must be a bool, not 1"
    ]
    with pytest.raises(TypeError, match="protect"):
        Mutex.use_rw(t, int)  # type: ignore[call-arg]  # protect is required, as in Eio
    assert repr(t) == "<Mutex unlocked>"  # bad calls never lock


def test_lock_outside_a_run_says_so():
    t = Mutex.create()
    Mutex.lock(t)  # a free mutex is taken without blocking, so no fiber is needed
    with pytest.raises(RuntimeError, match="no current fiber"):
        Mutex.lock(t)
