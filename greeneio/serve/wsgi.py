"""wsgi MODULE:APP: a WSGI application (Flask, Django, ...) on greeneio's
HTTP engine, through ``greeneio.wsgi``.

``MODULE`` is a module name (``examples.flask_app``, found from the current
directory as with ``python -m``) or a path to a ``.py`` file
(``examples/flask_app.py``, whose directory is put first on ``sys.path``);
``APP`` is the name of the WSGI callable in it. The app is loaded before
anything listens, so a mistake is a usage error (exit status 2).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from typing import IO, Any

from greeneio import Promise
from greeneio import http as Http
from greeneio import wsgi as Wsgi
from greeneio.protocols import AlarmClock
from greeneio.serve.app import AppError
from greeneio.serve.app import load as load_module_attr

__all__ = ["load", "make_handler", "open_access_log"]

log = logging.getLogger("greeneio-serve")


def load(spec: str) -> Callable[..., Any]:
    """The WSGI app ``spec`` (``"module:app"`` or ``"path/to/file.py:app"``)
    names; ``AppError`` (one line) if it names nothing callable."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr or not attr.isidentifier():
        raise AppError(f"wsgi: expected MODULE:APP (a module or a .py file), not {spec!r}")
    if module_name.endswith(".py") or os.sep in module_name:
        return _load_file(module_name, attr)
    try:
        return load_module_attr(spec)
    except AppError as e:
        raise AppError("wsgi: " + str(e).removeprefix("app: ")) from None


def _load_file(path: str, attr: str) -> Callable[..., Any]:
    if not os.path.isfile(path):
        raise AppError(f"wsgi: no such file {path!r}")
    name = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)  # its sibling modules import as in `python path`
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AppError(f"wsgi: cannot load {path!r} as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as e:
        del sys.modules[name]
        raise AppError(f"wsgi: cannot import {path!r}: {e}") from None
    app = getattr(module, attr, None)
    if not callable(app):
        raise AppError(f"wsgi: {path!r} has no WSGI app {attr!r}")
    return app  # type: ignore[no-any-return]


def open_access_log(target: str) -> Wsgi.AccessLog | None:
    """``--access-log``: ``"-"`` (stderr), ``"off"`` (None) or a file, opened
    for appending now (``OSError`` if it cannot be). The file's buffer holds a
    whole batch of lines, so each batch is one ``write`` to an ``O_APPEND``
    file, and worker processes sharing it do not interleave within lines."""
    if target == "off":
        return None
    if target == "-":
        return Wsgi.AccessLog(sys.stderr)
    stream: IO[str] = open(target, "a", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
    return Wsgi.AccessLog(stream)


def make_handler(
    app: Callable[..., Any],
    clock: AlarmClock,
    *,
    limits: Http.Limits | None = None,
    stop: Promise[Any] | None = None,
    log: logging.Logger = log,
    access_log: Wsgi.AccessLog | None = None,
    shed_at: int | None = None,
    workers: int = 1,
) -> Callable[[Any, Any], object]:
    """The ``run_server`` connection handler serving ``app``, with the engine's
    ``limits`` measured on ``clock`` (``env.mono_clock``); ``stop`` starts the
    drain; app errors go to ``log``; each response to ``access_log``.
    ``shed_at`` (this process's connection limit) turns on shedding
    (``Http.Shedding``); ``workers`` > 1 sets ``wsgi.multiprocess``."""
    return Wsgi.handler(
        app,
        clock=clock,
        limits=limits,
        stop=stop,
        log=log,
        access_log=access_log,
        shedding=Http.Shedding(shed_at) if shed_at is not None else None,
        multiprocess=workers > 1,
    )
