"""Signal.subscribe: process signals handled in a fiber (real signals, in subprocesses)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

import greeneio
from greeneio import Signal, Switch

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("no_child_left")]

PRELUDE = """
import os, signal
import greeneio
from greeneio import Fiber, Promise, Signal, Switch
"""


def run_script(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + body], capture_output=True, text=True, timeout=25
    )


def test_signals_arriving_together_are_each_handled():
    out = run_script("""
def main(env):
    got = []
    done, set_done = Promise.create()
    def on(n):
        got.append(signal.Signals(n).name)
        if len(got) == 2:
            Promise.resolve(set_done, None)
    with Switch() as sw:
        Signal.subscribe(env.signals, signal.SIGUSR1, on, sw=sw)
        Signal.subscribe(env.signals, signal.SIGUSR2, on, sw=sw)
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR2)
        done.await_()  # nothing but the signals to wait for: the loop stays up
    print(sorted(got))
greeneio.run(main)
""")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "['SIGUSR1', 'SIGUSR2']\n"


def test_an_exception_from_the_handler_fails_the_switch():
    out = run_script("""
class Stop(Exception):
    pass
def main(env):
    def on(n):
        raise Stop(f"got {n}")
    try:
        with Switch() as sw:
            Signal.subscribe(env.signals, signal.SIGUSR1, on, sw=sw)
            os.kill(os.getpid(), signal.SIGUSR1)
            Fiber.await_cancel()
    except Stop as e:
        print("switch failed:", e)
greeneio.run(main)
""")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"switch failed: got {int(signal.SIGUSR1)}\n"


def test_the_handler_goes_with_its_switch():
    # After the switch, SIGUSR1 has its default action again: it kills the process.
    out = run_script("""
def main(env):
    with Switch() as sw:
        Signal.subscribe(env.signals, signal.SIGUSR1, print, sw=sw)
    print("switch done", flush=True)
    os.kill(os.getpid(), signal.SIGUSR1)
    Fiber.await_cancel()
greeneio.run(main)
""")
    assert out.stdout == "switch done\n"
    assert out.returncode == -signal.SIGUSR1


def test_bad_arguments_are_refused():
    def main(env: object) -> None:
        with Switch() as sw:
            with pytest.raises(TypeError, match="signals must be env.signals"):
                Signal.subscribe(object(), signal.SIGUSR1, print, sw=sw)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="signum must be a signal number"):
                Signal.subscribe(env.signals, "SIGUSR1", print, sw=sw)  # type: ignore[attr-defined,arg-type]
            with pytest.raises(ValueError, match="signum 0 is not a valid signal"):
                Signal.subscribe(env.signals, 0, print, sw=sw)  # type: ignore[attr-defined]
            with pytest.raises(ValueError, match="cannot be handled"):
                Signal.subscribe(env.signals, signal.SIGKILL, print, sw=sw)  # type: ignore[attr-defined]
            with pytest.raises(TypeError, match="fn must be callable"):
                Signal.subscribe(env.signals, signal.SIGUSR1, 3, sw=sw)  # type: ignore[attr-defined,arg-type]
            with pytest.raises(TypeError, match="sw must be a Switch"):
                Signal.subscribe(env.signals, signal.SIGUSR1, print, sw=None)  # type: ignore[attr-defined,arg-type]

    greeneio.run(main)
