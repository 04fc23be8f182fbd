"""Which OS thread is running, whether or not gevent has patched ``threading``
(patched, ``threading.current_thread()`` names the greenlet, not the thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from gevent.monkey import get_original

__all__ = ["in_main_thread"]

_get_ident: Callable[[], int] = get_original("_thread", "get_ident")
_MAIN = threading.main_thread().ident


def in_main_thread() -> bool:
    """True in the process's main OS thread (where signals can be handled)."""
    return _get_ident() == _MAIN
