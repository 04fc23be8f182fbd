"""Mutex under load, on gevent: many contending fibers, nothing lost."""

from __future__ import annotations

import pytest

import greeneio
from greeneio import Cancel, Condition, Fiber, Mutex, Switch

pytestmark = pytest.mark.timeout(120)

FIBERS = 1000
ROUNDS = 5


def test_a_mutex_keeps_a_counter_exact_under_1000_contending_fibers():
    # Each round reads the counter, yields (so every other fiber runs and
    # queues up for the lock), then writes it back: without mutual exclusion
    # nearly every update would be lost.
    def main(_env):
        m = Mutex.create()
        counter = [0]
        inside = [0]
        most_inside = [0]

        def worker():
            for _ in range(ROUNDS):
                Mutex.lock(m)
                try:
                    inside[0] += 1
                    most_inside[0] = max(most_inside[0], inside[0])
                    seen = counter[0]
                    Fiber.yield_()
                    counter[0] = seen + 1
                    inside[0] -= 1
                finally:
                    Mutex.unlock(m)
                Fiber.yield_()

        with Switch() as sw:
            for _ in range(FIBERS):
                Fiber.fork(worker, sw=sw)
        return counter[0], most_inside[0], repr(m)

    assert greeneio.run(main) == (FIBERS * ROUNDS, 1, "<Mutex unlocked>")


def test_use_rw_and_cancelled_waiters_under_load_lose_nothing():
    # Half the fibers are cancelled while they wait (or hold the lock, inside
    # a protected section): the rest still get the lock, the counter is exact
    # (every protected section completes), and the mutex is not poisoned.
    def main(_env):
        m = Mutex.create()
        counter = [0]
        sections = [0]
        ccs = []

        def section():
            seen = counter[0]
            Fiber.yield_()
            counter[0] = seen + 1
            sections[0] += 1

        def worker(cc):
            ccs.append(cc)
            try:
                for _ in range(ROUNDS):
                    Mutex.use_rw(m, section, protect=True)
            except Cancel.Cancelled:
                pass

        with Switch() as sw:
            for _ in range(FIBERS):
                Fiber.fork(lambda: Cancel.sub(worker), sw=sw)
            for cc in ccs[::2]:
                cc.cancel(ValueError("stop"))
        return counter[0] == sections[0], sections[0] >= FIBERS // 2 * ROUNDS, repr(m)

    assert greeneio.run(main) == (True, True, "<Mutex unlocked>")


def test_condition_with_a_mutex_wakes_every_consumer_under_load():
    # Producers add under the mutex and broadcast; consumers wait with
    # Condition.await_ until there is an item: every item is taken once.
    def main(_env):
        m = Mutex.create()
        cond = Condition.create()
        items: list[int] = []
        taken: list[int] = []

        def consumer():
            def take():
                while not items:
                    Condition.await_(cond, m)
                taken.append(items.pop())

            Mutex.use_ro(m, take)

        def producer(i):
            Fiber.yield_()
            Mutex.use_rw(m, lambda: items.append(i), protect=False)
            Condition.broadcast(cond)

        with Switch() as sw:
            for _ in range(FIBERS):
                Fiber.fork(consumer, sw=sw)
            for i in range(FIBERS):
                Fiber.fork(producer, i, sw=sw)
        return sorted(taken) == list(range(FIBERS)), items, repr(m)

    assert greeneio.run(main) == (True, [], "<Mutex unlocked>")
