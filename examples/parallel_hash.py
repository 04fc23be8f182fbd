"""Hash files in parallel, one worker process per CPU (like sha256sum).

    python examples/parallel_hash.py [--workers N] [--algorithm NAME] FILE...

Prints ``DIGEST  FILE`` for each file, in the order given, as soon as that
file and those before it are done. A file that cannot be read is reported
on stderr (the exit status is then 1); the others are still hashed.

Shows Executor_pool: every file is a job of weight 1.0 (it keeps a CPU
busy), submitted at once with ``submit_fork``; the pool runs as many at a
time as it has workers. Ctrl-C cancels the main fiber: the pool's switch
cancels the running jobs (each lets cancellation in between two chunks)
and reaps its workers, then the program exits with status 130. Try it on
an endless file: ``python examples/parallel_hash.py /dev/zero``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

from greeneio import Executor_pool, Fiber, Switch, run

CHUNK = 1 << 20


def hash_file(path: str, algorithm: str) -> str:
    """The hex digest of the file at ``path`` (runs in a worker process)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            Fiber.yield_()  # a point where the job can be cancelled
    return h.hexdigest()


def main(env, paths: list[str], workers: int, algorithm: str) -> int:
    status = 0
    with Switch() as sw:
        pool = Executor_pool.create(env.domain_mgr, sw=sw, domain_count=workers)
        jobs = [Executor_pool.submit_fork(pool, hash_file, p, algorithm, sw=sw) for p in paths]
        for path, job in zip(paths, jobs, strict=True):
            try:
                print(f"{job.await_()}  {path}", flush=True)
            except OSError as e:
                print(f"parallel_hash.py: {path}: {e.strerror or e}", file=sys.stderr)
                status = 1
    return status


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Hash files in parallel worker processes.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPUs)"
    )
    fixed_size = sorted(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))
    parser.add_argument("--algorithm", default="sha256", choices=fixed_size)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    args.workers = min(args.workers, len(args.files))
    return args


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    try:
        sys.exit(run(lambda env: main(env, args.files, args.workers, args.algorithm)))
    except KeyboardInterrupt:
        print("parallel_hash.py: interrupted", file=sys.stderr)
        sys.exit(130)
