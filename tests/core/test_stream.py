"""Streams: Eio's tests/stream.md as transcripts, then cancellation, closing and
bad input (SPEC §13).

Every Eio case is one test, named after it, run on the mock and on gevent
(``greeneio_backend``): the order of hand-overs is the core's run order, the
same on both. The expected lines are Eio's. The cases beyond Eio show that a
cancelled waiter gives or takes nothing, and what ``close`` does.
"""

from __future__ import annotations

import pytest

# Until the facade exports it as ``greeneio.Stream``:
from greeneio import Cancel, Fiber, Stream, Switch, traceln

pytestmark = pytest.mark.timeout(10)


class CancelExn(Exception):
    """Eio's test exception ``Cancel``."""


def add(t, v):
    traceln("Adding %d to stream", v)
    Stream.add(t, v)
    traceln("Added %d to stream", v)


def take(t):
    traceln("Reading from stream")
    traceln("Got %d from stream", Stream.take(t))


def take_nonblocking(t):
    traceln("Reading from stream")
    traceln("Got %s from stream", Stream.take_nonblocking(t))


def raise_cancel():
    raise CancelExn


def cancellable(sw, label, fn):
    """Fork ``fn()`` in a cancel context of its own; return what cancels it.

    The fiber traces ``label: Cancelled...`` when the cancellation reaches it.
    """
    ccs = []

    def body(cc):
        ccs.append(cc)
        fn()

    def fiber():
        try:
            Cancel.sub(body)
        except Cancel.Cancelled as e:
            traceln("%s: %s", label, e)

    Fiber.fork(fiber, sw=sw)
    return lambda: Cancel.cancel(ccs[0], CancelExn())


# -- Eio's tests/stream.md ---------------------------------------------------------


def test_simple_non_blocking_case(transcript, greeneio_backend):
    def main():
        t = Stream.create(2)
        add(t, 1)
        add(t, 2)
        take(t)
        take(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
        "-> None",
    ]


def test_readers_have_to_wait_when_the_stream_is_empty(transcript, greeneio_backend):
    def main():
        t = Stream.create(2)
        add(t, 1)
        Fiber.both(lambda: (take(t), take(t)), lambda: add(t, 2))

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Got 2 from stream",
        "-> None",
    ]


def test_writers_have_to_wait_when_the_stream_is_full(transcript, greeneio_backend):
    def main():
        t = Stream.create(3)
        add(t, 1)
        Fiber.both(
            lambda: (add(t, 2), add(t, 3), add(t, 4)),
            lambda: (take(t), take(t), take(t), take(t)),
        )

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Adding 3 to stream",
        "Added 3 to stream",
        "Adding 4 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
        "Reading from stream",
        "Got 3 from stream",
        "Reading from stream",
        "Got 4 from stream",
        "Added 4 to stream",
        "-> None",
    ]


def test_a_zero_length_queue_is_synchronous(transcript, greeneio_backend):
    def main():
        t = Stream.create(0)
        Fiber.both(lambda: (add(t, 1), add(t, 2)), lambda: (take(t), take(t)))

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Got 2 from stream",
        "-> None",
    ]


def test_cancel_reading_from_a_stream(transcript, greeneio_backend):
    def main():
        t = Stream.create(1)
        try:
            Fiber.both(lambda: take(t), raise_cancel)
            raise AssertionError("not reached")
        except CancelExn:
            traceln("Cancelled")
            add(t, 2)
            take(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Reading from stream",
        "Cancelled",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Reading from stream",
        "Got 2 from stream",
        "-> None",
    ]


def test_cancel_writing_to_a_stream(transcript, greeneio_backend):
    def main():
        t = Stream.create(1)
        try:
            Fiber.both(lambda: (add(t, 1), add(t, 2)), raise_cancel)
            raise AssertionError("not reached")
        except CancelExn:
            traceln("Cancelled")
            take(t)
            add(t, 3)
            take(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Cancelled",
        "Reading from stream",
        "Got 1 from stream",
        "Adding 3 to stream",
        "Added 3 to stream",
        "Reading from stream",
        "Got 3 from stream",
        "-> None",
    ]


def test_cancel_writing_to_a_zero_length_stream(transcript, greeneio_backend):
    def main():
        t = Stream.create(0)
        try:
            Fiber.both(lambda: add(t, 1), raise_cancel)
            raise AssertionError("not reached")
        except CancelExn:
            traceln("Cancelled")
            Fiber.both(lambda: add(t, 2), lambda: take(t))

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Cancelled",
        "Adding 2 to stream",
        "Reading from stream",
        "Got 2 from stream",
        "Added 2 to stream",
        "-> None",
    ]


