"""examples/parallel_hash.py runs as its docstring says, and Ctrl-C stops it."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_fd_leak", "no_child_left")]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "parallel_hash.py"


def test_it_hashes_the_files_in_order_and_reports_the_unreadable(tmp_path):
    files = []
    for i, size in enumerate([0, 10, 3 << 20, 1 << 20]):
        f = tmp_path / f"f{i}"
        f.write_bytes(os.urandom(size))
        files.append(str(f))
    missing = str(tmp_path / "missing")
    args = [*files[:2], missing, *files[2:]]
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--workers", "2", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1, out.stderr
    expected = [f"{hashlib.sha256(Path(f).read_bytes()).hexdigest()}  {f}" for f in files]
    assert out.stdout.splitlines() == expected
    assert out.stderr == f"parallel_hash.py: {missing}: No such file or directory\n"


def test_another_algorithm():
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--algorithm", "md5", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{hashlib.md5(EXAMPLE.read_bytes()).hexdigest()}  {EXAMPLE}\n"


def test_ctrl_c_cancels_the_jobs_and_leaves_no_worker(tmp_path, children_of):
    small = tmp_path / "small"
    small.write_bytes(b"hello\n")
    digest = hashlib.sha256(b"hello\n").hexdigest()
    # /dev/zero never ends: those two jobs run until they are cancelled.
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--workers", "3", str(small), "/dev/zero", "/dev/zero"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the pool is up and the endless jobs have started
        assert first == f"{digest}  {small}\n"
        workers = children_of(proc.pid)
        assert len(workers) == 3
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=10)  # promptly: not after hashing forever
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert rest == "" and err == "parallel_hash.py: interrupted\n"
    # Reaped by the example before it exited (not merely killed after it).
    assert [pid for pid in workers if os.path.exists(f"/proc/{pid}")] == []
