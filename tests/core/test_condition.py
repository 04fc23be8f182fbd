"""Condition: Eio's tests/condition.md, ported as transcripts, plus cancellation and bad input.

Each Eio case is one test named after it; the scheduling-order ones run on
the mock and on gevent (``greeneio_backend``). Eio's file shares ``x``,
``cond`` and ``mutex`` between cases; here each test makes its own (a
:class:`Cell` holding ``x``), starting where Eio's previous case left it.
"""

from __future__ import annotations

import pytest

from greeneio import Cancel, Condition, Fiber, Mutex, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def fail(msg):
    raise ValueError(msg)


# -- Test cases -----------------------------------------------------------------


def test_simple_case(transcript, greeneio_backend):
    def main(sw):
        condition = Condition.create()

        def one():
            traceln("1: wait for condition")
            Condition.await_no_mutex(condition)
            traceln("1: finished")

        def two():
            traceln("2: broadcast condition")
            Condition.broadcast(condition)
            traceln("2: finished")

        Fiber.both(one, two)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "1: wait for condition",
        "2: broadcast condition",
        "2: finished",
        "1: finished",
        "-> None",
    ]


def test_broadcast_when_no_one_is_waiting_doesnt_block(transcript):
    def main(sw):
        condition = Condition.create()
        traceln("broadcast condition")
        Condition.broadcast(condition)
        traceln("finished")

    assert transcript(lambda: Switch.run(main)) == [
        "broadcast condition",
        "finished",
        "-> None",
    ]


def test_broadcast_wakes_all_waiters_at_once(transcript, greeneio_backend):
    def main(sw):
        condition = Condition.create()

        def waiter(i):
            def fn():
                traceln("%d: wait for condition", i)
                Condition.await_no_mutex(condition)
                traceln("%d: finished", i)

            return fn

        def three():
            traceln("3: broadcast condition")
            Condition.broadcast(condition)
            traceln("3: finished")

        Fiber.all([waiter(1), waiter(2), three])

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "1: wait for condition",
        "2: wait for condition",
        "3: broadcast condition",
        "3: finished",
        "1: finished",
        "2: finished",
        "-> None",
    ]


# -- Typical single-domain use ----------------------------------------------------


class NoMutex:
    """Eio's ``x``, ``cond``, ``set`` and ``await`` of the single-domain section."""

    def __init__(self, x):
        self.x = x
        self.cond = Condition.create()

    def set(self, value):
        self.x = value
        Condition.broadcast(self.cond)

    def await_(self, p):
        # Only safe in one process, and if p doesn't switch fibers.
        while not p(self.x):
            Condition.await_no_mutex(self.cond)


class WithMutex(NoMutex):
    """The same, guarded by a mutex (Eio's "Use with mutex" section)."""

    def __init__(self, x):
        super().__init__(x)
        self.mutex = Mutex.create()

    def set(self, value):
        def assign():
            self.x = value

        Mutex.use_rw(self.mutex, assign, protect=False)
        Condition.broadcast(self.cond)

    def await_(self, p):
        def check():
            while not p(self.x):
                Condition.await_(self.cond, self.mutex)

        Mutex.use_ro(self.mutex, check)


def wait_for_42(s):
    def waiter():
        traceln("x = %d", s.x)
        s.await_(lambda x: x == 42)
        traceln("x = %d", s.x)

    def setter():
        s.set(5)
        Fiber.yield_()
        s.set(7)
        s.set(42)

    Fiber.both(waiter, setter)


def cancel_then_wait_for_0(s):
    def never():
        s.await_(lambda x: x == 0)
        raise AssertionError("not reached")

    Fiber.first(never, lambda: None)

    def waiter():
        traceln("x = %d", s.x)
        s.await_(lambda x: x == 0)
        traceln("x = %d", s.x)

    def setter():
        s.set(5)
        Fiber.yield_()
        s.set(0)

    Fiber.both(waiter, setter)


def test_typical_single_domain_use(transcript, greeneio_backend):
    out = transcript(lambda: wait_for_42(NoMutex(0)), backend=greeneio_backend)
    assert out == ["x = 0", "x = 42", "-> None"]


def test_cancellation_while_waiting(transcript, greeneio_backend):
    out = transcript(lambda: cancel_then_wait_for_0(NoMutex(42)), backend=greeneio_backend)
    assert out == ["x = 42", "x = 0", "-> None"]


# -- Use with mutex ---------------------------------------------------------------


def test_use_with_mutex(transcript, greeneio_backend):
    out = transcript(lambda: wait_for_42(WithMutex(0)), backend=greeneio_backend)
    assert out == ["x = 0", "x = 42", "-> None"]


def test_use_with_mutex_cancellation_while_waiting(transcript, greeneio_backend):
    out = transcript(lambda: cancel_then_wait_for_0(WithMutex(42)), backend=greeneio_backend)
    assert out == ["x = 42", "x = 0", "-> None"]


