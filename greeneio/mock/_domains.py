"""Mock domains (Eio_mock.Domain_manager): every "domain" is a fiber of the
one mock scheduler, tagged with an id that prefixes its traced lines (``[1] ``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from zope.interface import implementer

from greeneio._core import fiber as Fiber
from greeneio._core.promise import Promise
from greeneio._core.semaphore import Semaphore
from greeneio._core.switch import Switch
from greeneio._core.trace import prefixed
from greeneio.interfaces import IDomainManager

T = TypeVar("T")

__all__ = ["Domain_manager", "FakeDomainManager"]

#: The current fake domain's id (a str), or None outside mock domains.
ID = Fiber.create_key("mock domain id")


class Counters:
    """Counters shared by mock domains (plain memory)."""

    def __init__(self, n: int) -> None:
        self._values = [0] * n

    def add(self, i: int, delta: int) -> None:
        self._values[i] += delta

    def values(self) -> list[int]:
        return list(self._values)


class Respawner:
    """``run(fn)``: ``(None, result)`` from the next fake domain (they never die)."""

    def __init__(self, dm: FakeDomainManager) -> None:
        self._dm = dm

    def run(self, fn: Callable[[], T]) -> tuple[None, T]:
        return None, self._dm.run(fn)


@implementer(IDomainManager)
class FakeDomainManager:
    """Runs each new "domain" in the calling fiber, with the next id (1, 2 ...)."""

    def __init__(self) -> None:
        self.next_domain_id = 1

    def run(self, fn: Callable[[], T]) -> T:
        domain = self.next_domain_id
        self.next_domain_id += 1
        return Fiber.with_binding(ID, str(domain), fn)

    def semaphore(self, n: int, sw: Switch) -> Semaphore:
        return Semaphore(n)

    def counters(self, n: int, sw: Switch) -> Counters:
        return Counters(n)

    def share(self, promise: Promise[T], sw: Switch) -> Promise[T]:
        return promise  # every mock domain shares memory

    def respawner(self) -> Respawner:
        return Respawner(self)

    def __repr__(self) -> str:
        return "<mock domain manager>"


def _domain_prefix() -> str:
    from greeneio._core import _greenlet

    me = _greenlet.current_or_none()
    domain = None if me is None or me.bindings is None else me.bindings.get(ID)
    return "" if domain is None else f"[{domain}] "


class Domain_manager:
    """Eio_mock.Domain_manager: ``run(fn)`` calls ``fn(fake_domain_mgr)``."""

    ID = ID

    @staticmethod
    def create() -> FakeDomainManager:
        """A fake domain manager (no tracing prefix by itself)."""
        return FakeDomainManager()

    @staticmethod
    def run(fn: Callable[[FakeDomainManager], T]) -> T:
        """``fn(dm)`` with domain id 0, traced lines prefixed by ``[id] ``."""
        if not callable(fn):
            raise TypeError(f"mock.Domain_manager.run: fn must be callable, not {fn!r}")
        dm = FakeDomainManager()
        with prefixed(_domain_prefix):
            return Fiber.with_binding(ID, "0", lambda: fn(dm))
