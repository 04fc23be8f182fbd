"""env.stdout and env.stderr keep the order of what ``print`` wrote before
them, even when the stream is a pipe (block-buffered, not a terminal)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(30)

SCRIPT = textwrap.dedent(
    """
    import sys
    import greeneio
    from greeneio import Flow

    def main(env):
        print("print 1")
        Flow.copy_string("flow 1\\n", env.stdout)
        print("print 2")
        print("err print", file=sys.stderr)
        Flow.copy_string("err flow\\n", env.stderr)
        Flow.copy_string("flow 2\\n", env.stdout)

    greeneio.run(main)
    """
)


def run_piped(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with stdout and stderr on pipes, block-buffered as usual
    (without the PYTHONUNBUFFERED that some shells and CI set)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=25
    )


def test_print_then_env_stdout_come_out_in_order_through_a_pipe():
    out = run_piped(SCRIPT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "print 1\nflow 1\nprint 2\nflow 2\n"
    assert out.stderr == "err print\nerr flow\n"


def test_a_replaced_sys_stdout_is_left_alone():
    # A capture that replaced sys.stdout (not fd 1) is not ours to flush: its
    # text stays where the program put it.
    script = SCRIPT.replace(
        "def main(env):",
        "import io\nsys.stdout = io.StringIO()\ndef main(env):",
    ).replace(
        "greeneio.run(main)",
        "greeneio.run(main)\nsys.__stdout__.write(sys.stdout.getvalue())",
    )
    out = run_piped(script)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "flow 1\nflow 2\nprint 1\nprint 2\n"
