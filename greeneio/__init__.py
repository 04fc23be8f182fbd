"""greeneio: OCaml Eio's structured concurrency and Net API, on gevent.

Layout (dependencies point one way: API -> interfaces <- backends):

    _core/          switches, fibers, promises, cancellation, errors, traceln
                    (knows nothing of I/O; only _core/_greenlet.py touches greenlet/gevent)
    interfaces.py   zope.interface provider contracts
    flow.py, buf_read.py, buf_write.py, time.py, fs.py   the user-facing API over providers
    signals.py      Signal: process signals delivered to a fiber
    gevent_backend/ the gevent runtime: scheduler, sockets, clocks, stdio, files,
                    worker processes; loaded by greeneio.run, reached through env
    net/            Net: addresses, errors, socket options, connect/listen/run_server
    mock/           Eio_mock: deterministic backend and scripted mocks for tests

This module only re-exports the public names.
"""

from greeneio import buf_read as Buf_read
from greeneio import buf_write as Buf_write
from greeneio import domain_manager as Domain_manager
from greeneio import executor_pool as Executor_pool
from greeneio import flow as Flow
from greeneio import fs as Fs
from greeneio import net as Net
from greeneio import signals as Signal
from greeneio import time as Time
from greeneio import tls as Tls
from greeneio._core import cancel as Cancel
from greeneio._core import condition as Condition
from greeneio._core import exn as Exn
from greeneio._core import fiber as Fiber
from greeneio._core import lazy as Lazy
from greeneio._core import mutex as Mutex
from greeneio._core import pool as Pool
from greeneio._core import semaphore as Semaphore
from greeneio._core import stream as Stream
from greeneio._core.promise import Promise
from greeneio._core.switch import Switch
from greeneio._core.trace import traceln
from greeneio._run import run

__all__ = (
    "Buf_read",
    "Buf_write",
    "Cancel",
    "Condition",
    "Domain_manager",
    "Exn",
    "Executor_pool",
    "Fiber",
    "Flow",
    "Fs",
    "Lazy",
    "Mutex",
    "Net",
    "Pool",
    "Promise",
    "Semaphore",
    "Signal",
    "Stream",
    "Switch",
    "Time",
    "Tls",
    "run",
    "traceln",
)
