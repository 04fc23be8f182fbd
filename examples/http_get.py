"""Fetch a page over HTTP/1.0 and print it: the client from SPEC §1.

python examples/http_get.py [HOST] [PORT] [PATH]     (default 127.0.0.1 80 /)
"""

from __future__ import annotations

import sys

from greeneio import Flow, Net, Time, run


def main(env, host: str = "127.0.0.1", port: str = "80", path: str = "/") -> None:
    def fetch(flow) -> None:
        Flow.copy_string(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n", flow)
        Flow.shutdown(flow, "send")
        Flow.copy(flow, env.stdout)  # the whole response, headers included

    timeout = Time.Timeout.seconds(env.mono_clock, 5)
    Net.with_tcp_connect(env.net, fetch, host=host, service=port, timeout=timeout)


if __name__ == "__main__":
    run(lambda env: main(env, *sys.argv[1:4]))
