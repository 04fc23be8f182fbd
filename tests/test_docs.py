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


# docs/coordinating.md: what each snippet prints (the Executor_pool one,
# COORDINATING_EXECUTOR, has a test of its own).
COORDINATING = {
    0: "a took one\nc took two\nb: gave up\n",
    1: "added 1\nadded 2\ntook 1\ntook 2\ntook 3\nadded 3\nadded 4\nadded 5\ntook 4\ntook 5\n",
    2: "nothing buffered: 0\ntook ping\nthe taker has it\n"
    "late writer: Stream.add: the stream is closed\n",
    3: "total: 10\n{'alice': 3, 'bob': 7}\nfailed: alice is overdrawn\n"
    "poisoned by ValueError('alice is overdrawn')\n",
    4: "a is ready\nfirst ready: a\nb is ready\nc is ready\nall ready: ['a', 'b', 'c']\n",
    5: "start 0 running: [0]\nstart 1 running: [0, 1]\nfree permits while they run: 0\n"
    "start 2 running: [1, 2]\nstart 3 running: [2, 3]\nstart 4 running: [3, 4]\n"
    "free permits after: 2\n",
    6: "loading\na hello\nb hello\nc hello\nagain: hello\n",
    7: "restart: computed in run 2\nrecord: Cancelled (kept)\nprotect: computed in run 1\n",
    8: "connect 1\nconnect 2\nq1 on 1\nq2 on 2\nq3 on 1\nserver hangs up 2\nq4 on 1\n"
    "close 2\nconnect 3\nq5 on 3\nconnect 4\nextra 4\nclose 4\n",
    9: "producing 1\nconsumed 1\nproducing 2\nconsumed 2\nend of the switch's body\n"
    "producer stopped\nafter the switch\n",
    11: "* 4 messages dropped\nmessage 5\nmessage 6\n",
}
COORDINATING_EXECUTOR = (
    10,
    "1229\n[4, 25, 168]\nValueError: invalid literal for int() with base 10: 'not a number'\n"
    "spin cancelled; the workers carry on: 8\nExecutor_pool: the pool's switch has finished\n",
)


@pytest.mark.parametrize(
    "name, index, expected",
    [
        ("tutorial.md", 0, "inside\nreleased last\n"),
        ("tutorial.md", 1, "fast\nslow\nboth done\nquick\n"),
        ("tutorial.md", 2, "b'line one' b'line two'\nto stdout\n"),
        ("tutorial.md", 3, "b'hello'\n"),
        ("errors-and-cancellation.md", 0, "cleaned up\nswitch raised ValueError('boom')\n"),
        *(("coordinating.md", i, out) for i, out in COORDINATING.items()),
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


def test_coordinating_shows_what_each_snippet_prints():
    # Each python block of coordinating.md is followed by a text block of its output.
    text = (DOCS / "coordinating.md").read_text()
    pairs = re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", text, re.S)
    assert len(pairs) == len(python_blocks("coordinating.md")) == len(COORDINATING) + 1
    index, output = COORDINATING_EXECUTOR
    for i, (_, shown) in enumerate(pairs):
        assert shown == (output if i == index else COORDINATING[i]), f"block {i}"


def test_executor_pool_snippet_runs_and_leaves_no_worker():
    index, expected = COORDINATING_EXECUTOR
    code = python_blocks("coordinating.md")[index]
    assert "domain_count=2" in code
    # After run() returns, the snippet's process has no child left (the workers are reaped).
    code += (
        "import os\n"
        "def children():\n"
        "    found = []\n"
        "    for p in os.listdir('/proc'):\n"
        "        try:\n"
        "            with open(f'/proc/{p}/stat') as f:\n"
        "                ppid = int(f.read().rsplit(')', 1)[1].split()[1])\n"
        "        except (OSError, ValueError, IndexError):\n"
        "            continue\n"
        "        if ppid == os.getpid():\n"
        "            found.append(int(p))\n"
        "    return found\n"
        "print('children left:', children())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=25)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected + "children left: []\n"
