"""Fiber.fork_seq: the fork_seq part of Eio's tests/fiber.md, as transcripts.

Each Eio case is one test named after it; the scheduling-order ones run on
the mock and on gevent (``greeneio_backend``). Python differences (SPEC §13):
the sequence is an iterator, its end is ``StopIteration`` (again and again,
where Eio raises "Coroutine has already finished!"), Eio's
``Invalid_argument`` is ``ValueError``, and the reason a daemon is cancelled
at the end of its switch is ``AllNonDaemonsDone()`` (Eio's ``Exit``).
"""

from __future__ import annotations

import pytest

from greeneio import Cancel, Fiber, Promise, Switch, traceln

pytestmark = pytest.mark.timeout(10)


def test_the_simple_case_where_everything_works(transcript, greeneio_backend):
    def main(sw):
        def gen(yield_):
            traceln("Generator fiber starting")
            for i in range(1, 4):
                traceln("Yielding %d", i)
                yield_(i)

        seq = Fiber.fork_seq(gen, sw=sw)
        traceln("Requesting 1st item")
        x = next(seq)
        traceln("hd = %d", x)
        traceln("Requesting remaining items")
        return list(seq)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Requesting 1st item",
        "Generator fiber starting",
        "Yielding 1",
        "hd = 1",
        "Requesting remaining items",
        "Yielding 2",
        "Yielding 3",
        "-> [2, 3]",
    ]


def test_the_generator_raises(transcript):
    def main(sw):
        def gen(yield_):
            traceln("Generator fiber starting")
            raise ValueError("Simulated error")

        seq = Fiber.fork_seq(gen, sw=sw)

        def consume():  # (protected: we get the exception from the sequence)
            traceln("Requesting an item")
            try:
                next(seq)
                raise AssertionError("not reached")
            except ValueError as e:
                traceln("Consumer got exception: %r", e)

        Cancel.protect(consume)

    assert transcript(lambda: Switch.run(main)) == [
        "Requesting an item",
        "Generator fiber starting",
        "Consumer got exception: ValueError('Simulated error')",
        "-> None",
    ]


def test_the_sequence_is_used_after_the_switch_is_finished(transcript):
    def main():
        def gen(_yield):
            raise AssertionError("not reached")

        seq = Switch.run(lambda sw: Fiber.fork_seq(gen, sw=sw))
        traceln("Requesting an item")
        return next(seq)

    assert transcript(main) == [
        "Requesting an item",
        "Exception: ValueError: Coroutine has already failed: Cancelled: AllNonDaemonsDone()",
    ]


def test_the_sequence_is_used_after_the_switch_is_finished_and_the_generator_has_started(
    transcript,
):
    def main():
        def gen(yield_):
            try:
                yield_(1)
            except BaseException as e:
                traceln("Generator caught: %s", e)
                raise

        def body(sw):
            seq = Fiber.fork_seq(gen, sw=sw)
            traceln("Requesting an item")
            traceln("Got %d", next(seq))
            return seq

        seq = Switch.run(body)
        traceln("Switch finished. Requesting another item...")
        return next(seq)

    assert transcript(main) == [
        "Requesting an item",
        "Got 1",
        "Generator caught: Cancelled: AllNonDaemonsDone()",
        "Switch finished. Requesting another item...",
        "Exception: ValueError: Coroutine has already failed: Cancelled: AllNonDaemonsDone()",
    ]


def test_using_a_sequence_after_it_has_finished_normally(transcript):
    # Eio raises "Coroutine has already finished!" on the third request;
    # an iterator keeps raising StopIteration (SPEC §13: Python wins).
    def main(sw):
        def gen(yield_):
            yield_(1)
            traceln("Generator done")

        seq = Fiber.fork_seq(gen, sw=sw)
        traceln("Got %r", next(seq, None))
        traceln("Got %r", next(seq, None))
        traceln("Got %r", next(seq, None))
        return list(seq)

    assert transcript(lambda: Switch.run(main)) == [
        "Got 1",
        "Generator done",
        "Got None",
        "Got None",
        "-> []",
    ]


def test_trying_to_resume_twice(transcript):
    def main(sw):
        seq = Fiber.fork_seq(lambda _yield: Fiber.await_cancel(), sw=sw)
        Fiber.both(lambda: next(seq), lambda: next(seq))

    assert transcript(lambda: Switch.run(main)) == [
        "Exception: ValueError: Coroutine is still running!"
    ]


def test_generator_yields_twice_for_a_single_request(transcript):
    def main(sw):
        seq = Fiber.fork_seq(lambda yield_: Fiber.both(lambda: yield_(1), lambda: yield_(2)), sw=sw)
        return next(seq)

    assert transcript(lambda: Switch.run(main)) == [
        "Exception: ValueError: Coroutine has already yielded!"
    ]


