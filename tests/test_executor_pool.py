"""Executor_pool on the gevent backend: real worker processes.

Jobs tell the test what they do through a socket pair made before the pool
(the workers inherit it): each job writes lines to ``report`` and, when it
must wait for the test, reads one byte of ``go`` (cooperatively, so it can
be cancelled). The test waits for those lines, never for time to pass.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import greeneio
from greeneio import Buf_read, Cancel, Executor_pool, Fiber, Flow, Net, Promise, Switch

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_fd_leak", "no_child_left")]


# -- what the jobs run (module level, so that they pickle) ------------------------

#: Jobs running now in this process (a worker's copy of the module).
_RUNNING = [0]


def _say(fd: int, line: str) -> None:
    data = f"{line}\n".encode()
    while data:
        data = data[os.write(fd, data) :]


def _wait_for_go(fd: int) -> None:
    """Take one byte from the ``go`` socket, waiting cooperatively (cancellable)."""
    with Switch() as sw:
        go = Net.import_socket_stream(socket.socket(fileno=os.dup(fd)), sw=sw)
        Flow.read_exact(go, bytearray(1))


def overlapping_job(report: int, go: int, i: int) -> int:
    """Say that it started (pid, jobs running in this worker), wait for the test."""
    _RUNNING[0] += 1
    try:
        _say(report, f"start {os.getpid()} {_RUNNING[0]} {i}")
        _wait_for_go(go)
        return i
    finally:
        _RUNNING[0] -= 1


def cancellable_job(report: int) -> None:
    _say(report, f"started {os.getpid()}")
    try:
        Fiber.await_cancel()
    except Cancel.Cancelled as e:
        _say(report, f"cancelled {type(e.reason).__name__}")
        raise


def lingering_job(report: int, go: int) -> None:
    """Blocks until cancelled, says so, then finishes only when the test says go."""
    _say(report, f"started {os.getpid()}")
    try:
        Fiber.await_cancel()
    except Cancel.Cancelled:
        _say(report, "cancelled")
        Cancel.protect(lambda: _wait_for_go(go))
        raise


def my_pid() -> int:
    return os.getpid()


def add(a: int, b: int) -> int:
    return a + b


def fails(msg: str) -> None:
    raise ValueError(msg)


def returns_unpicklable() -> Any:
    return lambda: None


class Exit(Exception):
    pass


# -- the test's side --------------------------------------------------------------


@dataclass
class Pipes:
    """``report`` (jobs write, the test reads lines) and ``go`` (the test writes)."""

    report_fd: int  # what jobs write to
    go_fd: int  # what jobs read from
    lines: Buf_read.Reader
    go: Any

    def line(self) -> str:
        return self.lines.line().decode()

    def release(self, n: int = 1) -> None:
        Flow.write(self.go, [b"g" * n])


@pytest.fixture
def sockets() -> Iterator[tuple[socket.socket, ...]]:
    report_r, report_w = socket.socketpair()
    go_r, go_w = socket.socketpair()
    yield report_r, report_w, go_r, go_w
    for s in (report_r, report_w, go_r, go_w):
        s.close()


def run_with_pipes(sockets: tuple[socket.socket, ...], fn: Callable[[Any, Pipes], Any]) -> Any:
    """``fn(env, pipes)`` in ``greeneio.run``; the test's ends imported for its fibers."""
    report_r, report_w, go_r, go_w = sockets

    def main(env: Any) -> Any:
        with Switch() as sw:
            lines = Buf_read.of_flow(
                Net.import_socket_stream(report_r, sw=sw, close_unix=False), max_size=4096
            )
            go = Net.import_socket_stream(go_w, sw=sw, close_unix=False)
            return fn(env, Pipes(report_w.fileno(), go_r.fileno(), lines, go))

    return greeneio.run(main)


# -- results and errors ------------------------------------------------------------


def test_submit_runs_the_job_in_a_worker_and_returns_its_result():
    def main(env: Any) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=2)
            pids = {Executor_pool.submit(pool, my_pid) for _ in range(4)}
            return pids, Executor_pool.submit(pool, add, 2, 3), pool.submit_exn(add, 1, 1)

    pids, total, two = greeneio.run(main)
    assert os.getpid() not in pids and total == 5 and two == 2