def test_cancelling_while_the_mutex_is_held(transcript, greeneio_backend):
    # await_ must always lock again, and that lock must not be cancellable.
    def main(sw):
        cond = Condition.create()
        mutex = Mutex.create()

        def forked():
            traceln("Forked fiber locking")
            Mutex.lock(mutex)
            try:
                Condition.await_(cond, mutex)
                raise AssertionError("not reached")
            except Cancel.Cancelled:
                traceln("Forked fiber unlocking")
                Mutex.unlock(mutex)
                raise

        Fiber.fork(forked, sw=sw)

        def protected():
            traceln("Main fiber locking")
            Mutex.lock(mutex)
            sw.fail(ValueError("Simulated error"))
            Fiber.yield_()
            traceln("Main fiber unlocking")
            Mutex.unlock(mutex)

        Cancel.protect(protected)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Forked fiber locking",
        "Main fiber locking",
        "Main fiber unlocking",
        "Forked fiber unlocking",
        "Exception: ValueError: Simulated error",
    ]


# -- Looping ----------------------------------------------------------------------


def test_looping(transcript, greeneio_backend):
    def main():
        cond = Condition.create()
        x = [0]

        def set_(v):
            traceln("setting x=%d", v)
            x[0] = v
            Condition.broadcast(cond)

        def update():
            traceln("Checking x...")
            Fiber.yield_()
            seen = x[0]
            traceln("Saw x = %d", seen)
            if seen == 3:
                traceln("Finished")
                return ()
            return None

        def setter():
            for v in (1, 2, 3, 4):
                set_(v)
                Fiber.yield_()

        Fiber.both(lambda: Condition.loop_no_mutex(cond, update), setter)

    assert transcript(main, backend=greeneio_backend) == [
        "Checking x...",
        "setting x=1",
        "Saw x = 1",
        "setting x=2",
        "Checking x...",
        "setting x=3",
        "Saw x = 3",
        "Finished",
        "setting x=4",
        "-> None",
    ]


def test_looping_cancelling(transcript):
    def main():
        cond = Condition.create()

        def update():
            traceln("Checking")

        Fiber.both(lambda: Condition.loop_no_mutex(cond, update), lambda: fail("Simulated error"))

    assert transcript(main) == ["Checking", "Exception: ValueError: Simulated error"]


def test_looping_cancelling_after_succeeding(transcript, greeneio_backend):
    def main():
        cond = Condition.create()

        def update():
            traceln("Checking")

        def broadcaster():
            traceln("Broadcasting")
            Condition.broadcast(cond)
            fail("Simulated error")

        Fiber.both(lambda: Condition.loop_no_mutex(cond, update), broadcaster)

    assert transcript(main, backend=greeneio_backend) == [
        "Checking",
        "Broadcasting",
        "Checking",
        "Exception: ValueError: Simulated error",
    ]


def test_looping_user_function_raises(transcript):
    def main():
        cond = Condition.create()

        def update():
            Fiber.yield_()
            fail("Simulated failure")

        Condition.loop_no_mutex(cond, update)

    assert transcript(main) == ["Exception: ValueError: Simulated failure"]


# -- Beyond Eio's file: results, cancellation and the mutex ----------------------


def test_loop_no_mutex_returns_the_first_value_that_is_not_none(transcript):
    def main():
        cond = Condition.create()
        results = iter([None, 0, 1])  # 0 is a value, not a "no": only None means retry

        def update():
            traceln("update")
            return next(results)

        def kick():
            Fiber.yield_()
            Condition.broadcast(cond)

        return Fiber.pair(lambda: Condition.loop_no_mutex(cond, update), kick)

    assert transcript(main) == ["update", "update", "-> (0, None)"]


def test_a_broadcast_while_fn_runs_requeues_behind_runnable_fibers(transcript, greeneio_backend):
    # SPEC §13: fn runs again without waiting, but behind the fibers already
    # runnable (Eio re-queues the fiber, as Fiber.yield_ does).
    def main():
        cond = Condition.create()
        runs = [0]

        def update():
            runs[0] += 1
            traceln("update %d", runs[0])
            if runs[0] == 1:
                Condition.broadcast(cond)  # came while fn ran
                return None
            return "done"

        def other():
            traceln("other runs before the second update")

        def loop():
            return Condition.loop_no_mutex(cond, update)

        def main_body(sw):
            Fiber.fork(lambda: (Fiber.yield_(), traceln("queued earlier")), sw=sw)
            p = Fiber.fork_promise(loop, sw=sw)
            other()
            return p.await_()

        return Switch.run(main_body)

    assert transcript(main, backend=greeneio_backend) == [
        "update 1",
        "other runs before the second update",
        "queued earlier",
        "update 2",
        "-> 'done'",
    ]


