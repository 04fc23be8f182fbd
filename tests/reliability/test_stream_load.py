"""Stream under load, on the gevent backend: many producers, one small stream,
a few consumers. Every item arrives exactly once, and each consumer sees each
producer's items in the order they were added (the stream is FIFO for adders
and takers alike). The full 1,000 x 1,000 run takes about 3 s on a quiet
2-core machine (10 s on a busy one), so it runs in CI.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import greeneio
from greeneio import Fiber, Stream, Switch


def pump(producers: int, items: int, consumers: int, capacity: int = 16) -> list[list[Any]]:
    """Run the load; return what each consumer took, in the order it took it."""

    def main(_env: Any) -> list[list[Any]]:
        t: Stream.Stream[tuple[int, int]] = Stream.create(capacity)
        got: list[list[Any]] = [[] for _ in range(consumers)]

        def produce(p: int) -> None:
            add = t.add
            for i in range(items):
                add((p, i))

        def consume(mine: list[Any]) -> None:
            mine.extend(t)  # until the stream is closed and drained

        with Switch() as sw:
            for mine in got:
                Fiber.fork(consume, mine, sw=sw)
            with Switch() as producing:
                for p in range(producers):
                    Fiber.fork(produce, p, sw=producing)
            t.close()
        assert t.is_empty()
        return got

    return greeneio.run(main)


def check(got: list[list[Any]], producers: int, items: int) -> None:
    seen = [bytearray(items) for _ in range(producers)]
    for mine in got:
        last = [-1] * producers
        for p, i in mine:
            assert i > last[p], f"producer {p}: item {i} after {last[p]}"
            last[p] = i
            assert not seen[p][i], f"producer {p}: item {i} taken twice"
            seen[p][i] = 1
    missing = [(p, row.count(0)) for p, row in enumerate(seen) if row.count(0)]
    assert not missing, f"(producer, items never taken): {missing[:10]}"
    assert sum(map(len, got)) == producers * items


def timed(producers: int, items: int, consumers: int) -> float:
    start = time.perf_counter()
    got = pump(producers, items, consumers)
    elapsed = time.perf_counter() - start
    check(got, producers, items)
    assert all(got), "a consumer took nothing: the takers are not served in turn"
    print(f"\n{producers} x {items} items, {consumers} consumers: {elapsed:.2f}s")
    return elapsed


@pytest.mark.timeout(120)
def test_1000_producers_x_1000_items_through_one_stream():
    timed(1000, 1000, consumers=4)


@pytest.mark.timeout(60)
def test_one_consumer_sees_every_producer_in_order():
    # With one consumer its order is the stream's order: FIFO for every producer.
    timed(1000, 20, consumers=1)
