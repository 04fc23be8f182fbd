"""Eio_mock: a deterministic backend and scripted mocks for tests.

``Backend.run(fn)`` / ``Backend.run_full(fn)`` run code on a deterministic
scheduler with virtual time; ``Flow.make(label)`` is a scripted flow and
``Net.make(label)`` a scripted network. Mocks trace what is done to them with
``traceln``, in Eio's words.
"""

from greeneio.mock._action import Raise, Return, Run
from greeneio.mock._backend import Backend, Deadlock, MockEnv
from greeneio.mock._clock import Clock
from greeneio.mock._domains import Domain_manager
from greeneio.mock._flow import Flow, MockFlow
from greeneio.mock._net import MockListeningSocket, MockNetwork, Net

__all__ = (
    "Backend",
    "Clock",
    "Deadlock",
    "Domain_manager",
    "Flow",
    "MockEnv",
    "MockFlow",
    "MockListeningSocket",
    "MockNetwork",
    "Net",
    "Raise",
    "Return",
    "Run",
)
