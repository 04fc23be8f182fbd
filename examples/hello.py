"""Hello, structured concurrency: two fibers, a timeout, and output to stdout.

Run: python examples/hello.py
"""

from greeneio import Fiber, Flow, Switch, Time, run


def main(env):
    def counter(name, delay, n):
        for i in range(1, n + 1):
            Time.sleep(env.mono_clock, delay)
            Flow.copy_string(f"{name}: {i}\n", env.stdout)
        return name

    with Switch() as sw:
        # Both counters run concurrently; the switch waits for both.
        Fiber.fork(counter, "tick", 0.02, 3, sw=sw)
        Fiber.fork(counter, "tock", 0.03, 2, sw=sw)

    # The first to finish wins; the other is cancelled.
    winner = Fiber.first(lambda: counter("fast", 0.01, 1), lambda: counter("slow", 1.0, 1))
    Flow.copy_string(f"winner: {winner}\n", env.stdout)

    # A timeout cancels work that takes too long.
    try:
        Time.with_timeout(env.mono_clock, 0.05, lambda: Time.sleep(env.mono_clock, 10))
    except Time.Timeout:
        Flow.copy_string("timed out, as expected\n", env.stdout)


if __name__ == "__main__":
    run(main)
