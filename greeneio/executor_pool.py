"""Run functions in a pool of worker domains (Eio's ``Executor_pool``).

``Executor_pool.create(env.domain_mgr, sw=sw, domain_count=4)`` starts four
workers; ``Executor_pool.submit(pool, fn, *args)`` runs ``fn(*args)`` in one
of them and returns its result (or raises its exception). On the gevent
backend a worker is a forked process, so CPU-bound Python code runs in
parallel; ``fn``, its arguments and its result are pickled.

Theory of operation
-------------------
* **Jobs.** A submit pickles ``(fn, args)`` at once (so an unpicklable job
  fails at the call), puts a job into the pool's queue and awaits the job's
  promise. The queue is FIFO and unbounded, so ``submit_fork`` never waits.
* **Workers.** For each of the ``domain_count`` slots a daemon fiber of
  ``sw`` (the *serve* fiber) makes a link, then calls ``domain_mgr.run``
  with the worker's main, which runs in the new domain: it says hello (its
  pid), then runs every job it is sent in a fiber of its own, each in a
  cancel sub-context, and sends back the outcome. Beside the serve fiber, in
  a switch of the worker, a *reader* fiber takes the hello and then the
  outcomes, a *dispatcher* fiber takes jobs from the queue for this worker
  (from the start: they wait in the link while the worker starts), and a
  *sender* fiber writes to the worker what the others queued for it (jobs
  and cancellations), one frame at a time.
* **Weights.** The dispatcher keeps, in the parent, the total weight of the
  jobs its worker holds (in millionths, like Eio) and takes another job from
  the queue while that total is below 1.0, so it may pass 1.0. An outcome
  frees the job's weight. The dispatchers wait on the queue first come,
  first served, so jobs go round the workers that have room.
* **Links.** Where the backend has OS sockets (the gevent backend), a link
  is a Unix socket pair made before the fork, carrying frames of a 17-byte
  header (kind, job id or pid, payload length) and a pickled payload. After
  the hello the parent closes its copy of the worker's end. Without OS
  sockets (the mock backend, whose domains are fibers of one process) a link
  is a pair of in-memory queues and values pass as they are.
* **Cancelling a job.** A submitter cancelled while its job is queued marks
  it abandoned (no worker takes it); once the job is held by a worker it
  queues a cancellation frame, and the worker cancels the job's
  sub-context: the job sees ``Cancel.Cancelled``, the worker carries on. The
  submitter does not wait for that, but the job keeps its weight until its
  outcome arrives.
* **A worker that dies.** ``domain_mgr.run`` returns or raises (for a
  process: ``worker 4242 killed by SIGKILL``). The serve fiber shuts the
  receiving side of its link and waits for the reader to take every outcome
  sent before the death and reach end-of-file (other processes may hold
  copies of the link, so end-of-file alone proves nothing); then it fails
  the jobs left with an error naming the pid and starts a fresh worker. A
  worker that dies before its hello fails ``sw`` instead (the next one
  would fail too, and a pool that cannot start workers would hang).
* **The end.** A daemon *watch* fiber of ``sw`` waits for ``sw`` to turn off
  (a failure, a cancellation, or its body finishing). It then closes the
  pool (later submits raise at once) and answers every queued and held job:
  ``Cancel.Cancelled`` with the switch's failure as ``reason``, or
  ``RuntimeError`` once the switch has finished. Submitters under
  ``Cancel.protect`` are answered too, since their promise resolves. The
  serve fibers are cancelled with ``sw``, which ends their workers
  (``domain_mgr.run`` cancelled: SIGTERM, cancelling the running jobs, then
  SIGKILL if need be) and reaps them before ``sw`` finishes.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from functools import partial
from itertools import count
from typing import Any, TypeVar

from greeneio._core import _greenlet
from greeneio._core import fiber as Fiber
from greeneio._core.args import callable_arg, instance_arg, int_arg
from greeneio._core.cancel import CancelContext, Cancelled
from greeneio._core.exn import Io
from greeneio._core.promise import Promise, Resolver
from greeneio._core.switch import AllNonDaemonsDone, Switch
from greeneio._executor import _link
from greeneio._executor._worker import worker_main
from greeneio.interfaces import IDomainManager, IUnixNet
from greeneio.protocols import DomainManager

T = TypeVar("T")

__all__ = ["ExecutorPool", "create", "submit", "submit_exn", "submit_fork"]

#: A worker's capacity in units of weight: weight 1.0 is this many (Eio's max_capacity).
_FULL = 1_000_000


class _WorkerEnded(Exception):
    """Raised out of a worker's switch once the worker has ended, to stop its fibers."""


