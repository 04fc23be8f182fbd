"""A second HTTPS load client, to check what `wrk` says about latency: N
keep-alive TLS connections (uvloop; from the bench's venv), each sending
`GET /` and reading the hello answer in a loop, every request timed. Prints
the rate and the latency percentiles: all requests, those sent in the first
300 ms (while the connections' handshakes run), and those after.

    /tmp/benchvenv/bin/python benchmarks/https_latency_client.py --port 8443

For the hello servers of the https suite (`https_hello.py`, the bench's
peers); run it once for a second as a warm-up, as the harness does with wrk.
Loopback only; the certificate is not checked (the bench's is self-signed).
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import time

import uvloop

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
END = b"Hello, world!"
EARLY = 0.3  # seconds: the handshake burst at the start


async def connection(
    port: int, ctx: ssl.SSLContext, t0: float, seconds: float, out: list[tuple[float, float]]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    try:
        while time.monotonic() - t0 < seconds:
            sent = time.monotonic()
            writer.write(REQUEST)
            got = b""
            while not got.endswith(END):
                chunk = await reader.read(4096)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                got += chunk
            out.append((sent - t0, time.monotonic() - sent))
    finally:
        writer.close()


async def run(port: int, connections: int, seconds: float) -> list[tuple[float, float]]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out: list[tuple[float, float]] = []
    t0 = time.monotonic()
    await asyncio.gather(*(connection(port, ctx, t0, seconds, out) for _ in range(connections)))
    return out


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values``, in milliseconds (nan if empty)."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    timed = uvloop.run(run(args.port, args.connections, args.seconds))
    every = [lat for _, lat in timed]
    early = [lat for t, lat in timed if t < EARLY]
    late = [lat for t, lat in timed if t >= EARLY]
    print(
        f"{len(timed) / args.seconds:,.0f} requests/s; "
        f"all: p50 {percentile(every, 0.5):.1f} ms, p99 {percentile(every, 0.99):.1f} ms; "
        f"first {EARLY * 1000:.0f} ms: {len(early)} requests, "
        f"p50 {percentile(early, 0.5):.1f} ms, max {percentile(early, 1.0):.1f} ms; "
        f"after: p99 {percentile(late, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
