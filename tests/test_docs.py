"""The code in the docs runs as shown."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("no_fd_leak", "no_child_left")]

DOCS = Path(__file__).resolve().parent.parent / "docs"


def python_blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), re.S)


@pytest.mark.parametrize(
    "name, index, expected",
    [
        ("tutorial.md", 0, "inside\nreleased last\n"),
        ("tutorial.md", 1, "fast\nslow\nboth done\nquick\n"),
        ("tutorial.md", 2, "b'line one' b'line two'\nto stdout\n"),
        ("tutorial.md", 3, "b'hello'\n"),
        ("errors-and-cancellation.md", 0, "cleaned up\nswitch raised ValueError('boom')\n"),
    ],
)
def test_snippet_runs(name, index, expected):
    code = python_blocks(name)[index]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=25)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected


def test_testing_guide_example_passes(traced):
    namespace: dict[str, object] = {}
    exec(python_blocks("testing.md")[0], namespace)
    namespace["test_retry_on_second_address"](traced)  # type: ignore[operator]


def test_readme_snippets_run():
    readme = (DOCS.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    hello = blocks[0]
    out = subprocess.run([sys.executable, "-c", hello], capture_output=True, text=True, timeout=25)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "in time"


def test_signal_snippet_returns_the_signal():
    code = python_blocks("errors-and-cancellation.md")[-1] + (
        "import os\n"
        "from greeneio import Fiber\n"
        "def kill_self():\n"
        "    Fiber.yield_()\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "def run_it(env):\n"
        "    print(Fiber.pair(lambda: main(env), kill_self)[0])\n"
        "greeneio.run(run_it, handle_sigint=False)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=25)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{int(signal.SIGTERM)}\n"