def test_trying_to_use_a_stream_with_a_cancelled_context(transcript, greeneio_backend):
    def main():
        t = Stream.create(0)

        def body(c):
            Cancel.cancel(c, CancelExn("Cancel"))
            for op in (lambda: add(t, 1), lambda: take(t)):
                try:
                    op()
                except Cancel.Cancelled as e:
                    traceln("%s", e)
            # Nothing was left behind by the refused calls:
            Cancel.protect(lambda: Fiber.both(lambda: add(t, 1), lambda: take(t)))

        Cancel.sub(body)

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Cancelled: CancelExn: Cancel",
        "Reading from stream",
        "Cancelled: CancelExn: Cancel",
        "Adding 1 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Added 1 to stream",
        "-> None",
    ]


def test_a_cancelled_fiber_raises_before_it_could_give_or_take(transcript, greeneio_backend):
    # Beyond Eio's case above: had the calls waited, the other fiber (queued
    # before the cancellation is delivered) would have met them.
    def main(sw):
        rendezvous, mailbox = Stream.create(0), Stream.create(1)

        def other():
            Fiber.yield_()
            take_nonblocking(rendezvous)
            add(mailbox, 5)

        Fiber.fork(other, sw=sw)

        def body(c):
            Cancel.cancel(c, CancelExn())
            for op in (lambda: add(rendezvous, 1), lambda: take(mailbox)):
                try:
                    op()
                except Cancel.Cancelled as e:
                    traceln("%s", e)

        Cancel.sub(body)
        Fiber.yield_()
        return len(mailbox)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Cancelled: CancelExn()",
        "Reading from stream",
        "Cancelled: CancelExn()",
        "Reading from stream",
        "Got None from stream",
        "Adding 5 to stream",
        "Added 5 to stream",
        "-> 1",
    ]


def test_readers_queue_up(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(0)
        for name in "abc":
            Fiber.fork(lambda name=name: (take(t), traceln("%s done", name)), sw=sw)
        add(t, 1)
        add(t, 2)
        add(t, 3)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Reading from stream",
        "Reading from stream",
        "Reading from stream",
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Adding 3 to stream",
        "Added 3 to stream",
        "Got 1 from stream",
        "a done",
        "Got 2 from stream",
        "b done",
        "Got 3 from stream",
        "c done",
        "-> None",
    ]


def test_writers_queue_up(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(0)
        for v in (1, 2, 3):
            Fiber.fork(lambda v=v: add(t, v), sw=sw)
        take(t)
        take(t)
        take(t)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Adding 2 to stream",
        "Adding 3 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
        "Reading from stream",
        "Got 3 from stream",
        "Added 1 to stream",
        "Added 2 to stream",
        "Added 3 to stream",
        "-> None",
    ]


def test_cancelling_writing_to_a_stream(transcript, greeneio_backend):
    def main():
        t = Stream.create(1)
        add(t, 0)

        def body(_sw):
            try:
                Fiber.both(lambda: add(t, 1), raise_cancel)
            except CancelExn:
                traceln("Cancelled")
                take(t)
                add(t, 2)
                take(t)

        Switch.run(body)

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 0 to stream",
        "Added 0 to stream",
        "Adding 1 to stream",
        "Cancelled",
        "Reading from stream",
        "Got 0 from stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Reading from stream",
        "Got 2 from stream",
        "-> None",
    ]


def test_non_blocking_take(transcript, greeneio_backend):
    def main():
        t = Stream.create(1)
        take_nonblocking(t)
        add(t, 0)
        take_nonblocking(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Reading from stream",
        "Got None from stream",
        "Adding 0 to stream",
        "Added 0 to stream",
        "Reading from stream",
        "Got 0 from stream",
        "-> None",
    ]


def test_non_blocking_take_with_zero_capacity_stream(transcript, greeneio_backend):
    def main():
        t = Stream.create(0)
        take_nonblocking(t)
        Fiber.both(lambda: add(t, 0), lambda: take_nonblocking(t))
        take_nonblocking(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Reading from stream",
        "Got None from stream",
        "Adding 0 to stream",
        "Reading from stream",
        "Got 0 from stream",
        "Added 0 to stream",
        "Reading from stream",
        "Got None from stream",
        "-> None",
    ]


# -- A cancelled waiter gives or takes nothing (SPEC §13) ----------------------------