class _Job:
    """A submitted job: its pickled ``(fn, args)``, weight and promise."""

    __slots__ = ("abandoned", "cc", "id", "payload", "promise", "resolver", "weight", "worker")

    def __init__(self, n: int, payload: Any, weight: int) -> None:
        self.id = n
        self.payload = payload
        self.weight = weight
        self.promise, self.resolver = Promise.create("Executor_pool job")
        self.worker: _Worker | None = None  # once a dispatcher took it
        self.abandoned = False  # its submitter was cancelled
        self.cc: CancelContext | None = None  # the submitter's, while it waits

    def live(self) -> bool:
        """Still wanted: not answered, and its submitter is not cancelled (a
        cancelled submitter is about to abandon it)."""
        cc = self.cc
        return (
            not self.abandoned
            and not self.promise.is_resolved()
            and (cc is None or cc.reason is None)
        )

    def fail(self, exc: BaseException) -> None:
        if not self.promise.is_resolved():
            Promise.resolve_error(self.resolver, exc)


class _Worker:
    """The parent's side of one worker (one incarnation of a pool slot)."""

    __slots__ = ("end", "eof", "eof_u", "held", "load", "outbox", "pid", "pool", "room")

    end: _link.End  # set by the serve fiber, once the link is made

    def __init__(self, pool: ExecutorPool) -> None:
        self.pool = pool
        self.pid: int | None = None  # from its hello
        self.held: dict[int, _Job] = {}  # sent (or about to be), no outcome yet
        self.load = 0  # their weight
        self.room: Resolver[None] | None = None  # the dispatcher waits for load < _FULL
        self.outbox: _link.Queue[_link.Frame] = _link.Queue()
        self.eof, self.eof_u = Promise.create("Executor_pool worker input ended")

    def read(self, child_end: _link.End) -> None:
        """The hello, then every outcome, until the worker's end closes."""
        try:
            kind, pid, _ = self.end.recv()
            if kind != _link.HELLO:
                raise RuntimeError(f"Executor_pool: a worker said {kind} before its hello")
            self.pid = pid
            if pid != os.getpid():
                child_end.close()  # the worker has its own copy
            while True:
                kind, n, payload = self.end.recv()
                self.finished(n, kind, payload)
        except (EOFError, OSError, Io):
            pass  # the worker has gone: the serve fiber reports it
        finally:
            Promise.try_resolve(self.eof_u, None)

    def finished(self, n: int, kind: int, payload: Any) -> None:
        job = self.held.pop(n, None)
        if job is None:
            return
        self.load -= job.weight
        room, self.room = self.room, None
        if not job.promise.is_resolved():
            Promise.resolve(job.resolver, (kind, payload, self.pid))
        if room is not None:  # after the submitter, which runs first (as in Eio)
            Promise.try_resolve(room, None)

    def dispatch(self) -> None:
        """Take jobs from the pool's queue for this worker while it has room."""
        while True:
            while self.load >= _FULL:
                p, self.room = Promise.create("Executor_pool worker room")
                p.await_()
            job = self.pool._take_job()
            job.worker = self
            self.held[job.id] = job
            self.load += job.weight
            self.outbox.put((_link.JOB, job.id, job.payload))
            # Let the other dispatchers take their turn at the queue (as Eio does).
            Fiber.yield_()

    def send(self) -> None:
        """Write the queued frames to the worker, in order."""
        try:
            while True:
                kind, n, payload = self.outbox.take()
                if kind == _link.CANCEL and n not in self.held:
                    continue  # it finished meanwhile
                self.end.send(kind, n, payload)
        except (OSError, Io):
            pass  # the worker has gone: the serve fiber reports it

    def died(self, why: BaseException | None) -> RuntimeError:
        """The error for a job held by this worker, which has ended because of ``why``."""
        pid = self.pid
        if why is None:
            msg = f"worker {pid} exited"
        elif isinstance(why, RuntimeError):  # the domain manager's "worker 42 killed by SIGKILL"
            msg = str(why) if f"worker {pid}" in str(why) else f"worker {pid}: {why}"
        else:
            msg = f"worker {pid} failed: {type(why).__name__}: {why}"
        err = RuntimeError(f"Executor_pool: {msg}")
        err.__cause__ = why
        return err


