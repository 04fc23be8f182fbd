"""IAlarmClock.call_at: a timed call without a sleeping fiber, on both backends."""

from __future__ import annotations

import pytest

import greeneio
from greeneio import Fiber, Promise, Switch, traceln
from greeneio.interfaces import IAlarm, IAlarmClock
from greeneio.mock import Backend, Clock

pytestmark = pytest.mark.timeout(10)


def test_mock_alarms_ring_in_time_order_and_a_cancelled_one_never(transcript):
    mock = Clock.make()

    def main():
        assert IAlarmClock.providedBy(mock)
        mock.call_at(3, lambda: traceln("alarm 3 at %g", mock.now()))
        late = mock.call_at(5, lambda: traceln("alarm 5 (cancelled)"))
        mock.call_at(1, lambda: traceln("alarm 1 at %g", mock.now()))
        assert IAlarm.providedBy(late)
        late.cancel()
        late.cancel()  # twice: nothing more
        mock.set_time(2)
        traceln("set to 2")
        while mock.advance_to_next():
            pass
        traceln("no timer left at %g", mock.now())

    assert transcript(main) == [
        "mock time is now 2",
        "alarm 1 at 2",
        "set to 2",
        "mock time is now 3",
        "alarm 3 at 3",
        "no timer left at 3",
        "-> None",
    ]


def test_a_mock_alarm_already_due_rings_once_the_caller_lets_others_run(transcript):
    mock = Clock(time=4)

    def main():
        mock.call_at(4, lambda: traceln("due alarm"))
        traceln("still running")
        Fiber.yield_()
        traceln("after the yield")

    assert transcript(main) == ["still running", "due alarm", "after the yield", "-> None"]


def test_an_alarm_is_a_timer_for_the_mock_backend_when_every_fiber_is_blocked():
    # With every fiber blocked, run_full advances the env's clock to the alarm,
    # which resolves the promise the main fiber waits on (no deadlock).
    def main(env):
        p, r = Promise.create()
        env.mono_clock.call_at(7, lambda: Promise.resolve(r, env.mono_clock.now()))
        return p.await_()

    assert Backend.run_full(main) == 7


def test_gevent_alarm_rings_at_or_after_its_time_outside_any_fiber():
    def main(env):
        clock = env.mono_clock
        assert IAlarmClock.providedBy(clock) and IAlarmClock.providedBy(env.clock)
        p, r = Promise.create()
        cancelled = []
        t = clock.now() + 0.05
        clock.call_at(t, lambda: Promise.resolve(r, clock.now()))
        a = clock.call_at(t - 0.01, lambda: cancelled.append("rang"))
        a.cancel()
        rang = p.await_()
        with Switch() as sw:  # a later alarm has rung by now too, had it not been cancelled
            Fiber.fork(lambda: greeneio.Time.sleep(clock, 0.02), sw=sw)
        return rang >= t, cancelled

    assert greeneio.run(main) == (True, [])