def test_a_cancelled_add_to_a_full_stream_enqueues_nothing(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(2)
        add(t, 1)
        add(t, 2)
        cancel = cancellable(sw, "add 3", lambda: add(t, 3))
        cancel()
        # The cancelled adder has not run yet, but the takes skip it:
        take(t)
        take(t)
        take_nonblocking(t)
        traceln("length %d", len(t))

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Adding 3 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
        "Reading from stream",
        "Got None from stream",
        "length 0",
        "add 3: Cancelled: CancelExn()",
        "-> None",
    ]


def test_a_cancelled_adder_between_two_others_loses_only_its_turn(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(1)
        add(t, 1)
        Fiber.fork(lambda: add(t, 4), sw=sw)
        cancel = cancellable(sw, "add 3", lambda: add(t, 3))
        Fiber.fork(lambda: add(t, 5), sw=sw)
        cancel()
        return [Stream.take(t), Stream.take(t), Stream.take(t), Stream.take_nonblocking(t)]

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 4 to stream",
        "Adding 3 to stream",
        "Adding 5 to stream",
        "add 3: Cancelled: CancelExn()",
        "Added 4 to stream",
        "Added 5 to stream",
        "-> [1, 4, 5, None]",
    ]


def test_a_cancelled_take_on_an_empty_stream_consumes_nothing(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(2)
        cancel = cancellable(sw, "take a", lambda: take(t))
        Fiber.fork(lambda: take(t), sw=sw)
        cancel()
        # Taker a is still queued, cancelled: the item goes to the next one.
        add(t, 1)
        add(t, 2)
        traceln("length %d", len(t))

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Reading from stream",
        "Reading from stream",
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "length 1",
        "take a: Cancelled: CancelExn()",
        "Got 1 from stream",
        "-> None",
    ]


def test_a_cancelled_rendezvous_add_gives_nothing(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(0)
        cancellable(sw, "add 1", lambda: add(t, 1))()
        Fiber.fork(lambda: add(t, 2), sw=sw)  # queued behind the cancelled adder
        take(t)
        cancellable(sw, "add 3", lambda: add(t, 3))()
        take_nonblocking(t)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Adding 2 to stream",
        "Reading from stream",
        "Got 2 from stream",
        "Adding 3 to stream",
        "Reading from stream",
        "Got None from stream",
        "add 1: Cancelled: CancelExn()",
        "Added 2 to stream",
        "add 3: Cancelled: CancelExn()",
        "-> None",
    ]


def test_a_cancelled_rendezvous_take_takes_nothing(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(0)
        cancel = cancellable(sw, "take a", lambda: take(t))
        cancel()
        # The dead taker is skipped: this add waits for a real one.
        Fiber.fork(lambda: add(t, 1), sw=sw)
        take(t)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Reading from stream",
        "Adding 1 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "take a: Cancelled: CancelExn()",
        "Added 1 to stream",
        "-> None",
    ]


def test_a_cancelled_taker_between_two_others_loses_only_its_turn(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(0)
        Fiber.fork(lambda: (take(t), traceln("a done")), sw=sw)
        cancel = cancellable(sw, "take b", lambda: take(t))
        Fiber.fork(lambda: (take(t), traceln("c done")), sw=sw)
        cancel()
        add(t, 1)
        add(t, 2)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Reading from stream",
        "Reading from stream",
        "Reading from stream",
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "take b: Cancelled: CancelExn()",
        "Got 1 from stream",
        "a done",
        "Got 2 from stream",
        "c done",
        "-> None",
    ]


def test_a_take_handed_an_item_before_its_cancellation_keeps_it(transcript, greeneio_backend):
    # The item was handed over (the waker fired) before the cancellation came:
    # the take returns it, as Eio's waits do, and the next blocking call raises.
    def main(sw):
        t = Stream.create(0)
        cancel = cancellable(sw, "taker", lambda: (take(t), take(t)))
        add(t, 1)
        cancel()
        traceln("length %d, %s", len(t), Stream.take_nonblocking(t))

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Reading from stream",
        "Adding 1 to stream",
        "Added 1 to stream",
        "length 0, None",
        "Got 1 from stream",
        "Reading from stream",
        "taker: Cancelled: CancelExn()",
        "-> None",
    ]