def test_yielding_from_a_different_fiber(transcript, greeneio_backend):
    # (The end of the sequence is still sent when the original fiber exits.)
    def main(sw):
        def gen(yield_):
            def second():
                Fiber.yield_()
                yield_("Second fiber")

            p = Fiber.fork_promise(second, sw=sw)
            Promise.await_exn(p)
            yield_("Original fiber")

        return list(Fiber.fork_seq(gen, sw=sw))

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "-> ['Second fiber', 'Original fiber']"
    ]


def test_the_consumer_cancels(transcript, greeneio_backend):
    def main(sw):
        def gen(yield_):
            traceln("Working...")
            try:
                Fiber.yield_()
                yield_(1)
            except BaseException as e:
                traceln("Generator caught: %s", e)
                raise

        seq = Fiber.fork_seq(gen, sw=sw)
        return Fiber.first(lambda: next(seq), lambda: None)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Working...",
        "Generator caught: Cancelled: _NotFirst()",
        "-> None",
    ]


def test_the_generator_is_cancelled_while_queued_to_be_resumed(transcript, greeneio_backend):
    # It runs, but cancels at the next opportunity.
    def main(sw):
        def gen(_yield):
            traceln("Working...")
            try:
                Fiber.check()
            except BaseException as e:
                traceln("Generator caught: %s", e)
                raise

        seq = Fiber.fork_seq(gen, sw=sw)
        traceln("Enqueue resume")

        def consumer():
            next(seq)
            raise AssertionError("not reached")

        def canceller():
            traceln("Cancel generator")
            sw.fail(ValueError("Exit"))

        Fiber.both(consumer, canceller)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Enqueue resume",
        "Cancel generator",
        "Working...",
        "Generator caught: Cancelled: ValueError: Exit",
        "Exception: ValueError: Exit",
    ]


# -- Beyond Eio's file ------------------------------------------------------------


def test_a_for_loop_reads_the_sequence_and_the_producer_ends_when_fn_returns(
    transcript, greeneio_backend
):
    def main(sw):
        def gen(yield_):
            for i in range(3):
                yield_(i)
            traceln("producer returns")

        for x in Fiber.fork_seq(gen, sw=sw):
            traceln("Got: %d", x)
        return "done"

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "Got: 0",
        "Got: 1",
        "Got: 2",
        "producer returns",
        "-> 'done'",
    ]


def test_the_producer_is_a_daemon_that_starts_at_the_first_request(transcript):
    # A consumer that stops asking leaves the producer in yield_; it is
    # cancelled once the switch's other fibers are done, and the switch ends.
    def main():
        def gen(yield_):
            traceln("started")
            try:
                while True:
                    yield_("x")
            except Cancel.Cancelled as e:
                traceln("producer cancelled: %s", e)
                raise

        def body(sw):
            seq = Fiber.fork_seq(gen, sw=sw)
            traceln("nothing ran yet")
            return next(seq), next(seq)

        return Switch.run(body)

    assert transcript(main) == [
        "nothing ran yet",
        "started",
        "producer cancelled: Cancelled: AllNonDaemonsDone()",
        "-> ('x', 'x')",
    ]


def test_the_producer_raising_with_no_consumer_waiting_fails_the_switch(transcript):
    def main(sw):
        def gen(yield_):
            try:
                yield_(1)
            except Cancel.Cancelled:
                raise ValueError("broken cleanup") from None

        seq = Fiber.fork_seq(gen, sw=sw)

        def consumer(cc):
            traceln("Got %d", next(seq))
            cc.cancel(ValueError("stop"))
            try:
                next(seq)
            except Cancel.Cancelled:
                traceln("consumer cancelled")

        Cancel.sub(consumer)
        traceln("switch ends")

    out = transcript(lambda: Switch.run(main))
    assert out == [
        "Got 1",
        "consumer cancelled",
        "switch ends",
        "Exception: ValueError: broken cleanup",
    ]


def test_a_cancelled_consumer_takes_nothing_and_the_producer_gets_its_cancellation(
    transcript, greeneio_backend
):
    def main(sw):
        def gen(yield_):
            traceln("producer: working")
            Fiber.yield_()
            try:
                yield_("item")
            except Cancel.Cancelled as e:
                traceln("producer: %s at yield_", e)
                raise

        seq = Fiber.fork_seq(gen, sw=sw)

        def consumer(cc):
            def canceller():
                Fiber.yield_()  # once the consumer waits
                cc.cancel(ValueError("consumer gone"))

            Fiber.fork(canceller, sw=sw)
            try:
                next(seq)
            except Cancel.Cancelled:
                traceln("consumer: cancelled, took nothing")

        Cancel.sub(consumer)
        Fiber.yield_()
        try:
            next(seq)
        except ValueError as e:
            traceln("%s", e)
        return repr(seq)

    assert transcript(lambda: Switch.run(main), backend=greeneio_backend) == [
        "producer: working",
        "consumer: cancelled, took nothing",
        "producer: Cancelled: ValueError: consumer gone at yield_",
        "Coroutine has already failed: Cancelled: ValueError: consumer gone",
        "-> '<Fiber.fork_seq failed>'",
    ]