def test_submit_raises_the_jobs_exception_with_the_workers_traceback():
    def main(env: Any) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            with pytest.raises(ValueError) as info:
                Executor_pool.submit(pool, fails, "no good")
            return info.value

    e = greeneio.run(main)
    assert e.args == ("no good",)
    (note,) = e.__notes__
    assert note.startswith("raised in Executor_pool worker ") and "in fails" in note


def test_submit_fork_returns_a_promise_at_once():
    def main(env: Any) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            promises = [Executor_pool.submit_fork(pool, add, i, i, sw=sw) for i in range(5)]
            assert not any(p.is_resolved() for p in promises)
            failed = pool.submit_fork(fails, "later", sw=sw)
            with pytest.raises(ValueError, match="later"):
                failed.await_()
            return [p.await_() for p in promises]

    assert greeneio.run(main) == [0, 2, 4, 6, 8]


def test_what_cannot_be_pickled_is_a_type_error():
    def main(env: Any) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            with pytest.raises(TypeError, match="fn and its arguments must be picklable"):
                Executor_pool.submit(pool, lambda: 1)
            with pytest.raises(TypeError, match="fn and its arguments must be picklable"):
                Executor_pool.submit_fork(pool, add, 1, lambda: 2, sw=sw)
            with pytest.raises(TypeError, match="the result of the job could not be pickled"):
                Executor_pool.submit(pool, returns_unpicklable)
            assert Executor_pool.submit(pool, add, 1, 2) == 3  # the worker is fine

    greeneio.run(main)


# -- weights: how many jobs a worker runs at once ------------------------------------


def test_four_half_weight_jobs_on_two_workers_run_two_at_a_time(sockets):
    def body(env: Any, pipes: Pipes) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=2)
            jobs = [
                Executor_pool.submit_fork(
                    pool, overlapping_job, pipes.report_fd, pipes.go_fd, i, sw=sw, weight=0.5
                )
                for i in range(6)
            ]
            first = [pipes.line().split() for _ in range(4)]  # all four running at once
            pipes.release(6)
            rest = [pipes.line().split() for _ in range(2)]
            return first, rest, [p.await_() for p in jobs]

    first, rest, results = run_with_pipes(sockets, body)
    assert results == list(range(6))
    per_worker: dict[str, list[int]] = {}
    for _, pid, running, _i in first:
        per_worker.setdefault(pid, []).append(int(running))
    # Two workers, each running two jobs (0.5 + 0.5 = 1.0: no room for a third).
    assert sorted(per_worker.values()) == [[1, 2], [1, 2]]
    assert {line[3] for line in first} == {"0", "1", "2", "3"}  # in the order submitted
    # The last two started once others had ended, and never made three at once.
    assert all(pid in per_worker and int(running) <= 2 for _, pid, running, _i in rest)


def test_a_worker_takes_jobs_while_they_weigh_less_than_one(sockets):
    # 0.3 + 0.3 + 0.3 < 1.0, so a fourth starts (the total passes 1.0, as in Eio).
    def body(env: Any, pipes: Pipes) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            jobs = [
                pool.submit_fork(overlapping_job, pipes.report_fd, pipes.go_fd, i, sw=sw, weight=w)
                for i, w in enumerate([0.3, 0.3, 0.3, 0.3, 0.0])
            ]
            first = [pipes.line().split() for _ in range(4)]
            pipes.release(5)
            last = pipes.line().split()
            return first, last, [p.await_() for p in jobs]

    first, last, results = run_with_pipes(sockets, body)
    assert [int(line[2]) for line in first] == [1, 2, 3, 4] and results == [0, 1, 2, 3, 4]
    assert last[3] == "4"  # weight 0, but the worker was over 1.0: it waited its turn


@pytest.mark.parametrize("weight", [-0.5, 1.1, math.nan, math.inf, -math.inf])
def test_a_weight_outside_zero_to_one_is_a_value_error(weight):
    def main(env: Any) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            with pytest.raises(ValueError, match="weight must be >= 0.0 and <= 1.0"):
                Executor_pool.submit(pool, my_pid, weight=weight)
            with pytest.raises(ValueError, match="weight must be >= 0.0 and <= 1.0"):
                Executor_pool.submit_fork(pool, my_pid, sw=sw, weight=weight)
            assert Executor_pool.submit(pool, add, 0, 1, weight=0.0) == 1
            assert Executor_pool.submit(pool, add, 1, 1, weight=1) == 2

    greeneio.run(main)


