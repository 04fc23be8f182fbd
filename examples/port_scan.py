"""Scan a range of TCP ports on a host, at most 50 connects at a time.

    python examples/port_scan.py [HOST] [FIRST] [LAST]    (default 127.0.0.1 1 1024)

Shows Fiber.List.filter with max_fibers, and with_tcp_connect with a timeout.
Scan only machines you are allowed to (this defaults to your own).
"""

from __future__ import annotations

import sys

from greeneio import Exn, Fiber, Net, Time, run


def main(env, host: str = "127.0.0.1", first: str = "1", last: str = "1024") -> list[int]:
    timeout = Time.Timeout.seconds(env.mono_clock, 0.5)

    def is_open(port: int) -> bool:
        try:
            Net.with_tcp_connect(env.net, lambda conn: None, host=host, service=str(port),
                                 timeout=timeout)  # fmt: skip
            return True
        except Exn.Io:
            return False

    ports = range(int(first), int(last) + 1)
    found = Fiber.List.filter(is_open, ports, max_fibers=50)
    for port in found:
        print(f"{host}:{port} open")
    print(f"{len(found)} open of {len(ports)} scanned")
    return found


if __name__ == "__main__":
    run(lambda env: main(env, *sys.argv[1:4]))
