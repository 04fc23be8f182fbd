"""``env.domain_mgr``: domains as forked worker processes.

Theory of operation. ``run(fn)`` forks. The child never runs another fiber
of the parent: its main thread only starts a new OS thread, which gets a
fresh gevent hub and runs ``fn()`` as the main fiber of its own
``greeneio.run``; the main thread waits for that thread, handling SIGTERM
(cancel ``fn``) and exiting if the parent has gone. The result or exception
goes back pickled through a pipe, then the child ``_exit``s.

Lifetime. A child asks the kernel to SIGKILL it when the parent dies
(``PR_SET_PDEATHSIG``), and checks ``getppid`` in case the parent died first.
Cancelling the parent's ``run`` sends SIGTERM, then SIGKILL after
``TERM_TIMEOUT``, and always reaps the child. A child that dies without a
result is reported with its pid and exit status or signal.

Sharing. Sockets created before the fork work in the child (they bind to the
hub of whichever thread uses them). ``semaphore(n)`` is a pipe holding ``n``
tokens; ``share(promise)`` is a pipe whose write end the parent closes when
the promise resolves, waking every reader at once with end-of-file.

Replacing domains. ``respawner()`` notes which descriptors are open now (fd
number and file identity). A domain its ``run`` starts later gets only
those: every descriptor opened since (the parent's accepted connections, its
upstream sockets and files) is replaced in the child by ``/dev/null``, so the
child holds none of them open (a connection the parent closes really closes)
and no stale object of the parent's can reach a new descriptor of the child
under a reused number. Its ``run`` also tells a death from a result: the
supervisor (``run_server(restart_workers=True)``) restarts on one, not the other.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import gevent
from gevent.monkey import get_original
from gevent.socket import wait_read
from zope.interface import implementer

from greeneio._core import _greenlet
from greeneio._core import fiber as Fiber
from greeneio._core.cancel import protect
from greeneio._core.promise import Promise
from greeneio._core.switch import Switch
from greeneio.interfaces import IDomainManager

T = TypeVar("T")

__all__ = ["ProcessDomainManager", "Respawner", "describe_status"]

TERM_TIMEOUT = 1.0
#: fd -> (st_dev, st_ino): what each open descriptor number refers to.
FdTable = dict[int, tuple[int, int]]
#: ``run_main(main, on_start)``: see ``gevent_backend/_run.py``.
RunMain = Callable[..., Any]
_fork: Callable[[], int] = get_original("os", "fork")
_start_thread: Callable[..., int] = get_original("_thread", "start_new_thread")
_allocate_lock: Callable[[], Any] = get_original("_thread", "allocate_lock")


class WorkerTerminated(Exception):
    """Why a worker's main fiber is cancelled: the parent asked it to stop (SIGTERM)."""


