"""app MODULE:FUNC: serve a user's ``handler(flow, addr)``, or a stdlib
``socketserver.BaseRequestHandler`` subclass (through ``greeneio.compat``)."""

from __future__ import annotations

import importlib
import socketserver
import sys
from collections.abc import Callable
from typing import Any


class AppError(ValueError):
    """The MODULE:FUNC argument names nothing servable."""


def load(spec: str) -> Callable[[Any, Any], object]:
    """The function ``spec`` (``"module:function"``) names; ``AppError`` if none."""
    module_name, sep, func_name = spec.partition(":")
    if not sep or not module_name or not func_name:
        raise AppError(f"app: expected MODULE:FUNC, not {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")  # like `python -m`: modules in the current directory
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise AppError(f"app: cannot import module {module_name!r}: {e}") from None
    fn = getattr(module, func_name, None)
    if isinstance(fn, type) and issubclass(fn, socketserver.BaseRequestHandler):
        from greeneio.compat import serve_socketserver_handler

        return serve_socketserver_handler(fn)  # a legacy socketserver handler class
    if not callable(fn):
        raise AppError(f"app: {module_name!r} has no function {func_name!r}")
    return fn