def test_an_add_given_room_before_its_cancellation_has_added(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(1)
        add(t, 1)
        cancel = cancellable(sw, "adder", lambda: (add(t, 2), add(t, 3)))
        take(t)  # makes room: 2 moves into the stream and its adder is woken
        cancel()
        Fiber.yield_()
        take(t)
        take_nonblocking(t)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Added 2 to stream",
        "Adding 3 to stream",
        "adder: Cancelled: CancelExn()",
        "Reading from stream",
        "Got 2 from stream",
        "Reading from stream",
        "Got None from stream",
        "-> None",
    ]


def test_cancelled_waiters_leave_the_queues(transcript):
    def main(sw):
        full, empty = Stream.create(1), Stream.create(1)
        full.add(0)
        cancels = [cancellable(sw, "add", lambda: full.add(1)) for _ in range(50)]
        cancels += [cancellable(sw, "take", empty.take) for _ in range(50)]
        for cancel in reversed(cancels):  # not in queue order
            cancel()
        Fiber.yield_()
        return repr(full), repr(empty)

    out = transcript(lambda: Switch.run(main))
    assert out[-1] == (
        "-> ('<Stream 1/1 items, 0 takers, 0 adders waiting>', "
        "'<Stream 0/1 items, 0 takers, 0 adders waiting>')"
    )


def test_cancelled_waits_do_not_pile_up(transcript):
    # A consumer that keeps timing out must not grow the queue it waits in
    # (white-box: the queues are private, so look at them directly).
    def main(sw):
        empty, full = Stream.create(0), Stream.create(1)
        full.add(0)
        Fiber.fork(empty.take, sw=sw)  # a live waiter at the head of each queue
        Fiber.fork(lambda: full.add(1), sw=sw)
        longest = [0, 0]
        for _ in range(500):
            cancellable(sw, "take", empty.take)()
            cancellable(sw, "add", lambda: full.add(2))()
            Fiber.yield_()
            longest = [max(longest[0], len(empty._takers)), max(longest[1], len(full._adders))]
        empty.add("x")
        return longest, full.take(), full.take(), repr(empty), repr(full)

    out = transcript(lambda: Switch.run(main))
    assert out[-1] == (
        "-> ([1, 1], 0, 1, '<Stream 0/0 items, 0 takers, 0 adders waiting>', "
        "'<Stream 0/1 items, 0 takers, 0 adders waiting>')"
    )
    assert len(out) == 1001


# -- close (beyond Eio) ---------------------------------------------------------------


def test_close_then_take_returns_what_is_buffered_then_eof(transcript, greeneio_backend):
    def main():
        t = Stream.create(3)
        add(t, 1)
        add(t, 2)
        Stream.close(t)
        take(t)
        take_nonblocking(t)
        take_nonblocking(t)
        take(t)

    assert transcript(main, backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
        "Reading from stream",
        "Got None from stream",
        "Reading from stream",
        "Exception: EOFError: Stream.take: the stream is closed",
    ]


@pytest.mark.parametrize("capacity", [0, 2])
def test_close_wakes_the_waiting_takers_with_eof(transcript, capacity):
    def main(sw):
        t = Stream.create(capacity)
        for name in "ab":

            def taker(name=name):
                try:
                    take(t)
                except EOFError as e:
                    traceln("%s: %r", name, e)

            Fiber.fork(taker, sw=sw)
        traceln("closing")
        t.close()
        traceln("closed")

    assert transcript(lambda: Switch.run(main)) == [
        "Reading from stream",
        "Reading from stream",
        "closing",
        "closed",
        "a: EOFError('Stream.take: the stream was closed while waiting')",
        "b: EOFError('Stream.take: the stream was closed while waiting')",
        "-> None",
    ]


@pytest.mark.parametrize("capacity", [0, 1])
def test_close_fails_the_waiting_adders_and_drops_their_items(transcript, capacity):
    def main(sw):
        t = Stream.create(capacity)
        if capacity:
            add(t, 1)
        for v in (2, 3):

            def adder(v=v):
                try:
                    add(t, v)
                except Stream.Closed as e:
                    traceln("add %d: %r", v, e)

            Fiber.fork(adder, sw=sw)
        t.close()
        return list(t)

    expected = ["Adding 1 to stream", "Added 1 to stream"] if capacity else []
    assert transcript(lambda: Switch.run(main)) == [
        *expected,
        "Adding 2 to stream",
        "Adding 3 to stream",
        "add 2: Closed('Stream.add: the stream was closed while waiting')",
        "add 3: Closed('Stream.add: the stream was closed while waiting')",
        f"-> {[1] if capacity else []}",
    ]