def test_an_item_handed_over_before_the_consumer_is_cancelled_is_returned(transcript):
    def main(sw):
        seq = Fiber.fork_seq(lambda yield_: yield_("handed over"), sw=sw)
        got = []

        def consumer(cc):
            ccs.append(cc)
            got.append(next(seq))
            traceln("consumer: got %r, cancelled: %s", got[0], Fiber.is_cancelled())

        ccs = []

        def canceller():
            Fiber.yield_()  # the producer has run: the item is on its way
            Cancel.cancel(ccs[0], ValueError("late"))

        Fiber.both(lambda: Cancel.sub(consumer), canceller)
        return list(seq)

    assert transcript(lambda: Switch.run(main)) == [
        "consumer: got 'handed over', cancelled: True",
        "-> []",
    ]


def test_a_consumer_cancelled_just_now_is_seen_by_the_producer_at_once(transcript):
    # The producer cancels the waiting consumer and yields before the
    # consumer has run: the dead waker says it is gone, so yield_ raises.
    def main(sw):
        ccs = []

        def gen(yield_):
            Cancel.cancel(ccs[0], ValueError("consumer gone"))
            try:
                yield_("lost")
            except Cancel.Cancelled as e:
                traceln("producer: %s", e)
                raise

        seq = Fiber.fork_seq(gen, sw=sw)

        def consumer(cc):
            ccs.append(cc)
            try:
                next(seq)
            except Cancel.Cancelled:
                traceln("consumer: cancelled, took nothing")

        Cancel.sub(consumer)
        return repr(seq)

    assert transcript(lambda: Switch.run(main)) == [
        "producer: Cancelled: ValueError: consumer gone",
        "consumer: cancelled, took nothing",
        "-> '<Fiber.fork_seq failed>'",
    ]


def test_a_request_to_a_producer_cancelled_just_now_fails_at_once(transcript):
    # The producer's cancellation is queued but it has not run yet: a
    # request sees its dead waker and fails, as if its handler had run.
    def main(sw):
        seq = Fiber.fork_seq(lambda yield_: yield_(1), sw=sw)
        sw.fail(ValueError("Exit"))

        def ask():
            try:
                next(seq)
            except ValueError as e:
                traceln("%s", e)

        Cancel.protect(ask)

    assert transcript(lambda: Switch.run(main)) == [
        "Coroutine has already failed: Cancelled: ValueError: Exit",
        "Exception: ValueError: Exit",
    ]


def test_fork_seq_on_a_switch_that_is_off_never_runs_fn(transcript):
    def main(sw):
        sw.fail(ValueError("off"))
        seq = Fiber.fork_seq(lambda _y: traceln("not reached"), sw=sw)

        def ask():
            try:
                next(seq)
            except ValueError as e:
                traceln("%s", e)

        Cancel.protect(ask)

    assert transcript(lambda: Switch.run(main)) == [
        "Coroutine has already failed: Cancelled: ValueError: off",
        "Exception: ValueError: off",
    ]


def test_a_cancelled_consumer_raises_before_asking(transcript):
    def main(sw):
        seq = Fiber.fork_seq(lambda yield_: yield_(1), sw=sw)

        def consumer(cc):
            cc.cancel(ValueError("early"))
            next(seq)

        try:
            Cancel.sub(consumer)
        except Cancel.Cancelled:
            traceln("cancelled before asking; still %r", seq)
        return next(seq)

    assert transcript(lambda: Switch.run(main)) == [
        "cancelled before asking; still <Fiber.fork_seq ready>",
        "-> 1",
    ]


def test_iter_of_the_sequence_is_itself():
    from greeneio.mock import Backend

    def main():
        with Switch() as sw:
            seq = Fiber.fork_seq(lambda yield_: yield_(1), sw=sw)
            assert iter(seq) is seq
            assert next(seq) == 1

    Backend.run(main)


# -- Bad input --------------------------------------------------------------------


def test_fork_seq_checks_its_arguments(transcript):
    def main(sw):
        for fn, kw in ((3, {"sw": sw}), (lambda _y: None, {"sw": "sw"})):
            try:
                Fiber.fork_seq(fn, **kw)
            except TypeError as e:
                traceln("%s", e)

    assert transcript(lambda: Switch.run(main)) == [
        "Fiber.fork_seq: fn must be callable, not 3",
        "Fiber.fork_seq: sw must be a Switch, not 'sw'",
        "-> None",
    ]


def test_fork_seq_on_a_finished_switch_raises(transcript):
    def main():
        sw = Switch.run(lambda sw: sw)
        Fiber.fork_seq(lambda _y: None, sw=sw)

    assert transcript(main) == ["Exception: RuntimeError: Switch finished!"]


def test_yield_after_the_producer_has_stopped_is_an_error(transcript):
    def main(sw):
        keep = []
        seq = Fiber.fork_seq(keep.append, sw=sw)
        assert list(seq) == []
        keep[0]("late")

    assert transcript(lambda: Switch.run(main)) == [
        "Exception: ValueError: Coroutine has already stopped!"
    ]
