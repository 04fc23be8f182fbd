"""The environment given to ``greeneio.run``'s main function."""

from __future__ import annotations

from greeneio.gevent_backend._clock import MonoClock, WallClock
from greeneio.gevent_backend._domains import ProcessDomainManager, RunMain
from greeneio.gevent_backend._network import Network
from greeneio.gevent_backend._signals import Signals
from greeneio.gevent_backend._stdio import FdSink, FdSource

__all__ = ["Env", "make_env"]


class Env:
    """What the program may use: the network, clocks and standard streams.

    ``net`` (TCP, UDP and Unix sockets; name lookup), ``domain_mgr`` (worker
    processes, for ``Domain_manager.run`` and ``run_server``), ``clock`` (wall time),
    ``mono_clock`` (monotonic), ``stdin``, ``stdout``, ``stderr`` (flows on
    file descriptors 0, 1, 2), ``signals`` (process signals, for ``Signal.subscribe``).
    """

    __slots__ = ("clock", "domain_mgr", "mono_clock", "net", "signals", "stderr", "stdin", "stdout")

    def __init__(self, run_main: RunMain) -> None:
        self.net = Network()
        self.domain_mgr = ProcessDomainManager(run_main)
        self.clock = WallClock()
        self.mono_clock = MonoClock()
        self.stdin = FdSource(0, "stdin")
        self.stdout = FdSink(1, "stdout")
        self.stderr = FdSink(2, "stderr")
        self.signals = Signals()

    def __repr__(self) -> str:
        return "<greeneio env>"


def make_env(run_main: RunMain) -> Env:
    """The env of a run; worker processes run their main fiber with ``run_main``."""
    return Env(run_main)