def describe_status(pid: int, status: int) -> str:
    """``"worker 42 killed by SIGKILL"`` / ``"worker 42 exited with status 3"``."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"worker {pid} killed by {name}"
    return f"worker {pid} exited with status {os.WEXITSTATUS(status)}"


def _nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


def _read_until_eof(fd: int) -> bytes:
    """Everything written to the pipe ``fd`` until all writers closed it. Cancellable."""
    _nonblocking(fd)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            _greenlet.current().cc.check()
            wait_read(fd)
            continue
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def _set_pdeathsig() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@implementer(IDomainManager)
class ProcessDomainManager:
    """Runs each domain in a forked child process."""

    def __init__(self, run_main: RunMain) -> None:
        #: How a child runs ``fn`` as the main fiber of its fresh hub
        #: (``_run.run_main``, passed in so this module need not import it).
        self._run_main = run_main
        # Write ends that must stay in the parent only (share() pipes): a child
        # holding one would never see the end-of-file that means "resolved".
        self._parent_only: set[int] = set()

    # -- run -----------------------------------------------------------------

    def run(self, fn: Callable[[], T]) -> T:
        pid, r = self._start(fn, None)
        kind, value = self._await_child(pid, r)
        if kind == "died":
            raise RuntimeError(value)
        if kind == "err":
            raise value
        return value  # type: ignore[no-any-return]

    def respawner(self) -> Respawner:
        return Respawner(self, _fd_identities())

    def _start(self, fn: Callable[[], Any], baseline: FdTable | None) -> tuple[int, int]:
        """Fork a child running ``fn``: its pid and the read end of its result pipe."""
        _greenlet.current().cc.check()
        sys.stdout.flush()  # or the child would print the parent's buffered output again
        sys.stderr.flush()
        parent = os.getpid()
        r, w = os.pipe()
        pid = _fork()
        if pid == 0:  # pragma: no cover - runs in the child, checked by its result
            os.close(r)
            self._child(fn, w, parent, baseline)
        os.close(w)
        return pid, r

    def _child(
        self, fn: Callable[[], Any], w: int, parent: int, baseline: FdTable | None
    ) -> NoReturn:
        code = 0
        try:
            _set_pdeathsig()
            for fd in self._parent_only:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if baseline is not None:
                _scrub_fds(baseline, keep=w)
            if os.getppid() != parent:
                os._exit(1)
            outcome = _run_in_fresh_hub(self._run_main, fn, parent)
            try:
                data = pickle.dumps(outcome)
            except Exception as e:
                what = "result" if outcome[0] == "ok" else "exception"
                err = TypeError(
                    f"Domain_manager.run: the {what} of the domain could not be pickled: "
                    f"{type(e).__name__}: {e}"
                )
                data = pickle.dumps(("err", err))
            view = memoryview(data)
            while view:
                view = view[os.write(w, view) :]
        except BaseException:  # nothing may escape into the parent's copied stack
            code = 70
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _await_child(self, pid: int, r: int) -> tuple[str, Any]:
        """``("ok", result)``, ``("err", exception)`` or ``("died", why)`` once the
        child has exited (and been reaped). Cancelling terminates the child."""
        try:
            data = _read_until_eof(r)
        except BaseException:
            protect(lambda: _terminate(pid))
            raise
        finally:
            os.close(r)
        status = protect(lambda: _reap(pid))
        try:
            kind, value = pickle.loads(data) if data else ("died", None)
        except Exception:
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                raise  # a whole result that does not unpickle here
            kind, value = "died", None  # killed half-way through writing its result
        if kind == "died":
            return "died", describe_status(pid, status)
        if kind == "err" and isinstance(value, WorkerTerminated):
            return "died", f"worker {pid} stopped by SIGTERM"  # someone else sent it
        return kind, value

    # -- shared objects -------------------------------------------------------

    def semaphore(self, n: int, sw: Switch) -> TokenSemaphore:
        sem = TokenSemaphore(n)
        sw.on_release(sem.close)
        return sem

    def counters(self, n: int, sw: Switch) -> SharedCounters:
        return SharedCounters(n)

    def share(self, promise: Promise[Any], sw: Switch) -> SharedPromise:
        return SharedPromise(promise, sw, self._parent_only)

    def __repr__(self) -> str:
        return "<process domain manager>"


class Respawner:
    """``run(fn)`` like the manager's, for a supervisor that replaces domains that
    die: the child starts with only the descriptors open when the respawner was
    made, and a death is a value, ``(why, None)``, not an exception."""

    def __init__(self, manager: ProcessDomainManager, baseline: FdTable) -> None:
        self._manager = manager
        self._baseline = baseline

    def run(self, fn: Callable[[], T]) -> tuple[str | None, T | None]:
        """``(None, fn())`` from a new domain, or ``("worker 42 killed by SIGKILL",
        None)`` if it died first; ``fn``'s exception is raised. Cancellable (the
        child is terminated and reaped)."""
        pid, r = self._manager._start(fn, self._baseline)
        kind, value = self._manager._await_child(pid, r)
        if kind == "died":
            return value, None
        if kind == "err":
            raise value
        return None, value

    def __repr__(self) -> str:
        return f"<respawner of {len(self._baseline)} fds>"


def _fd_identities() -> FdTable:
    """This process's open descriptors and the files they refer to."""
    for where in ("/proc/self/fd", "/dev/fd"):
        try:
            fds = [int(name) for name in os.listdir(where)]
            break
        except (OSError, ValueError):
            continue
    else:  # pragma: no cover - neither Linux nor a BSD
        fds = list(range(min(os.sysconf("SC_OPEN_MAX"), 65536)))
    table: FdTable = {}
    for fd in fds:
        try:
            st = os.fstat(fd)
        except OSError:
            continue  # the directory listdir had open, now closed
        table[fd] = (st.st_dev, st.st_ino)
    return table


def _scrub_fds(baseline: FdTable, keep: int) -> None:  # pragma: no cover - in the child
    """Point every descriptor not in ``baseline`` (by number and identity), but
    ``keep``, at ``/dev/null``: the child no longer holds those files open, and
    their numbers stay taken, so nothing copied from the parent that still
    names one can reach a descriptor the child opens later."""
    placeholder = -1
    try:
        for fd, ident in _fd_identities().items():
            if fd == keep or baseline.get(fd) == ident:
                continue
            if placeholder < 0:
                placeholder = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            os.dup2(placeholder, fd, inheritable=False)
    finally:
        if placeholder >= 0:
            os.close(placeholder)


