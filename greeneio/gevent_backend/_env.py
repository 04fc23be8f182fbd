"""The environment given to ``greeneio.run``'s main function."""

from __future__ import annotations

from greeneio.gevent_backend._clock import MonoClock, WallClock
from greeneio.gevent_backend._domains import ProcessDomainManager
from greeneio.gevent_backend._network import Network
from greeneio.gevent_backend._stdio import FdSink, FdSource

__all__ = ["Env", "make_env"]


class Env:
    """What the program may use: the network, clocks and standard streams.

    ``net`` (TCP, UDP and Unix sockets; name lookup), ``domain_mgr`` (worker
    processes, for ``Domain_manager.run`` and ``run_server``), ``clock`` (wall time),
    ``mono_clock`` (monotonic), ``stdin``, ``stdout``, ``stderr`` (flows on
    file descriptors 0, 1, 2).
    """

    __slots__ = ("clock", "domain_mgr", "mono_clock", "net", "stderr", "stdin", "stdout")

    def __init__(self) -> None:
        self.net = Network()
        self.domain_mgr = ProcessDomainManager()
        self.clock = WallClock()
        self.mono_clock = MonoClock()
        self.stdin = FdSource(0, "stdin")
        self.stdout = FdSink(1, "stdout")
        self.stderr = FdSink(2, "stderr")

    def __repr__(self) -> str:
        return "<greeneio env>"


def make_env() -> Env:
    return Env()
