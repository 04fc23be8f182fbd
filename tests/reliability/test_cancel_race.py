"""Cancellation wins over a late wake-up (issue 12), on real loopback sockets.

Each round puts ``Time.with_timeout`` (a random 0 to 50 ms) around an echo server
and 50 clients, in sibling switches under one outer switch. The clients write
and read back 100 bytes until they are cancelled, so the body never returns
and every round must raise exactly ``Time.Timeout``. The race: when the timeout
cancels everything, a server handler may close its connection before its
client fiber, already cancelled, is resumed by that socket becoming readable;
the client must then see ``Cancelled`` (and the round ``Timeout``), not an
``EOFError`` or ``Net.ConnectionReset`` that turns the round into an
``ExceptionGroup``. Before the fix that happened in 0.4 to 2.7% of rounds.

``GREENEIO_CANCEL_RACE_ROUNDS`` overrides the number of rounds, e.g. for a long
run by hand (the pytest-timeout bound scales with it)::

    GREENEIO_CANCEL_RACE_ROUNDS=3000 pytest tests/reliability/test_cancel_race.py
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

import greeneio
from greeneio import Fiber, Flow, Net, Switch, Time

#: Rounds in CI; ``GREENEIO_CANCEL_RACE_ROUNDS`` overrides it.
ROUNDS = int(os.environ.get("GREENEIO_CANCEL_RACE_ROUNDS", "300"))
SEED = 1234
MAX_TIMEOUT_S = 0.050
CLIENTS = 50
MESSAGE_SIZE = 100

pytestmark = pytest.mark.timeout(max(60.0, 0.2 * ROUNDS))

ANY = Net.Sockaddr.Tcp(Net.Ipaddr.V4.loopback, 0)


def echo(flow: Any, _addr: Any) -> None:
    Flow.copy(flow, flow)


def one_round(env: Any, seconds: float, server_errors: list[BaseException]) -> None:
    """Echo server and clients under ``Time.with_timeout(seconds)``: the body
    only ends by being cancelled, so this always raises."""

    def body() -> None:
        with Switch() as sw:
            listening = Net.listen(env.net, ANY, sw=sw, backlog=128)
            addr = Net.listening_addr(listening)

            def serve() -> None:
                with Switch():
                    Net.run_server(listening, echo, on_error=server_errors.append)

            def client(i: int, csw: Switch) -> None:
                message = bytes([i]) * MESSAGE_SIZE
                buf = bytearray(MESSAGE_SIZE)
                flow = Net.connect(env.net, addr, sw=csw)
                while True:
                    Flow.write(flow, [message])
                    Flow.read_exact(flow, buf)
                    assert buf == message, f"client {i} read back {bytes(buf)!r}"

            def clients() -> None:
                with Switch() as csw:
                    for i in range(CLIENTS):
                        Fiber.fork(client, i, csw, sw=csw)

            Fiber.fork(serve, sw=sw)
            Fiber.fork(clients, sw=sw)

    Time.with_timeout(env.mono_clock, seconds, body)


def outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "returned without raising"
    if isinstance(exc, BaseExceptionGroup):
        inner = ", ".join(outcome(e) for e in exc.exceptions)
        return f"{type(exc).__name__}({exc.message!r}: {inner})"
    return repr(exc)


def test_every_round_raises_exactly_timeout() -> None:
    rng = random.Random(SEED)
    timeouts = [rng.uniform(0.0, MAX_TIMEOUT_S) for _ in range(ROUNDS)]
    server_errors: list[BaseException] = []
    failures: list[tuple[int, float, BaseException | None]] = []

    def main(env: Any) -> None:
        for n, seconds in enumerate(timeouts):
            try:
                one_round(env, seconds, server_errors)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # anything but exactly Timeout is the finding
                if type(e) is not Time.Timeout:
                    failures.append((n, seconds, e))
            else:
                failures.append((n, seconds, None))

    greeneio.run(main)

    if failures:
        lines = [
            f"round {n} (timeout {s * 1000:.1f} ms): {outcome(e)}" for n, s, e in failures[:20]
        ]
        if len(failures) > 20:
            lines.append(f"... and {len(failures) - 20} more")
        lines.append(f"server on_error saw {len(server_errors)} errors: {server_errors[:5]!r}")
        message = f"{len(failures)} of {ROUNDS} rounds did not raise exactly Time.Timeout:\n"
        raise AssertionError(message + "\n".join(lines)) from failures[0][2]
