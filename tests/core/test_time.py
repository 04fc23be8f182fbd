"""Time: Eio's tests/time.md (mock clock, timeouts), plus real gevent clocks."""

from __future__ import annotations

import time

import pytest

import greeneio
from greeneio import Fiber, Switch, Time, traceln
from greeneio.mock import Backend, Clock, Deadlock

pytestmark = pytest.mark.timeout(10)


def sleeper(clock, label, t):
    def f():
        Time.sleep_until(clock, t)
        traceln("%s (%g) woken", label, t)

    return f


def five_sleepers(clock):
    return [
        sleeper(clock, label, t) for label, t in (("A", 5), ("B", 7), ("C", 2), ("D", 0), ("E", 5))
    ]


def test_mock_clock_advance(transcript):
    mock = Clock.make()

    def advancer():
        while True:
            Fiber.yield_()
            mock.advance()

    def main():
        Fiber.all([*five_sleepers(mock), advancer])

    assert transcript(main) == [
        "D (0) woken",
        "mock time is now 2",
        "C (2) woken",
        "mock time is now 5",
        "A (5) woken",
        "E (5) woken",
        "mock time is now 7",
        "B (7) woken",
        "Exception: RuntimeError: No further events scheduled on mock clock",
    ]


def test_mock_clock_set_time(transcript):
    mock = Clock.make()

    def setter():
        for t in (5.0, 1.0, 10.0, 12.0):
            Fiber.yield_()
            mock.set_time(t)

    def main():
        mock.set_time(0.0)
        Fiber.all([*five_sleepers(mock), setter])

    assert transcript(main) == [
        "mock time is now 0",
        "D (0) woken",
        "mock time is now 5",
        "C (2) woken",
        "A (5) woken",
        "E (5) woken",
        "mock time is now 1",
        "mock time is now 10",
        "B (7) woken",
        "mock time is now 12",
        "-> None",
    ]


def test_mock_clock_cancelled_sleeper(transcript):
    mock = Clock.make()

    def main():
        mock.set_time(0.0)
        Fiber.first(sleeper(mock, "A", 5.0), lambda: traceln("Cancel sleeper"))
        mock.advance()

    assert transcript(main) == [
        "mock time is now 0",
        "Cancel sleeper",
        "Exception: RuntimeError: No further events scheduled on mock clock",
    ]


def test_timeout_sleep_then_none_deadlocks(traced):
    def main(env):
        timeout = Time.Timeout.seconds(env.mono_clock, 2.0)
        timeout.sleep()
        traceln("Timeout done")
        Time.Timeout.none.sleep()

    with pytest.raises(Deadlock):
        Backend.run_full(main)
    assert traced == ["mock time is now 2", "Timeout done"]


def test_with_timeout_virtual_time_only(transcript):
    def main(env):
        return Time.with_timeout(env.clock, 10, lambda: Time.sleep(env.clock, 3600))

    t0 = time.monotonic()
    out = transcript(main, full=True)
    elapsed = time.monotonic() - t0
    assert out == ["mock time is now 10", "Exception: Timeout: Timeout"]
    assert elapsed < 2.0  # virtual: a 10 s timeout does not take 10 s


def test_with_timeout_returns_result_in_time(transcript):
    def main(env):
        def work():
            Time.sleep(env.clock, 3)
            return "done"

        return Time.with_timeout_exn(env.clock, 10, work), Time.now(env.clock)

    assert transcript(main, full=True) == ["mock time is now 3", "-> ('done', 3.0)"]


def test_timeout_run_exn(transcript):
    def main(env):
        Time.Timeout.none.run_exn(lambda: None)
        t = Time.Timeout.seconds(env.mono_clock, 0.0001)
        t.run_exn(Fiber.await_cancel)

    assert transcript(main, full=True) == [
        "mock time is now 0.0001",
        "Exception: Timeout: Timeout",
    ]


def test_timeout_is_a_timeout_error():
    assert issubclass(Time.Timeout, TimeoutError)


@pytest.mark.parametrize(
    "seconds, text",
    [
        (1e-9, "1e-09s"),
        (0.01, "10ms"),
        (0.1, "0.1s"),
        (2.0, "2s"),
        (60.0, "60s"),
        (61.5, "62s"),
        (120.0, "2m"),
        (1800.0, "30m"),
    ],
)
def test_timeout_printing(seconds, text):
    assert str(Time.Timeout.seconds(Clock(), seconds)) == text


def test_timeout_none_printing():
    assert str(Time.Timeout.none) == "(no timeout)"


def test_sleep_on_failed_switch_raises_original(transcript):
    def main(env):
        with Switch() as sw:
            sw.fail(ValueError("Simulated failure"))
            Time.sleep(env.clock, 1200)
            raise AssertionError("not reached")

    assert transcript(main, full=True) == ["Exception: ValueError: Simulated failure"]


def test_real_sleep_and_cancel():
    def main(env):
        t0 = time.time()
        Time.sleep(env.clock, 0.01)
        assert time.time() - t0 >= 0.01

        def never():
            Time.sleep(env.mono_clock, 1200)
            raise AssertionError("not reached")

        def failing():
            raise ValueError("Simulated cancel")

        with pytest.raises(ValueError, match="Simulated cancel"):
            Fiber.both(never, failing)
        return "ok"

    assert greeneio.run(main) == "ok"


def test_real_sleep_until_past_is_due_at_once(traced):
    def main(env):
        def first():
            traceln("First fiber runs")
            Time.sleep(env.clock, -1.0)
            traceln("Sleep done")

        Fiber.both(first, lambda: traceln("Second fiber runs"))

    greeneio.run(main)
    assert traced == ["First fiber runs", "Second fiber runs", "Sleep done"]


def test_real_with_timeout():
    def main(env):
        t0 = time.monotonic()
        with pytest.raises(Time.Timeout):
            Time.with_timeout(env.mono_clock, 0.05, lambda: Time.sleep(env.mono_clock, 60))
        return time.monotonic() - t0

    assert greeneio.run(main) < 5
