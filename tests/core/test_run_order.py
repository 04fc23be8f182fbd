"""Run order: Eio's tests/fiber.md scheduling transcripts, on the mock and on gevent.

SPEC §3: the order of ``fork``, ``both``, ``first``, ``Fiber.List.*`` and
daemon fibers is the same on the gevent backend as on the mock, so each case
is one test run on both (``greeneio_backend``). Each test is named after its
Eio case; the expected lines are Eio's, with its final ``traceln`` of the
result shown as the transcript's ``-> result``.
"""

from __future__ import annotations

import pytest

from greeneio import Cancel, Fiber, Promise, Switch, traceln

pytestmark = pytest.mark.timeout(10)


# -- Scheduling order -----------------------------------------------------------------


def test_forking_runs_the_child_first_and_puts_the_calling_fiber_at_the_head_of_the_run_queue(
    transcript, greeneio_backend
):
    def main(sw):
        def first():
            traceln("1st child runs")
            Fiber.yield_()
            traceln("Queued work")

        Fiber.fork(first, sw=sw)
        Fiber.fork(lambda: traceln("2nd child runs immediately"), sw=sw)
        traceln("Caller runs before queued work")
        return "ok"

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "1st child runs",
        "2nd child runs immediately",
        "Caller runs before queued work",
        "Queued work",
        "-> 'ok'",
    ]


def enqueue_work_for_later(sw):
    def later():
        traceln("Enqueuing work for later")
        Fiber.yield_()
        traceln("Queued work")

    Fiber.fork(later, sw=sw)


def test_same_with_both(transcript, greeneio_backend):
    def main(sw):
        enqueue_work_for_later(sw)
        Fiber.both(lambda: traceln("1st branch"), lambda: traceln("2nd branch"))
        return "ok"

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Enqueuing work for later",
        "1st branch",
        "2nd branch",
        "Queued work",
        "-> 'ok'",
    ]


def test_same_with_first(transcript, greeneio_backend):
    def main(sw):
        enqueue_work_for_later(sw)
        Fiber.first(lambda: traceln("1st branch"), lambda: traceln("2nd branch"))
        return "ok"

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Enqueuing work for later",
        "1st branch",
        "2nd branch",
        "Queued work",
        "-> 'ok'",
    ]


# -- Concurrent list operations -------------------------------------------------------


def process(fn):
    """Eio's ``process fn x``: trace the start, yield, apply ``fn``, trace the end."""

    def f(x):
        traceln("Start %d", x)
        Fiber.yield_()
        y = fn(x)
        traceln("Finished %d", x)
        return y

    return f


def is_even(x):
    return x % 2 == 0


def string_even(x):
    return str(x) if is_even(x) else None


EVERY_START_THEN_EVERY_FINISH = [
    "Start 1",
    "Start 2",
    "Start 3",
    "Start 4",
    "Finished 1",
    "Finished 2",
    "Finished 3",
    "Finished 4",
]


def test_concurrent_list_filter(transcript, greeneio_backend):
    out = transcript(
        lambda: Fiber.List.filter(process(is_even), [1, 2, 3, 4]), backend=greeneio_backend
    )
    assert out == [*EVERY_START_THEN_EVERY_FINISH, "-> [2, 4]"]


def test_concurrent_list_map(transcript, greeneio_backend):
    out = transcript(
        lambda: Fiber.List.map(process(string_even), [1, 2, 3, 4]), backend=greeneio_backend
    )
    assert out == [*EVERY_START_THEN_EVERY_FINISH, "-> [None, '2', None, '4']"]


def test_concurrent_list_filter_map(transcript, greeneio_backend):
    out = transcript(
        lambda: Fiber.List.filter_map(process(string_even), [1, 2, 3, 4]),
        backend=greeneio_backend,
    )
    assert out == [*EVERY_START_THEN_EVERY_FINISH, "-> ['2', '4']"]


def test_concurrent_list_iter(transcript, greeneio_backend):
    # Eio's fiber.md has no unlimited iter case: this is map's, with iter's result.
    out = transcript(
        lambda: Fiber.List.iter(process(string_even), [1, 2, 3, 4]), backend=greeneio_backend
    )
    assert out == [*EVERY_START_THEN_EVERY_FINISH, "-> None"]


