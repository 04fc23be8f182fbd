"""A fiber cancelled out of a socket wait must not stop the wait another fiber
started on the same socket before the cancelled one resumed."""

from __future__ import annotations

import contextlib

import pytest

import greeneio
from greeneio import Cancel, Fiber, Flow, Net, Switch, Time

pytestmark = pytest.mark.timeout(20)


def test_a_late_cancelled_waiter_leaves_the_next_readers_wait_alone():
    def main(env):
        with Switch() as sw:
            a, b = Net.socketpair_stream(sw=sw)
            contexts = []

            def first_reader():
                def body(cc):
                    contexts.append(cc)
                    Flow.single_read(a, bytearray(10))

                with contextlib.suppress(Cancel.Cancelled):
                    Cancel.sub(body)

            def writer():
                for _ in range(3):
                    Fiber.yield_()  # behind the first reader's cancellation
                Flow.copy_string("x", b)

            Fiber.fork(first_reader, sw=sw)  # blocks in a read of `a`
            Cancel.cancel(contexts[0], ValueError("stop reading"))  # resumes later
            Fiber.fork(writer, sw=sw)
            buf = bytearray(10)
            n = Time.with_timeout(env.mono_clock, 5, lambda: Flow.single_read(a, buf))
            return bytes(buf[:n])

    assert greeneio.run(main) == b"x"
