"""Running code in other domains (Eio's ``Domain_manager``).

Python has no OCaml domains: on the gevent backend a domain is a forked worker
process with its own hub (``env.domain_mgr``). ``fn`` and what it uses are
copied by the fork; its result (or exception) comes back pickled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from greeneio.interfaces import IDomainManager
from greeneio.protocols import DomainManager

T = TypeVar("T")

__all__ = ["run"]


def _domain_mgr_arg(domain_mgr: object) -> DomainManager:
    if not IDomainManager.providedBy(domain_mgr):
        raise TypeError(
            f"Domain_manager.run: domain_mgr must be a domain manager (env.domain_mgr), "
            f"not {domain_mgr!r}"
        )
    return domain_mgr


def run(domain_mgr: DomainManager, fn: Callable[[], T]) -> T:
    """``fn()`` run in a new domain; its result, or its exception raised here.

    Blocks until it finishes. Cancelling the caller terminates the domain
    (and reaps it). A result that cannot be pickled is a ``TypeError``.
    """
    domain_mgr = _domain_mgr_arg(domain_mgr)
    if not callable(fn):
        raise TypeError(f"Domain_manager.run: fn must be callable, not {fn!r}")
    return domain_mgr.run(fn)