def test_bad_arguments_are_type_and_value_errors():
    def main(env: Any) -> None:
        with Switch() as sw:
            with pytest.raises(TypeError, match="domain_mgr must be a domain manager"):
                Executor_pool.create(object(), sw=sw, domain_count=1)
            with pytest.raises(ValueError, match="domain_count must be >= 1, not 0"):
                Executor_pool.create(env.domain_mgr, sw=sw, domain_count=0)
            with pytest.raises(TypeError, match="sw must be a Switch"):
                Executor_pool.create(env.domain_mgr, sw=None, domain_count=1)
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            with pytest.raises(TypeError, match="weight must be a number"):
                Executor_pool.submit(pool, my_pid, weight="0.5")
            with pytest.raises(TypeError, match="weight must be a number"):
                Executor_pool.submit(pool, my_pid, weight=True)
            with pytest.raises(TypeError, match="fn must be callable"):
                Executor_pool.submit(pool, 42)
            with pytest.raises(TypeError, match="pool must be an executor pool"):
                Executor_pool.submit(None, my_pid)
            with pytest.raises(TypeError, match="sw must be a Switch"):
                Executor_pool.submit_fork(pool, my_pid, sw=None)

    greeneio.run(main)


# -- cancellation ----------------------------------------------------------------------


def test_cancelling_the_submitter_cancels_the_job_and_the_worker_goes_on(sockets):
    def body(env: Any, pipes: Pipes) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            started = Fiber.first(
                lambda: Executor_pool.submit(pool, cancellable_job, pipes.report_fd),
                pipes.line,  # the job started: first() cancels the submit
            )
            seen = pipes.line()
            # Weight 1.0 on one worker: this runs once the cancelled job has ended.
            return started, seen, Executor_pool.submit(pool, my_pid)

    started, seen, pid = run_with_pipes(sockets, body)
    assert started == f"started {pid}"  # the same worker, still alive
    assert seen == "cancelled _SubmitterCancelled"


def test_a_queued_job_whose_submitter_is_cancelled_never_runs(sockets):
    def body(env: Any, pipes: Pipes) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            busy = pool.submit_fork(overlapping_job, pipes.report_fd, pipes.go_fd, 0, sw=sw)
            assert pipes.line().startswith("start ")
            Fiber.first(  # queued behind the busy one, then cancelled
                lambda: pool.submit(overlapping_job, pipes.report_fd, pipes.go_fd, 1),
                Fiber.yield_,
            )
            after = pool.submit_fork(overlapping_job, pipes.report_fd, pipes.go_fd, 2, sw=sw)
            pipes.release(2)
            line = pipes.line()
            return busy.await_(), after.await_(), line

    first, after, line = run_with_pipes(sockets, body)
    assert (first, after) == (0, 2) and line.endswith(" 1 2")  # job 1 never started


def test_when_the_switch_fails_submitters_are_answered_at_once_even_protected(sockets):
    answers: list[BaseException] = []

    def body(env: Any, pipes: Pipes) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            answered, u = Promise.create()

            def submitter() -> None:
                try:
                    Cancel.protect(lambda: pool.submit(lingering_job, pipes.report_fd, pipes.go_fd))
                except BaseException as e:
                    answers.append(e)
                    Promise.resolve(u, None)

            Fiber.fork(submitter, sw=sw)
            pid = int(pipes.line().split()[1])
            sw.fail(Exit("stop"))

            def after_failing() -> None:
                answered.await_()
                # The job still runs (it waits for us in Cancel.protect), yet its
                # submitter has its answer.
                with open(f"/proc/{pid}/stat") as f:
                    assert f.read().rsplit(")", 1)[1].split()[0] != "Z"
                assert pipes.line() == "cancelled"  # the job saw the cancellation
                pipes.release()

            Cancel.protect(after_failing)

    with pytest.raises(Exit, match="stop"):
        run_with_pipes(sockets, body)
    (e,) = answers
    assert isinstance(e, Cancel.Cancelled) and isinstance(e.reason, Exit)


