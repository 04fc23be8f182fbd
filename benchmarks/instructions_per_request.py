"""Server instructions per request (or per echo message, or per connection),
counted with callgrind: the figures of docs/performance.md's budget tables.

    python benchmarks/instructions_per_request.py --port 8301 -- \\
        python -m greeneio.serve http --listen tcp:127.0.0.1:8301 --log-level warning

The server command runs twice under ``valgrind --tool=callgrind``; each time
a warm-up load, then a measured one of ``--short`` and then ``--long``
seconds, then SIGTERM. What the long run costs more than the short one,
divided by the requests it made more, is the cost of one request: start-up,
warm-up and shutdown cancel out. Instruction counts do not depend on how
fast the host is today, only on what the server did; a few percent still
moves between runs (how many requests one loop turn finds ready depends on
timing).

``--load wrk`` (the default) is ``wrk -t1 -c50`` on ``--url``; ``--load
echo`` and ``--load churn`` are ``../shared/bench``'s load generator
(``--loadgen``). Run it on a quiet machine: the server runs ~50x slower
under valgrind. ``PYTHONHASHSEED=0`` is set for the server. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _procs import stop_server

HOST = "127.0.0.1"


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited first (status {proc.returncode})")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {HOST}:{port} after {timeout:.0f} s")


def load(args: argparse.Namespace, seconds: int) -> int:
    """Run the load for ``seconds``; the count of requests (or messages, connections)."""
    if args.load == "wrk":
        out = subprocess.run(
            ["wrk", "-t1", "-c50", f"-d{seconds}s", args.url.format(port=args.port)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        m = re.search(r"(\d+) requests in", out)
    else:
        gen = [args.loadgen, "-m", args.load, "-p", str(args.port), "-c", "50"]
        out = subprocess.run(
            [*gen, "-d", str(seconds), "-w", "0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        m = re.search(r"\b(?:requests|connections)=(\d+)", out)
    if m is None:
        raise SystemExit(f"no count in the load's output:\n{out}")
    return int(m.group(1))


def one_run(args: argparse.Namespace, seconds: int, out: Path) -> tuple[int, int]:
    """(instructions, requests) of a server run measured for ``seconds``."""
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *args.server]
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(args.port, proc, 60)
        load(args, args.warmup)
        n = load(args, seconds)
    finally:
        stop_server(proc, 120)
    m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
    if m is None:
        raise SystemExit(f"no instruction total in {out}")
    return int(m.group(1)), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--port", type=int, required=True, help="where the server listens")
    ap.add_argument("--load", choices=["wrk", "echo", "churn"], default="wrk")
    ap.add_argument("--url", default="http://127.0.0.1:{port}/", help="for wrk ({port} is --port)")
    bench = Path(__file__).resolve().parents[2] / "shared" / "bench"
    ap.add_argument("--loadgen", default=str(bench / "build" / "loadgen"), help="its path")
    ap.add_argument("--short", type=int, default=3, help="seconds of the short measured run")
    ap.add_argument("--long", type=int, default=8, help="seconds of the long measured run")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of load before each")
    ap.add_argument("server", nargs=argparse.REMAINDER, help="-- then the server command")
    args = ap.parse_args()
    if args.server[:1] == ["--"]:
        args.server = args.server[1:]
    if not args.server:
        ap.error("give the server command after --")
    if args.server[0] in ("python", "python3"):
        # The interpreter itself: a launcher script (pyenv's shim) would be
        # what valgrind counts.
        args.server[0] = sys.executable
    if not 0 < args.short < args.long:
        ap.error("--short must be above 0 and below --long")
    if shutil.which("valgrind") is None:
        ap.error("valgrind is not installed (apt-get install valgrind)")
    if args.load == "wrk" and shutil.which("wrk") is None:
        ap.error("wrk is not installed (apt-get install wrk)")
    if args.load != "wrk" and not Path(args.loadgen).is_file():
        ap.error(
            f"no load generator at {args.loadgen}: ../shared/bench/run.py builds it on its "
            "first run (or give --loadgen PATH)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        ir_a, n_a = one_run(args, args.short, Path(tmp) / "short.out")
        ir_b, n_b = one_run(args, args.long, Path(tmp) / "long.out")
    if n_b <= n_a:
        raise SystemExit(f"the long run made no more requests ({n_b}) than the short ({n_a})")
    unit = {"wrk": "request", "echo": "message", "churn": "connection"}[args.load]
    print(
        f"{(ir_b - ir_a) / (n_b - n_a):,.0f} instructions per {unit} "
        f"({n_a} and {n_b} {unit}s in the two runs)"
    )


if __name__ == "__main__":
    sys.exit(main())
