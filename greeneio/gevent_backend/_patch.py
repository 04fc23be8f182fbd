"""Monkey-patching the stdlib for legacy blocking code (``greeneio-serve --patch``)."""

from __future__ import annotations

__all__ = ["patch_all"]


def patch_all() -> None:
    """``gevent.monkey.patch_all()``: blocking stdlib calls become cooperative."""
    from gevent import monkey

    monkey.patch_all()
