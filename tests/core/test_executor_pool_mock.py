"""Executor_pool: Eio's tests/executor_pool.md, ported as transcripts on the mock.

The mock's domains are fibers of one process (tagged ``[1] ``, ``[2] ``), so
the pool links them with in-memory queues and jobs are closures, not
pickled. Time is the mock clock's: ``sleep(50)`` takes 50 virtual seconds.
Where Eio's ``submit`` returns a ``result``, ours raises: the port catches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from zope.interface import implementer

from greeneio import Cancel, Executor_pool, Fiber, Promise, Switch, Time, mock, traceln
from greeneio.interfaces import IDomainManager

pytestmark = pytest.mark.timeout(10)

Sleep = Callable[..., None]
Duration = Callable[[float, Callable[[], Any]], Any]


def run(transcript: Any, fn: Callable[[Any, Sleep, Duration], Any]) -> list[str]:
    """Eio's ``run``: ``fn(mgr, sleep, duration)`` in mock domain 0 of a full mock run."""

    def main(env: Any) -> Any:
        clock = env.clock

        def sleep(ms: float, weight: float | None = None) -> None:
            t0 = Time.now(clock)
            w = "" if weight is None else f" (weight: {weight:.3f})"
            traceln("Sleeping %.0f%s: %.0f -> %.0f", ms, w, t0, t0 + ms)
            Time.sleep(clock, ms)

        def duration(expected: float, f: Callable[[], Any]) -> Any:
            t0 = Time.now(clock)
            result = f()
            actual = Time.now(clock) - t0
            if actual != expected:
                raise AssertionError(f"Duration was not {expected:.0f}: {actual:.0f}")
            traceln("Duration (valid): %.0f", expected)
            return result

        return mock.Domain_manager.run(lambda mgr: fn(mgr, sleep, duration))

    return transcript(main, full=True)  # type: ignore[no-any-return]


def adding(pool: Any, sleep: Sleep, total: list[int], weight: float) -> Callable[[int], None]:
    """``i -> submit (sleep 50; total += i)``."""

    def one(i: int) -> None:
        def job() -> None:
            sleep(50)
            total[0] += i

        Executor_pool.submit(pool, job, weight=weight)

    return one


# -- concurrency -------------------------------------------------------------------