def test_submit_after_the_switch_finished_raises_at_once(children_of):
    def main(env: Any) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=2)
            assert pool.submit(add, 1, 1) == 2
            assert len(children_of(os.getpid())) == 2
        assert children_of(os.getpid()) == []  # every worker reaped when sw finished
        with pytest.raises(RuntimeError, match="the pool's switch has finished"):
            Executor_pool.submit(pool, my_pid)
        with Switch() as other:
            with pytest.raises(RuntimeError, match="the pool's switch has finished"):
                Executor_pool.submit_fork(pool, my_pid, sw=other)

    greeneio.run(main)


def test_submit_to_a_pool_whose_switch_failed_raises_cancelled():
    def main(env: Any) -> None:
        with Switch() as outer:
            with pytest.raises(Exit):
                with Switch() as sw:
                    pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
                    sw.fail(Exit("off"))
                    with pytest.raises(Cancel.Cancelled) as info:
                        Executor_pool.submit_fork(pool, my_pid, sw=outer)
                    assert isinstance(info.value.reason, Exit)

    greeneio.run(main)


# -- workers that die --------------------------------------------------------------------


def test_a_killed_worker_fails_its_job_naming_its_pid_and_is_replaced(sockets, children_of):
    def body(env: Any, pipes: Pipes) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            job = pool.submit_fork(cancellable_job, pipes.report_fd, sw=sw)
            pid = int(pipes.line().split()[1])
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(RuntimeError) as info:
                job.await_()
            assert pid not in children_of(os.getpid())  # reaped
            return pid, str(info.value), pool.submit(my_pid)

    pid, msg, new_pid = run_with_pipes(sockets, body)
    assert msg == f"Executor_pool: worker {pid} killed by SIGKILL"
    assert new_pid != pid


def test_a_worker_that_exits_fails_only_its_own_jobs(sockets):
    def body(env: Any, pipes: Pipes) -> Any:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=2)
            jobs = [
                pool.submit_fork(
                    overlapping_job, pipes.report_fd, pipes.go_fd, i, sw=sw, weight=0.5
                )
                for i in range(2)
            ]
            pids = {pipes.line().split()[1] for _ in range(2)}
            assert len(pids) == 2  # one job in each worker
            with pytest.raises(RuntimeError) as info:
                Executor_pool.submit(pool, os._exit, 3, weight=0.0)  # kills one of them
            Fiber.yield_()
            failed = [p for p in jobs if p.is_resolved()]
            alive = [p for p in jobs if not p.is_resolved()]
            assert len(failed) == 1 and len(alive) == 1
            with pytest.raises(RuntimeError) as failed_info:
                failed[0].await_()
            pipes.release()
            return str(info.value), str(failed_info.value), alive[0].await_(), pool.submit(my_pid)

    msg, failed_msg, _, new_pid = run_with_pipes(sockets, body)
    pid = msg.split()[2]
    assert msg == f"Executor_pool: worker {pid} exited with status 3" == failed_msg
    assert str(new_pid) != pid


def test_workers_do_not_outlive_a_killed_parent(tmp_path, children_of):
    script = tmp_path / "pool.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            import greeneio
            from greeneio import Fiber, Switch
            from greeneio import executor_pool as Executor_pool

            def main(env):
                with Switch() as sw:
                    pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=3)
                    print("ready", flush=True)
                    Fiber.await_cancel()

            greeneio.run(main)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        workers = children_of(proc.pid)
        assert len(workers) == 3
        pidfds = [os.pidfd_open(pid) for pid in workers]
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    try:
        for fd in pidfds:  # readable once the process has exited
            assert select.select([fd], [], [], 20)[0] == [fd]
    finally:
        for fd in pidfds:
            os.close(fd)


def test_the_pool_itself_does_not_pickle():
    def main(env: Any) -> None:
        with Switch() as sw:
            pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=1)
            with pytest.raises(TypeError, match="picklable: TypeError: an executor pool cannot"):
                Executor_pool.submit(pool, Executor_pool.submit, pool, my_pid)
            assert "Executor_pool" in repr(pool)
            with pytest.raises(TypeError, match="cannot be pickled"):
                pickle.dumps(pool)

    greeneio.run(main)