def _run_in_fresh_hub(run_main: RunMain, fn: Callable[[], Any], parent: int) -> tuple[str, Any]:
    """In the child: ``fn()`` as the main fiber of a new hub in a new thread."""

    outcome: list[Any] = [("err", RuntimeError("worker thread did not finish"))]
    done = _allocate_lock()
    done.acquire()
    cancel_box: list[Callable[[], None]] = []

    def thread_main() -> None:
        def on_start(cancel: Callable[[BaseException], None]) -> None:
            hub = gevent.get_hub()
            cancel_box.append(
                lambda: hub.loop.run_callback_threadsafe(cancel, WorkerTerminated("SIGTERM"))
            )

        try:
            outcome[0] = ("ok", run_main(lambda env: fn(), on_start))
        except BaseException as e:
            outcome[0] = ("err", e)
        finally:
            done.release()

    def on_sigterm(signum: int, frame: Any) -> None:
        for cancel in cancel_box:
            cancel()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _start_thread(thread_main, ())
    while not done.acquire(timeout=0.2):
        if os.getppid() != parent:
            os._exit(1)  # orphaned (no PR_SET_PDEATHSIG on this platform)
    return outcome[0]  # type: ignore[no-any-return]


def _reap(pid: int) -> int:
    """Wait (cooperatively) for ``pid`` to exit; its wait status."""
    delay = 0.001
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0
        if done:
            return status
        gevent.sleep(delay)
        delay = min(delay * 2, 0.05)


def _terminate(pid: int) -> None:
    """SIGTERM ``pid``, SIGKILL it if it is still there after TERM_TIMEOUT; reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    with gevent.Timeout(TERM_TIMEOUT, False):
        _reap(pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


class TokenSemaphore:
    """A semaphore shared by processes: a pipe holding one byte per free permit."""

    def __init__(self, n: int) -> None:
        r, w = os.pipe()
        self._r, self._w = r, w
        try:
            _nonblocking(r)
            if hasattr(fcntl, "F_SETPIPE_SZ") and n > 4096:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, n)
            _nonblocking(w)
            left = n
            while left:
                try:
                    left -= os.write(w, b"\0" * min(left, 65536))
                except BlockingIOError:
                    raise ValueError(
                        f"max_connections={n} is more than worker processes can share "
                        "(the pipe holding the permits is full)"
                    ) from None
        except BaseException:
            self.close()
            raise

    def acquire(self) -> None:
        """Take a permit, waiting (cancellably) until one is free in any process."""
        me = _greenlet.current()
        while True:
            try:
                if os.read(self._r, 1):
                    return
            except BlockingIOError:
                pass
            me.cc.check()
            wait_read(self._r)
            me.cc.check()  # cancelled while the wake-up was on its way: take nothing

    def release(self) -> None:
        """Give a permit back (never blocks: the pipe has room for every permit)."""
        os.write(self._w, b"\0")

    def close(self) -> None:
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._r = self._w = -1


class SharedPromise:
    """``await_()`` returns in every process once the parent's promise resolved."""

    def __init__(self, promise: Promise[Any], sw: Switch, parent_only: set[int]) -> None:
        r, w = os.pipe()
        self._r, self._w = r, w
        self._parent_only = parent_only
        parent_only.add(w)
        sw.on_release(self._close)
        Fiber.fork_daemon(self._forward, promise, sw=sw)

    def _forward(self, promise: Promise[Any]) -> None:
        try:
            promise.await_()
        finally:
            self._close_writer()

    def _close_writer(self) -> None:
        w, self._w = self._w, -1
        if w >= 0:
            self._parent_only.discard(w)
            os.close(w)

    def _close(self) -> None:
        self._close_writer()
        r, self._r = self._r, -1
        if r >= 0:
            os.close(r)

    def await_(self) -> None:
        """Block (cancellably) until the promise is resolved."""
        r = self._r
        _nonblocking(r)
        while True:
            try:
                if not os.read(r, 1):
                    return
            except BlockingIOError:
                _greenlet.current().cc.check()
                wait_read(r)
            except OSError as e:
                if e.errno == errno.EBADF:
                    return  # closed here: the promise's switch is over
                raise


class SharedCounters:
    """Counters in anonymous shared memory, visible to processes forked later.

    Each counter has a single writer (its domain), so plain 8-byte stores suffice.
    """

    def __init__(self, n: int) -> None:
        self._mm = mmap.mmap(-1, 8 * max(n, 1))
        self._a = memoryview(self._mm).cast("q")
        self._n = n

    def add(self, i: int, delta: int) -> None:
        self._a[i] += delta

    def values(self) -> list[int]:
        return self._a[: self._n].tolist()