def test_runs_jobs_in_parallel_as_much_as_possible_domains(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> int:
        with Switch() as sw:
            total = [0]
            pool = Executor_pool.create(mgr, sw=sw, domain_count=2)

            def body() -> int:
                Fiber.List.iter(adding(pool, sleep, total, 1.0), [1, 2, 3, 4, 5])
                return total[0]

            return duration(150, body)  # type: ignore[no-any-return]

    assert run(transcript, main) == [
        "[1] Sleeping 50: 0 -> 50",
        "[2] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "[2] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[1] Sleeping 50: 100 -> 150",
        "mock time is now 150",
        "[0] Duration (valid): 150",
        "-> 15",
    ]


def test_runs_jobs_in_parallel_as_much_as_possible_workers(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> int:
        with Switch() as sw:
            total = [0]
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)

            def body() -> int:
                Fiber.List.iter(adding(pool, sleep, total, 0.5), [1, 2, 3, 4, 5])
                return total[0]

            return duration(150, body)  # type: ignore[no-any-return]

    assert run(transcript, main) == [
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[1] Sleeping 50: 100 -> 150",
        "mock time is now 150",
        "[0] Duration (valid): 150",
        "-> 15",
    ]


def test_runs_jobs_in_parallel_as_much_as_possible_both(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> int:
        with Switch() as sw:
            total = [0]
            pool = Executor_pool.create(mgr, sw=sw, domain_count=2)

            def body() -> int:
                Fiber.List.iter(adding(pool, sleep, total, 0.5), [1, 2, 3, 4, 5])
                return total[0]

            return duration(100, body)  # type: ignore[no-any-return]

    assert run(transcript, main) == [
        "[1] Sleeping 50: 0 -> 50",
        "[2] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "[2] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[0] Duration (valid): 100",
        "-> 15",
    ]


def test_can_exceed_weight_of_one(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(mgr, sw=sw, domain_count=2)
            weights = [0.25] * 10 + [1.0] + [0.25] * 7
            Fiber.List.iter(
                lambda w: Executor_pool.submit(pool, lambda: sleep(100, weight=w), weight=w),
                weights,
            )

    quarter = "Sleeping 100 (weight: 0.250)"
    assert run(transcript, main) == [
        *[f"[{d}] {quarter}: 0 -> 100" for d in (1, 2, 1, 2, 1, 2, 1, 2)],
        "mock time is now 100",
        f"[1] {quarter}: 100 -> 200",
        f"[2] {quarter}: 100 -> 200",
        "[1] Sleeping 100 (weight: 1.000): 100 -> 200",
        f"[2] {quarter}: 100 -> 200",
        f"[2] {quarter}: 100 -> 200",
        f"[2] {quarter}: 100 -> 200",
        "mock time is now 200",
        *[f"[{d}] {quarter}: 200 -> 300" for d in (1, 2, 1, 2)],
        "mock time is now 300",
        "-> None",
    ]


# -- weights -------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [-5.0, 1.1])
def test_weights_must_be_between_0_and_1(transcript, weight):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(mgr, sw=sw, domain_count=2)
            Executor_pool.submit(pool, lambda: None, weight=weight)

    assert run(transcript, main) == [
        f"Exception: ValueError: Executor_pool.submit: weight must be >= 0.0 and <= 1.0, "
        f"not {weight}"
    ]


# -- job error handling ----------------------------------------------------------------


def test_submit_results(transcript):
    # Eio's ``submit`` returns a result; ours raises, so the port catches.
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> Any:
        with Switch() as sw:
            total = [0]
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)

            def one(i: int) -> tuple[str, Any]:
                def job() -> int:
                    sleep(50)
                    if i % 2 == 0:
                        raise ValueError(str(i))
                    x = total[0]
                    total[0] += i
                    return x

                try:
                    return ("Ok", Executor_pool.submit(pool, job, weight=0.25))
                except ValueError as e:
                    return ("Error", e.args)

            return duration(100, lambda: (Fiber.List.map(one, [1, 2, 3, 4, 5]), total[0]))

    assert run(transcript, main) == [
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[0] Duration (valid): 100",
        "-> ([('Ok', 0), ('Error', ('2',)), ('Ok', 1), ('Error', ('4',)), ('Ok', 4)], 9)",
    ]


def test_submit_exn_raises(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> Any:
        with Switch() as sw:
            total = [0]
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)

            def one(i: int) -> int:
                def job() -> int:
                    traceln("Started %d", i)
                    x = total[0]
                    total[0] += i
                    if x == 3:
                        raise ValueError(str(i))
                    return x

                return Executor_pool.submit_exn(pool, job, weight=1.0)

            return Fiber.List.map(one, [1, 2, 3, 4, 5])

    assert run(transcript, main) == [
        "[1] Started 1",
        "[1] Started 2",
        "[1] Started 3",
        "Exception: ValueError: 3",
    ]


# -- blocking for capacity ---------------------------------------------------------------


def test_submit_waits_for_room_in_the_queue(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)
            p1 = Fiber.fork_promise(lambda: Executor_pool.submit(pool, lambda: sleep(50)), sw=sw)
            duration(50, lambda: Executor_pool.submit(pool, lambda: None))
            duration(0, p1.await_)

    assert run(transcript, main) == [
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[0] Duration (valid): 50",
        "[0] Duration (valid): 0",
        "-> None",
    ]


def test_submit_fork_does_not_wait_for_room(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)

            def fork_sleeper() -> Promise[None]:
                return Fiber.fork_promise(
                    lambda: Executor_pool.submit(pool, lambda: sleep(50)), sw=sw
                )

            p1 = duration(0, fork_sleeper)
            p2 = duration(0, fork_sleeper)
            p3 = duration(0, lambda: Executor_pool.submit_fork(pool, lambda: None, sw=sw))
            duration(100, lambda: (p1.await_(), p2.await_(), p3.await_()))

    assert run(transcript, main) == [
        "[0] Duration (valid): 0",
        "[0] Duration (valid): 0",
        "[0] Duration (valid): 0",
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[0] Duration (valid): 100",
        "-> None",
    ]


# -- the pool's switch ---------------------------------------------------------------------


def test_checks_switch_status(transcript):
    # Eio raises Invalid_argument "Stream closed"; ours names the pool's switch.
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> None:
        leak: list[Any] = []
        count = [0]

        def incr() -> None:
            sleep(50)
            count[0] += 1

        try:
            with Switch() as sw:
                pool = Executor_pool.create(mgr, sw=sw, domain_count=1)
                leak.append(pool)
                p1 = duration(
                    0, lambda: Fiber.fork_promise(lambda: Executor_pool.submit(pool, incr), sw=sw)
                )
                sw.fail(RuntimeError("Abort mission!"))
                p1.await_()
                Executor_pool.submit(pool, incr)
        except BaseException:
            pass
        Executor_pool.submit(leak[0], incr)
        traceln("Count: %d", count[0])

    assert run(transcript, main) == [
        "[0] Duration (valid): 0",
        "Exception: RuntimeError: Executor_pool: the pool's switch has finished",
    ]


class Exit(Exception):
    pass


def test_if_the_worker_is_cancelled_the_client_still_gets_a_reply(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)

            def submitter() -> None:
                def protected() -> None:
                    traceln("Submitting...")
                    Executor_pool.submit(pool, lambda: traceln("Running"))
                    raise AssertionError("not reached")

                Cancel.protect(protected)

            def simulated_error() -> None:
                traceln("Simulated error")
                sw.fail(Exit("Exit"))

            Fiber.both(submitter, simulated_error)

    assert run(transcript, main) == [
        "[0] Submitting...",
        "[0] Simulated error",
        "Exception: Exit: Exit",
    ]


# -- beyond Eio's file ------------------------------------------------------------------------


def test_cancelling_the_submitter_cancels_the_job_in_its_worker(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)

            def job() -> None:
                traceln("job started")
                try:
                    sleep(100)
                except Cancel.Cancelled as e:
                    traceln("job cancelled (%s)", type(e.reason).__name__)
                    raise

            Fiber.first(lambda: Executor_pool.submit(pool, job), lambda: sleep(10))
            # Weight 1.0 on one worker: this one runs after the cancelled job ended.
            return duration(0, lambda: Executor_pool.submit(pool, lambda: "next"))

    assert run(transcript, main) == [
        "[0] Sleeping 10: 0 -> 10",
        "[1] job started",
        "[1] Sleeping 100: 0 -> 100",
        "mock time is now 10",
        "[1] job cancelled (_SubmitterCancelled)",
        "[0] Duration (valid): 0",
        "-> 'next'",
    ]


def test_a_job_queued_then_cancelled_never_starts(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(mgr, sw=sw, domain_count=1)
            busy = Executor_pool.submit_fork(pool, lambda: sleep(50), sw=sw)
            Fiber.first(lambda: Executor_pool.submit(pool, lambda: traceln("never")), Fiber.yield_)
            Executor_pool.submit(pool, lambda: traceln("after"))
            busy.await_()

    assert run(transcript, main) == [
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] after",
        "-> None",
    ]


def test_when_the_switch_ends_waiting_submitters_elsewhere_get_an_error(transcript):
    def main(mgr: Any, sleep: Sleep, duration: Duration) -> Any:
        def job() -> None:
            try:
                sleep(50)
            except Cancel.Cancelled:
                traceln("job cancelled")
                raise

        with Switch() as outer:
            with Switch() as sw:
                pool = Executor_pool.create(mgr, sw=sw, domain_count=1)
                p = Executor_pool.submit_fork(pool, job, sw=outer)
                sleep(10)
            try:
                p.await_()
            except RuntimeError as e:
                return str(e)

    assert run(transcript, main) == [
        "[0] Sleeping 10: 0 -> 10",
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 10",
        "[1] job cancelled",
        '-> "Executor_pool: the pool\'s switch has finished"',
    ]


@implementer(IDomainManager)
class NoDomains:
    """A domain manager whose domains never start."""

    def run(self, fn: Callable[[], Any]) -> Any:
        raise RuntimeError("no domains today")

    def semaphore(self, n: int, sw: Switch) -> Any:
        raise NotImplementedError

    def counters(self, n: int, sw: Switch) -> Any:
        raise NotImplementedError

    def share(self, promise: Any, sw: Switch) -> Any:
        raise NotImplementedError


def test_a_worker_that_cannot_start_fails_the_switch(transcript):
    def main() -> None:
        with Switch() as sw:
            pool = Executor_pool.create(NoDomains(), sw=sw, domain_count=2)
            traceln("created")
            Executor_pool.submit(pool, lambda: traceln("never"))

    assert transcript(main) == [
        "created",
        "Exception: RuntimeError: Executor_pool: a worker failed to start: "
        "RuntimeError: no domains today",
    ]
