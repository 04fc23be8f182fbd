"""Cancellation wins over a late wake-up (issue 12), on real loopback sockets.

Each round puts ``Time.with_timeout`` (a random 0 to 50 ms) around an echo server
and 50 clients, in sibling switches under one outer switch. The clients write
and read back 100 bytes until they are cancelled, so the body never returns
and every round must raise exactly ``Time.Timeout``. The race: when the timeout
cancels everything, a server handler may close its connection before its
client fiber, already cancelled, is resumed by that socket becoming readable;
the client must then see ``Cancelled`` (and the round ``Timeout``), not an
``EOFError`` or ``Net.ConnectionReset`` that turns the round into an
``ExceptionGroup``. Before the fix that happened in 0.4 to 2.7% of rounds
under load. How often the loop lines the race up depends on the machine and
its load, so the last test here makes it happen every time.

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


def test_reader_woken_by_eof_after_its_cancellation_sees_cancelled() -> None:
    """The same race, made to happen on every try: two readers under
    ``Fiber.first`` whose peers are both closed in one turn of the loop, so both
    sockets come back ready from the same poll. Whichever reader runs first
    gets ``EOFError``, returns, and cancels the other before the hub resumes
    it; that one must raise ``Cancelled`` and not read its own end of stream
    (which would make ``first`` combine two results). Independent of the order
    in which the loop dispatches the two sockets."""
    tries = 20

    def once(sw: Switch) -> list[str]:
        a, peer_a = Net.socketpair_stream(sw=sw)
        b, peer_b = Net.socketpair_stream(sw=sw)

        def close_both() -> None:
            Fiber.yield_()  # until both readers are blocked
            Net.close(peer_a)
            Net.close(peer_b)

        def read_to_eof(flow: Any, name: str) -> list[str]:
            if name == "b":  # "a" is blocked already: Fiber.first runs it first
                Fiber.fork(close_both, sw=sw)
            try:
                Flow.single_read(flow, bytearray(1))
            except EOFError:
                return [name]
            raise AssertionError(f"reader {name} read data")

        return Fiber.first(
            lambda: read_to_eof(a, "a"),
            lambda: read_to_eof(b, "b"),
            combine=lambda x, y: x + y,
        )

    def main(env: Any) -> list[list[str]]:
        return [Switch.run(once) for _ in range(tries)]

    results = greeneio.run(main)
    both = [(n, r) for n, r in enumerate(results) if len(r) != 1]
    assert not both, (
        f"{len(both)} of {tries} tries: the cancelled reader was resumed by its "
        f"socket and read end of stream (try, readers that saw EOF): {both}"
    )