def test_add_after_close_raises_closed_and_drops_the_item(transcript):
    def main(sw):
        t = Stream.create(5)
        add(t, 1)
        Stream.close(t)
        try:
            add(t, 2)
        except Stream.Closed as e:
            traceln("%s", e)
        return Stream.length(t), list(t)

    assert transcript(lambda: Switch.run(main)) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Stream.add: the stream is closed",
        "-> (1, [1])",
    ]


def test_closing_twice_does_nothing(transcript):
    def main():
        t = Stream.create(1)
        t.add("x")
        t.close()
        t.close()
        Stream.close(t)
        return t.take(), repr(t)

    assert transcript(main) == ["-> ('x', '<Stream closed 0/1 items, 0 takers, 0 adders waiting>')"]


def test_iterating_takes_until_closed_and_drained(transcript, greeneio_backend):
    def main(sw):
        t = Stream.create(1)

        def producer():
            for v in (1, 2, 3):
                add(t, v)
            Stream.close(t)
            traceln("producer closed the stream")

        Fiber.fork(producer, sw=sw)
        for v in t:
            traceln("consumer got %d", v)
        return "done"

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "consumer got 1",
        "consumer got 2",
        "Added 2 to stream",
        "Adding 3 to stream",
        "Added 3 to stream",
        "producer closed the stream",
        "consumer got 3",
        "-> 'done'",
    ]


def test_closing_in_a_cancelled_context_still_closes(transcript):
    def main():
        t = Stream.create(1)
        t.add(1)

        def body(cc):
            cc.cancel(CancelExn())
            t.close()  # never blocks, so cancellation does not stop it
            return t.take()  # nor does a take that needs no wait

        return Cancel.sub(body), t.take_nonblocking()

    assert transcript(main) == ["-> (1, None)"]


def test_closed_is_an_exception_and_eof_is_eoferror():
    assert issubclass(Stream.Closed, Exception)
    assert not issubclass(Stream.Closed, EOFError)


# -- module functions and methods, length ---------------------------------------------


def test_module_functions_and_methods_agree(transcript):
    def main():
        t = Stream.create(3)
        Stream.add(t, "a")
        t.add("b")
        lengths = (Stream.length(t), t.length(), len(t), Stream.is_empty(t), t.is_empty())
        items = (t.take(), Stream.take(t), t.take_nonblocking())
        return lengths, items, Stream.is_empty(t)

    assert transcript(main) == ["-> ((2, 2, 2, False, False), ('a', 'b', None), True)"]


def test_a_rendezvous_stream_buffers_nothing(transcript):
    def main(sw):
        t = Stream.create(0)
        Fiber.fork(lambda: t.add(1), sw=sw)
        n = len(t), t.is_empty()
        return n, t.take()

    assert transcript(lambda: Switch.run(main)) == ["-> ((0, True), 1)"]


def test_stream_class_constructor_is_create():
    t = Stream.Stream(2)
    t.add(1)  # a non-blocking add needs no fiber
    assert (len(t), t.take_nonblocking()) == (1, 1)
    assert isinstance(Stream.create(0), Stream.Stream)


def test_the_public_names():
    assert sorted(Stream.__all__) == [
        "Closed",
        "Stream",
        "add",
        "close",
        "create",
        "is_empty",
        "length",
        "take",
        "take_nonblocking",
    ]


# -- bad input ------------------------------------------------------------------------


def test_create_rejects_a_negative_capacity():
    with pytest.raises(ValueError, match=r"^Stream.create: capacity must be >= 0, not -1$"):
        Stream.create(-1)
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        Stream.Stream(-5)


@pytest.mark.parametrize("capacity", [1.5, True, "3", None, 2**0.5])
def test_create_rejects_a_capacity_that_is_not_an_int(capacity):
    with pytest.raises(TypeError, match=r"^Stream.create: capacity must be an int, not "):
        Stream.create(capacity)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("add", (1,)),
        ("take", ()),
        ("take_nonblocking", ()),
        ("length", ()),
        ("is_empty", ()),
        ("close", ()),
    ],
)
def test_the_functions_reject_what_is_not_a_stream(name, args):
    with pytest.raises(TypeError, match=rf"^Stream.{name}: s must be a Stream, not \[\]$"):
        getattr(Stream, name)([], *args)


def test_a_blocking_call_outside_a_run_says_so():
    t = Stream.create(0)
    with pytest.raises(RuntimeError, match="no current fiber"):
        t.take()
    with pytest.raises(RuntimeError, match="no current fiber"):
        t.add(1)
    assert repr(t) == "<Stream 0/0 items, 0 takers, 0 adders waiting>"