def test_await_cancelled_holds_the_mutex_again_when_cancelled_propagates(
    transcript, greeneio_backend
):
    def main(sw):
        cond = Condition.create()
        mutex = Mutex.create()
        ccs = []

        def waiter(cc):
            ccs.append(cc)

            def section():
                try:
                    Condition.await_(cond, mutex)
                except Cancel.Cancelled:
                    traceln("waiter: cancelled, try_lock gives %s", Mutex.try_lock(mutex))
                    raise

            try:
                Mutex.use_ro(mutex, section)
            except Cancel.Cancelled:
                traceln("waiter: use_ro unlocked it: %r", mutex)

        Fiber.fork(lambda: Cancel.sub(waiter), sw=sw)
        traceln("main: the waiter gave the mutex up: %r", mutex)
        Cancel.cancel(ccs[0], ValueError("stop"))
        Fiber.yield_()
        return repr(cond)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "main: the waiter gave the mutex up: <Mutex unlocked>",
        "waiter: cancelled, try_lock gives False",
        "waiter: use_ro unlocked it: <Mutex unlocked>",
        "-> '<Condition 0 waiting>'",
    ]


def test_await_cancelled_before_waiting_gives_the_mutex_up_and_takes_it_back(transcript):
    # As Eio: an await_ in a cancelled fiber unlocks (a waiter goes first),
    # locks again under protect, then raises Cancelled.
    def main(sw):
        cond = Condition.create()
        mutex = Mutex.create()
        Mutex.lock(mutex)
        Fiber.fork(lambda: Mutex.use_ro(mutex, lambda: traceln("other: got the mutex")), sw=sw)

        def body(cc):
            cc.cancel(ValueError("already cancelled"))
            Condition.await_(cond, mutex)

        try:
            Cancel.sub(body)
        except Cancel.Cancelled:
            traceln("main: Cancelled, holding the mutex: %r", mutex)
        Mutex.unlock(mutex)
        return repr(cond)

    assert transcript(lambda: Switch.run(main)) == [
        "other: got the mutex",
        "main: Cancelled, holding the mutex: <Mutex locked, 0 waiting>",
        "-> '<Condition 0 waiting>'",
    ]


def test_await_returns_holding_the_mutex_after_a_broadcast(transcript, greeneio_backend):
    def main(sw):
        cond = Condition.create()
        mutex = Mutex.create()

        def waiter():
            with mutex:
                Condition.await_(cond, mutex)
                traceln("waiter: woken, try_lock gives %s", Mutex.try_lock(mutex))

        Fiber.fork(waiter, sw=sw)
        with mutex:
            traceln("main: has the mutex while the waiter waits")
            Condition.broadcast(cond)
            Fiber.yield_()
            traceln("main: the waiter needs the mutex back first")
        Fiber.yield_()
        return repr(mutex)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "main: has the mutex while the waiter waits",
        "main: the waiter needs the mutex back first",
        "waiter: woken, try_lock gives False",
        "-> '<Mutex unlocked>'",
    ]


def test_await_no_mutex_cancelled_waiter_is_skipped_by_broadcast(transcript):
    def main(sw):
        cond = Condition.create()
        ccs = []

        def waiter(name):
            def body(cc):
                ccs.append(cc)
                try:
                    Condition.await_no_mutex(cond)
                    traceln("%s: woken", name)
                except Cancel.Cancelled:
                    traceln("%s: cancelled", name)

            return lambda: Cancel.sub(body)

        for name in "abc":
            Fiber.fork(waiter(name), sw=sw)
        traceln("%r", cond)
        Cancel.cancel(ccs[1], ValueError("stop b"))
        Fiber.yield_()
        Condition.broadcast(cond)
        Fiber.yield_()
        return repr(cond)

    assert transcript(lambda: Switch.run(main)) == [
        "<Condition 3 waiting>",
        "b: cancelled",
        "a: woken",
        "c: woken",
        "-> '<Condition 0 waiting>'",
    ]


def test_await_with_an_unlocked_mutex_raises_and_registers_nothing(transcript):
    def main():
        cond = Condition.create()
        mutex = Mutex.create()
        try:
            Condition.await_(cond, mutex)
        except RuntimeError as e:
            traceln("Caught: %s", e)
        return repr(cond)

    assert transcript(main) == [
        "Caught: Mutex.unlock: already unlocked!",
        "-> '<Condition 0 waiting>'",
    ]


# -- Bad input --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["await_no_mutex", "broadcast"])
def test_functions_check_the_condition(transcript, name):
    out = transcript(lambda: getattr(Condition, name)(None))
    assert out == [f"Exception: TypeError: Condition.{name}: c must be a Condition, not None"]


def test_await_and_loop_check_their_arguments(transcript):
    cond = Condition.create()
    assert transcript(lambda: Condition.await_(1, Mutex.create())) == [
        "Exception: TypeError: Condition.await_: c must be a Condition, not 1"
    ]
    assert transcript(lambda: Condition.await_(cond, "m")) == [
        "Exception: TypeError: Condition.await_: mutex must be a Mutex, not 'm'"
    ]
    assert transcript(lambda: Condition.loop_no_mutex(cond, 3)) == [
        "Exception: TypeError: Condition.loop_no_mutex: fn must be callable, not 3"
    ]
    assert transcript(lambda: Condition.loop_no_mutex(1, int)) == [
        "Exception: TypeError: Condition.loop_no_mutex: c must be a Condition, not 1"
    ]
    assert repr(cond) == "<Condition 0 waiting>"
