"""What the benchmark scripts share: stopping the server they started."""

from __future__ import annotations

import signal
import subprocess


def stop_server(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float) -> None:
    """SIGTERM ``proc`` (a server a benchmark started), then SIGKILL if it has
    not exited within ``timeout`` seconds; reaped either way."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