def limited(list_fn, finish_value):
    """Eio's ``max_fibers:2`` cases: four items, each waiting for its promise,
    finished in the order 1, 2, 0, 3 by a fiber that yields in between."""

    def main():
        ps = [Promise.create() for _ in range(4)]

        def finish(i):
            Promise.resolve(ps[i][1], finish_value(i))

        def left():
            result = list_fn(process(lambda i: ps[i][0].await_()), range(4), max_fibers=2)
            if result is not None:
                traceln("%s", result)

        def right():
            finish(1)
            Fiber.yield_()
            finish(2)
            Fiber.yield_()
            Fiber.yield_()
            finish(0)
            Fiber.yield_()
            Fiber.yield_()
            finish(3)

        Fiber.both(left, right)

    return main


LIMITED_TO_TWO = [
    "Start 0",
    "Start 1",
    "Finished 1",
    "Start 2",
    "Finished 2",
    "Start 3",
    "Finished 0",
    "Finished 3",
]


def test_the_number_of_concurrent_fibers_can_be_limited(transcript, greeneio_backend):
    names = ["zero", "one", "two", "three"]
    out = transcript(limited(Fiber.List.map, names.__getitem__), backend=greeneio_backend)
    assert out == [*LIMITED_TO_TWO, "['zero', 'one', 'two', 'three']", "-> None"]


def test_simple_iteration(transcript, greeneio_backend):
    out = transcript(limited(Fiber.List.iter, lambda _i: None), backend=greeneio_backend)
    assert out == [*LIMITED_TO_TWO, "-> None"]


# -- Daemon fibers --------------------------------------------------------------------


def test_a_daemon_fiber_runs_until_the_non_daemon_threads_finish(transcript, greeneio_backend):
    def main(sw):
        def daemon():
            for _ in range(10):
                traceln("Daemon running")
                Fiber.yield_()
            raise AssertionError("Test failed")

        Fiber.fork_daemon(daemon, sw=sw)
        traceln("Main running 1")
        Fiber.yield_()
        traceln("Main running 2")

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Daemon running",
        "Main running 1",
        "Daemon running",
        "Main running 2",
        "-> None",
    ]


def test_a_more_complex_example_with_multiple_daemon_and_non_daemon_fibers(
    transcript, greeneio_backend
):
    def main(sw):
        def worker_1():
            traceln("Worker 1 starting")
            Fiber.yield_()
            traceln("Worker 1 running")
            Fiber.yield_()
            traceln("Worker 1 finished")

        def worker_2():
            traceln("Worker 2 starting")
            Fiber.yield_()
            traceln("Worker 2 finished")

        def shouldnt_start():
            raise AssertionError("Shouldn't start")

        def daemon_1():
            try:
                for _ in range(10):
                    traceln("Daemon 1 running")
                    Fiber.yield_()
                raise AssertionError("Test failed")
            except Cancel.Cancelled:
                traceln("Daemon cancelled; trying to spawn more fibers")
                Fiber.fork_daemon(shouldnt_start, sw=sw)
                Fiber.fork(shouldnt_start, sw=sw)
                raise

        def daemon_2():
            traceln("Daemon 2 running")
            Fiber.yield_()
            traceln("Daemon 2 finished")

        Fiber.fork(worker_1, sw=sw)
        Fiber.fork(worker_2, sw=sw)
        Fiber.fork_daemon(daemon_1, sw=sw)
        Fiber.fork_daemon(daemon_2, sw=sw)
        traceln("Main running")
        Fiber.yield_()
        traceln("Main finished")

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Worker 1 starting",
        "Worker 2 starting",
        "Daemon 1 running",
        "Daemon 2 running",
        "Main running",
        "Worker 1 running",
        "Worker 2 finished",
        "Daemon 1 running",
        "Daemon 2 finished",
        "Main finished",
        "Worker 1 finished",
        "Daemon cancelled; trying to spawn more fibers",
        "-> None",
    ]


def test_failing_daemon_fibers_still_get_their_errors_reported(transcript, greeneio_backend):
    def main(sw):
        def daemon():
            Fiber.yield_()
            raise ValueError("Simulated error")

        Fiber.fork_daemon(daemon, sw=sw)
        Fiber.yield_()

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Exception: ValueError: Simulated error"
    ]
