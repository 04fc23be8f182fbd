"""The gevent scheduler's drain: what was queued before a drain began runs in
that drain, so a loop turn that queues more than a batch cannot make the run
queue (and every wake-up's latency) grow turn after turn; what a drain queues
waits until the loop has polled I/O."""

from __future__ import annotations

import gevent
import pytest

import greeneio
from greeneio._core import _greenlet
from greeneio.gevent_backend._run import BATCH

pytestmark = pytest.mark.timeout(10)


def test_everything_queued_before_a_drain_runs_before_the_loop_turns():
    # As when the loop wakes many fibers at once: a watcher's callback (here a
    # timer's, outside any fiber and any drain) queues more than a batch.
    n = 5 * BATCH

    def main(_env):
        sched = _greenlet.current().sched
        loop = gevent.get_hub().loop
        ran: list[int] = []
        seen: list[int] = []
        done = greeneio.Promise.create()
        check = loop.timer(0.0)

        def queue_many() -> None:
            for i in range(n):
                sched.call_soon(ran.append, i)
            check.start(lambda: seen.append(len(ran)))  # fires when the loop turns next
            sched.call_soon(lambda: greeneio.Promise.resolve(done[1], None))

        burst = loop.timer(0.0)
        burst.start(queue_many)
        try:
            done[0].await_()
            while not seen:
                gevent.sleep(0)
        finally:
            burst.close()
            check.close()
        return len(ran), seen[0]

    ran, when_the_loop_turned = greeneio.run(main)
    assert ran == n
    assert when_the_loop_turned == n  # a fixed batch let the loop in at 64


def test_what_a_drain_queues_waits_for_the_loop_to_poll():
    # An accept loop resumed after every fork must not take the whole backlog
    # in one drain: callbacks queued while draining run after the loop turned.
    def main(_env):
        sched = _greenlet.current().sched
        order: list[str] = []
        timer = gevent.get_hub().loop.timer(0.0)
        timer.start(lambda: order.append("loop turned"))

        def chain(k: int) -> None:
            order.append(f"step {k}")
            if k < 3 * BATCH:
                sched.call_soon(chain, k + 1)

        try:
            sched.call_soon(chain, 1)
            while len(order) < 3 * BATCH + 1:
                gevent.sleep(0)
        finally:
            timer.close()
        return order.index("loop turned")

    turned_at = greeneio.run(main)
    assert turned_at <= BATCH  # the chain was cut after at most a batch
