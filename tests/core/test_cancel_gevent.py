"""Cancellation reaches fibers blocked in gevent calls, on the real backend."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import gevent
import gevent.socket
import pytest

import greeneio
from greeneio import Cancel, Fiber, Promise, Switch, Time

pytestmark = pytest.mark.timeout(20)


def test_cancel_reaches_gevent_sleep_socket_recv_and_promise(no_fd_leak):
    events: list[str] = []

    def main(env):
        p, _r = Promise.create()
        a, b = gevent.socket.socketpair()
        started = []

        def sleeper():
            try:
                started.append("sleep")
                gevent.sleep(60)
            finally:
                events.append("sleep interrupted")

        def reader():
            try:
                started.append("recv")
                a.recv(10)
            finally:
                events.append("recv interrupted")

        def waiter():
            try:
                started.append("promise")
                p.await_()
            finally:
                events.append("await interrupted")

        t0 = env.mono_clock.now()
        with pytest.raises(ValueError, match="original failure") as info, Switch() as sw:
            sw.on_release(a.close)
            sw.on_release(b.close)
            sw.on_release(lambda: events.append("released"))
            Fiber.fork(sleeper, sw=sw)
            Fiber.fork(reader, sw=sw)
            Fiber.fork(waiter, sw=sw)
            assert started == ["sleep", "recv", "promise"]  # each ran until it blocked
            sw.fail(ValueError("original failure"))
        elapsed = env.mono_clock.now() - t0
        assert not isinstance(info.value, Cancel.Cancelled)
        return elapsed

    elapsed = greeneio.run(main)
    assert sorted(events[:3]) == ["await interrupted", "recv interrupted", "sleep interrupted"]
    assert events[3:] == ["released"]
    assert elapsed < 5  # "at once": nowhere near the 60 s sleep


def test_later_call_in_cancelled_context_raises_before_blocking():
    def main(env):
        with Switch() as sw:
            sw.fail(ValueError("off"))
            for op in (
                lambda: Time.sleep(env.clock, 60),
                lambda: Promise.create()[0].await_(),
                Fiber.await_cancel,
            ):
                with pytest.raises(Cancel.Cancelled):
                    op()

    with pytest.raises(ValueError, match="off"):
        greeneio.run(main)


def test_protect_defers_cancellation_of_gevent_call():
    log = []

    def main(env):
        def child():
            Cancel.protect(lambda: (gevent.sleep(0.05), log.append("protected sleep done")))
            gevent.sleep(60)
            log.append("not reached")

        with Switch() as sw:
            Fiber.fork(child, sw=sw)
            sw.fail(ValueError("stop"))

    with pytest.raises(ValueError, match="stop"):
        greeneio.run(main)
    assert log == ["protected sleep done"]


def test_fiber_woken_then_blocking_in_gevent_is_still_cancelled():
    # The promise resolves (queuing the fiber's wake-up) before the cancellation:
    # the fiber gets its value, then its next gevent call must be interrupted.
    log = []

    def main(env):
        p, r = Promise.create()

        def child():
            log.append(p.await_())
            gevent.sleep(60)
            log.append("not reached")

        with Switch() as sw:
            Fiber.fork(child, sw=sw)
            Promise.resolve(r, "value")
            sw.fail(ValueError("stop"))

    with pytest.raises(ValueError, match="stop"):
        greeneio.run(main)
    assert log == ["value"]


def _run_script(code: str, timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cancel_reaches_monkey_patched_stdlib_calls():
    proc = _run_script(
        """
        from gevent import monkey; monkey.patch_all()
        import socket, time, queue, threading
        import greeneio
        from greeneio import Fiber, Switch

        log = []
        def main(env):
            a, b = socket.socketpair()
            q = queue.Queue()
            ev = threading.Event()
            def guard(name, fn):
                def f():
                    try:
                        fn()
                    finally:
                        log.append(name)
                return f
            t0 = time.monotonic()
            try:
                with Switch() as sw:
                    sw.on_release(a.close); sw.on_release(b.close)
                    Fiber.fork(guard("time.sleep", lambda: time.sleep(60)), sw=sw)
                    Fiber.fork(guard("socket.recv", lambda: a.recv(1)), sw=sw)
                    Fiber.fork(guard("queue.get", q.get), sw=sw)
                    Fiber.fork(guard("event.wait", ev.wait), sw=sw)
                    sw.fail(ValueError("stop"))
            except ValueError:
                pass
            return time.monotonic() - t0
        elapsed = greeneio.run(main)
        print(sorted(log), elapsed < 5)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("['event.wait', 'queue.get', 'socket.recv', 'time.sleep'] True")


def test_sigint_cancels_main_releases_switches_and_raises_keyboard_interrupt():
    proc = _run_script(
        """
        import os, signal, sys
        import greeneio
        from greeneio import Fiber, Switch, Time

        def main(env):
            with Switch() as outer:
                outer.on_release(lambda: print("outer released", flush=True))
                with Switch() as inner:
                    inner.on_release(lambda: print("inner released", flush=True))
                    Fiber.fork(lambda: Time.sleep(env.clock, 60), sw=inner)
                    os.kill(os.getpid(), signal.SIGINT)
                    Time.sleep(env.clock, 60)
        try:
            greeneio.run(main)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["inner released", "outer released", "KeyboardInterrupt"]


def test_run_returns_result_and_raises_main_exception():
    assert greeneio.run(lambda env: 42) == 42
    with pytest.raises(KeyError):
        greeneio.run(lambda env: {}["missing"])


def test_run_inside_run_is_refused():
    def main(env):
        with pytest.raises(RuntimeError, match="already inside greeneio.run"):
            greeneio.run(lambda env: None)
        return "ok"

    assert greeneio.run(main) == "ok"


def test_run_env_has_streams_and_clocks():
    def main(env):
        return sorted(
            n for n in ("clock", "mono_clock", "stdin", "stdout", "stderr") if hasattr(env, n)
        )

    assert greeneio.run(main) == ["clock", "mono_clock", "stderr", "stdin", "stdout"]


def test_stdout_flow_writes_to_fd_1(capfd):
    from greeneio import Flow

    greeneio.run(lambda env: Flow.copy_string("héllo\n", env.stdout))
    assert capfd.readouterr().out == "héllo\n"


def test_stdin_flow_reads_a_pipe():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import greeneio\nfrom greeneio import Flow\n"
            "greeneio.run(lambda env: Flow.copy(env.stdin, env.stdout))",
        ],
        input="line 1\nline 2\n",
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "line 1\nline 2\n"


def test_socket_module_untouched_by_import():
    # greeneio must not monkey-patch anything itself.
    import gevent.monkey

    assert not gevent.monkey.is_module_patched("socket")
    assert socket.socket.__module__ == "socket"