class ExecutorPool:
    """A pool of worker domains, made by :func:`create`; closed when its switch
    finishes. Its methods are the module's functions."""

    __slots__ = ("_closed", "_codec", "_domain_mgr", "_ids", "_jobs", "_sw", "_workers")

    def __init__(self, domain_mgr: DomainManager, sw: Switch, processes: bool) -> None:
        self._domain_mgr = domain_mgr
        self._sw = sw
        self._codec = _link.PICKLED if processes else _link.AS_IS  # links: socket pairs, or queues
        self._jobs: _link.Queue[_Job] = _link.Queue()
        self._ids = count(1)
        self._workers: set[_Worker] = set()
        self._closed = False

    def submit(self, fn: Callable[..., T], *args: Any, weight: float = 1.0) -> T:
        """:func:`submit` on this pool."""
        return submit(self, fn, *args, weight=weight)

    def submit_exn(self, fn: Callable[..., T], *args: Any, weight: float = 1.0) -> T:
        """:func:`submit_exn` (the same as :func:`submit`) on this pool."""
        return submit(self, fn, *args, weight=weight)

    def submit_fork(
        self, fn: Callable[..., T], *args: Any, sw: Switch, weight: float = 1.0
    ) -> Promise[T]:
        """:func:`submit_fork` on this pool."""
        return submit_fork(self, fn, *args, sw=sw, weight=weight)

    def __reduce__(self) -> Any:
        raise TypeError(
            "an executor pool cannot be pickled (it lives in the process that created it)"
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._workers)} workers"
        queued = sum(job.live() for job in self._jobs.pending())
        return f"<Executor_pool {state}, {queued} queued>"

    # -- submitting ------------------------------------------------------------

    def _off_error(self) -> BaseException:
        """What a job gets once the pool's switch is off."""
        sw = self._sw
        reason = sw.get_error()
        if sw.is_finished() or reason is None or isinstance(reason, AllNonDaemonsDone):
            return RuntimeError("Executor_pool: the pool's switch has finished")
        return Cancelled(reason)

    def _check_open(self) -> None:
        if self._closed or not self._sw.is_on():
            raise self._off_error()

    def _job(self, fn: Callable[..., Any], args: tuple[Any, ...], weight: int, name: str) -> _Job:
        self._check_open()
        try:
            payload = self._codec.encode((fn, args))
        except Exception as e:
            raise TypeError(
                f"{name}: fn and its arguments must be picklable: {type(e).__name__}: {e}"
            ) from e
        return _Job(next(self._ids), payload, weight)

    def _run(self, job: _Job) -> Any:
        """Queue ``job`` and wait for its outcome (the submitter's side)."""
        self._check_open()
        job.cc = _greenlet.current().cc
        self._jobs.put(job)
        try:
            kind, payload, pid = job.promise.await_()
        except BaseException:
            if not job.promise.is_resolved():
                self._abandon(job)  # we were cancelled
            raise
        try:
            value = self._codec.decode(payload)
        except Exception as e:
            what = "result" if kind == _link.OK else "exception"
            raise RuntimeError(
                f"Executor_pool: the {what} of the job (from worker {pid}) could not be "
                f"unpickled: {type(e).__name__}: {e}"
            ) from e
        if kind == _link.OK:
            return value
        if isinstance(value, BaseException):
            raise value
        raise RuntimeError(f"Executor_pool: worker {pid} sent {kind} for a job")

    def _abandon(self, job: _Job) -> None:
        job.abandoned = True
        w = job.worker
        if w is not None and job.id in w.held:
            w.outbox.put((_link.CANCEL, job.id, None))

    def _take_job(self) -> _Job:
        while True:
            job = self._jobs.take()
            if job.live():
                return job

    # -- fibers of sw --------------------------------------------------------------

    def _watch(self) -> None:
        """Close the pool once ``sw`` turns off (a daemon: it only waits)."""
        try:
            Fiber.await_cancel()
        finally:
            self._closed = True
            held = [job for w in self._workers for job in w.held.values()]
            for job in self._jobs.pending() + held:
                job.fail(self._off_error())

    def _serve(self) -> None:
        """Keep one worker running, replacing it each time it dies."""
        while True:
            self._serve_once()

    def _serve_once(self) -> None:
        """Start a worker and feed it until it ends; then fail the jobs it held."""
        why: BaseException | None = None
        w = _Worker(self)
        self._workers.add(w)
        try:
            with Switch(name="Executor_pool worker") as wsw:
                w.end, child_end = _link.make_link(wsw, self._codec.remote)
                Fiber._fork_unchecked(partial(w.read, child_end), wsw)
                Fiber._fork_unchecked(w.dispatch, wsw)  # jobs wait in the link while it starts
                Fiber._fork_unchecked(w.send, wsw)
                try:
                    self._domain_mgr.run(partial(worker_main, child_end))
                except BaseException as e:
                    if Fiber.is_cancelled():
                        raise  # the pool is closing (or one of its fibers failed)
                    why = e
                with contextlib.suppress(OSError, Io):  # a broken link ends its reader anyway
                    w.end.end_input()
                w.eof.await_()  # every outcome sent before the end has been read
                raise _WorkerEnded()
        except _WorkerEnded:
            pass
        except BaseException:
            for job in w.held.values():  # closing: answer them now
                job.fail(self._off_error())
            raise
        finally:
            self._workers.discard(w)
        if w.pid is None:  # the next one would fail too: the pool cannot work
            err = RuntimeError(
                f"Executor_pool: a worker failed to start: {type(why).__name__}: {why}"
            )
            err.__cause__ = why
            if self._sw.is_on():
                self._sw.fail(err)
            for job in w.held.values():
                job.fail(self._off_error())
            Fiber.check()  # sw is off: this raises Cancelled
        for job in w.held.values():
            job.fail(w.died(why))


