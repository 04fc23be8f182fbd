"""The main of an executor pool's worker domain: say hello, then run each
job it is sent in a fiber of its own, in a cancel sub-context, and send
back the outcome. See ``greeneio.executor_pool``."""

from __future__ import annotations

import os
import traceback
from functools import partial
from typing import Any

from greeneio._core import cancel as Cancel
from greeneio._core import fiber as Fiber
from greeneio._core.cancel import CancelContext, Cancelled
from greeneio._core.switch import Switch
from greeneio._executor._link import CANCEL, ERR, GONE, HELLO, JOB, OK, Codec, End

__all__ = ["worker_main"]


class _SubmitterCancelled(Exception):
    """Why a job's context is cancelled in its worker: its submitter was cancelled."""


def worker_main(end: End) -> None:
    """The main of a worker domain: say hello, then run each job sent in a fiber."""
    running: dict[int, CancelContext] = {}
    with Switch(name="Executor_pool worker") as sw:
        end.send(HELLO, os.getpid(), None)
        while True:
            try:
                kind, n, payload = end.recv()
            except EOFError:
                return
            if kind == JOB:
                Fiber._fork_unchecked(partial(_run_job, end, running, n, payload), sw)
            elif kind == CANCEL:
                cc = running.get(n)
                if cc is not None:
                    cc.cancel(_SubmitterCancelled("the job's submitter was cancelled"))


def _run_job(end: End, running: dict[int, CancelContext], n: int, payload: Any) -> None:
    codec = end.codec

    def body(cc: CancelContext) -> tuple[int, Any]:
        running[n] = cc
        try:
            fn, args = codec.decode(payload)
            return OK, fn(*args)
        except Cancelled:
            if isinstance(cc.reason, _SubmitterCancelled):
                return GONE, None
            raise  # the worker is being stopped
        except Exception as e:
            return ERR, e
        finally:
            del running[n]

    kind, value = Cancel.sub(body)
    if Fiber.is_cancelled():
        return  # the worker is being stopped: nobody waits for the outcome
    kind, data = (GONE, None) if kind == GONE else _outcome(codec, kind, value)
    # A frame is written whole or the link is broken: finish it even if cancelled.
    Cancel.protect(lambda: end.send(kind, n, data))


def _outcome(codec: Codec, kind: int, value: Any) -> tuple[int, Any]:
    """The frame kind and payload for a job's result or exception."""
    if kind == OK:
        try:
            return OK, codec.encode(value)
        except Exception as e:
            value = TypeError(
                "Executor_pool: the result of the job could not be pickled: "
                f"{type(e).__name__}: {e}"
            )
    if codec.remote:  # the traceback does not survive pickling: keep it as a note
        tb = "".join(traceback.format_exception(value)).rstrip()
        value.add_note(f"raised in Executor_pool worker {os.getpid()}:\n{tb}")
    try:
        return ERR, codec.encode(value)
    except Exception as e:
        err = RuntimeError(
            f"Executor_pool: the job raised {type(value).__name__}: {value} "
            f"(which could not be pickled: {type(e).__name__}: {e})"
        )
        return ERR, codec.encode(err)