# -- the API ---------------------------------------------------------------------------


def _weight_arg(weight: object, fn: str) -> int:
    """``weight`` (a number from 0.0 to 1.0, not NaN) in millionths."""
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise TypeError(f"{fn}: weight must be a number from 0.0 to 1.0, not {weight!r}")
    w = float(weight)
    if math.isnan(w) or not 0.0 <= w <= 1.0:
        raise ValueError(f"{fn}: weight must be >= 0.0 and <= 1.0, not {weight!r}")
    return int(w * _FULL)


def _pool_arg(pool: object, fn: str) -> ExecutorPool:
    return instance_arg(pool, ExecutorPool, fn, "pool", "an executor pool (Executor_pool.create)")


def create(domain_mgr: DomainManager, *, sw: Switch, domain_count: int) -> ExecutorPool:
    """A pool of ``domain_count`` workers, each started with ``domain_mgr.run``.

    The workers start at once. They are daemon fibers of ``sw``: they do not
    keep ``sw`` open (wait for the jobs you submit), and when ``sw`` turns off
    or finishes they are stopped (jobs still running are cancelled, their
    submitters answered) and reaped before ``sw`` finishes; later submits
    raise at once. A worker that dies is replaced. ``TypeError`` /
    ``ValueError`` for bad arguments; ``sw.check()``'s error if ``sw`` is off.
    """
    if not IDomainManager.providedBy(domain_mgr):
        raise TypeError(
            "Executor_pool.create: domain_mgr must be a domain manager (env.domain_mgr), "
            f"not {domain_mgr!r}"
        )
    instance_arg(sw, Switch, "Executor_pool.create", "sw", "a Switch")
    int_arg(domain_count, "Executor_pool.create", "domain_count", min=1)
    sw.check()
    processes = IUnixNet.providedBy(_greenlet.current().sched.unix)
    pool = ExecutorPool(domain_mgr, sw, processes)
    Fiber.fork_daemon(pool._watch, sw=sw)
    for _ in range(domain_count):
        Fiber.fork_daemon(pool._serve, sw=sw)
    return pool


def submit(pool: ExecutorPool, fn: Callable[..., T], *args: Any, weight: float = 1.0) -> T:
    """``fn(*args)`` run in a worker of ``pool``: its result, or its exception raised here.

    Waits in the pool's queue (first come, first served) until a worker has
    room: a worker starts another job while the jobs it runs weigh less than
    1.0 in all. ``weight`` (0.0 to 1.0) is the share of a CPU the job is
    expected to use. ``fn``, ``args`` and the result are pickled (between
    processes); ``TypeError`` at once if the job cannot be. Cancelling the
    caller cancels the job (it sees ``Cancel.Cancelled`` in its worker).
    ``RuntimeError`` naming the worker's pid if the worker dies while it
    holds the job. Once the pool's switch is off: ``Cancel.Cancelled`` (with
    its failure as ``reason``), or ``RuntimeError`` once it has finished.
    """
    name = "Executor_pool.submit"
    p = _pool_arg(pool, name)
    callable_arg(fn, name)
    job = p._job(fn, args, _weight_arg(weight, name), name)
    return p._run(job)  # type: ignore[no-any-return]


#: Eio's ``submit_exn``: the same as :func:`submit`.
submit_exn = submit


def submit_fork(
    pool: ExecutorPool, fn: Callable[..., T], *args: Any, sw: Switch, weight: float = 1.0
) -> Promise[T]:
    """Like :func:`submit`, but returns at once, even if every worker is busy:
    a promise of the outcome, awaited in a fiber of ``sw`` (cancelling ``sw``
    cancels the job). Bad arguments and a closed pool raise at the call."""
    name = "Executor_pool.submit_fork"
    p = _pool_arg(pool, name)
    callable_arg(fn, name)
    instance_arg(sw, Switch, name, "sw", "a Switch")
    job = p._job(fn, args, _weight_arg(weight, name), name)
    return Fiber.fork_promise(p._run, job, sw=sw)
