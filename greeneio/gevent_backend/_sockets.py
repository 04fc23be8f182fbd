"""Real sockets on the gevent hub: stream, listening and datagram.

Theory of operation: each object owns one non-blocking OS socket and two
gevent io watchers (readable, writable). An operation tries the system call
first and waits on a watcher only on ``EAGAIN``, so the common path is one
call. A fiber waits with the watcher's callback set to its own ``switch``
(:func:`_wait`); greeneio's core cancels it by switching it back (``IO_WAIT``:
it raises ``Cancelled`` itself), and the watcher is stopped on every way out.

Ownership: an object is closed when the switch it was attached to finishes,
or before by ``close()`` (which unregisters the switch hook). Closing while
another fiber waits on the socket wakes that fiber with ``EBADF`` first, then
closes the descriptor. A Unix path this module bound is unlinked on close,
if the file there is still the socket it made.

Buffers: one ``sendmsg`` takes at most IOV_MAX of them. A stream write sends
a prefix (the first IOV_MAX; callers loop), a datagram joins them into one
buffer when there are more (a datagram cannot be split). Stream and datagram
sockets also pass file descriptors when they are Unix-domain (``_fdpass.py``).
"""

from __future__ import annotations

import _socket
import errno
import os
import socket
import stat
from collections.abc import Callable
from typing import Any

from gevent import get_hub
from gevent.monkey import get_original
from greenlet import greenlet as _greenlet_type
from zope.interface import implementer

from greeneio._core._greenlet import IO_WAIT, current_checked
from greeneio._core.switch import Hook, Switch
from greeneio._flows import COPY_CHUNK, Buffer, Closeable, copy_via_buffer, write_all
from greeneio.gevent_backend import _fdpass, _sockopt
from greeneio.gevent_backend._addr import from_os, to_os
from greeneio.gevent_backend._errors import translate
from greeneio.interfaces import (
    IAlarm,
    IDatagramSocket,
    IFd,
    IFdPassing,
    IListeningSocket,
    INonblockingSource,
    IStreamSocket,
)
from greeneio.net.sockaddr import Tcp, Udp, Unix
from greeneio.net.sockopt import Sockopt

__all__ = ["DatagramSocket", "ListeningSocket", "RawSocket", "StreamSocket", "UnixPath"]

_SHUT = {"send": socket.SHUT_WR, "receive": socket.SHUT_RD, "all": socket.SHUT_RDWR}
_SPLICE_CHUNK = 1 << 20
_STREAM = socket.SOCK_STREAM
# accept() errors about one pending connection, not the listening socket
# (Linux passes on network errors of the new connection): try the next one.
_ACCEPT_RETRY = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNABORTED", "EPROTO", "ENETDOWN", "ENOPROTOOPT", "EHOSTDOWN",
        "ENONET", "EHOSTUNREACH", "EOPNOTSUPP", "ENETUNREACH",
    )
    if hasattr(errno, name)
)  # fmt: skip
#: The C socket class under the stdlib's ``socket.socket``: never monkey-patched,
#: and cheaper to make and close than the Python wrapper (accept's hot path).
RawSocket: type[socket.socket] = _socket.socket  # type: ignore[assignment]


def _iov_max() -> int:
    try:
        n = os.sysconf("SC_IOV_MAX")
    except (ValueError, OSError):
        return 1024
    return n if n > 0 else 1024


#: The most buffers one sendmsg takes (more: EMSGSIZE).
IOV_MAX = _iov_max()


_switch = _greenlet_type.switch


def _wait(hub: Any, watcher: Any, fiber: Any) -> None:
    """Block ``fiber`` (the current one) until ``watcher`` fires; cancellable.

    The watcher's callback is the fiber's own ``switch`` (what ``hub.wait`` does
    through a ``Waiter``, without allocating one per wait). Every way out, a
    wake-up, a cancellation (the core switches the fiber back: ``IO_WAIT``), or
    the ``EBADF`` of a close by another fiber (gevent's ``cancel_wait`` throws
    into ``callback.__self__``), stops
    the watcher before the fiber runs on, so no wake-up is left behind, unless
    another fiber has started the watcher for its own wait meanwhile (a fiber
    cancelled out of a wait resumes late): then the watcher is that fiber's.
    """
    cb = fiber.switch
    watcher.start(cb)
    fiber.waker = IO_WAIT  # cancellation switches us back: we check cc below
    try:
        _switch(hub)  # greenlet's own switch: gevent's Hub.switch adds a frame
    except OSError as e:  # closed by another fiber while we waited
        raise translate(e) from e
    finally:
        fiber.waker = None
        if watcher.callback is cb:
            watcher.stop()
    cc = fiber.cc
    if cc.reason is not None:  # cancelled while the wake-up was on its way: cancel wins
        raise cc.cancelled_exc()


class UnixPath:
    """A socket file this process created; removed on close if still the same file."""

    __slots__ = ("ino", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.ino = os.stat(path).st_ino

    def unlink(self) -> None:
        try:
            if os.stat(self.path).st_ino == self.ino:
                os.unlink(self.path)
        except OSError:
            pass  # already gone, or replaced by someone else's file: leave it


class _Socket(Closeable):
    """What every socket kind shares: the fd, its watchers, closing, options."""

    __slots__ = (
        "_close_owner",
        "_closed",
        "_hook",
        "_hub",
        "_owner",
        "_path",
        "_rw",
        "_sock",
        "_ww",
    )

    def __init__(
        self,
        sock: socket.socket,
        path: UnixPath | None = None,
        owner: Any = None,
        close_owner: bool = True,
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._hub = get_hub()
        # Watchers are made on the first wait: many sockets never need one
        # (the data is already there) or only one of the two.
        self._rw: Any = None
        self._ww: Any = None
        self._hook: Hook | None = None
        # import_socket_*: the caller's socket object shares the fd; we close the
        # fd through it (close_owner) or leave it open.
        self._owner = owner
        self._close_owner = close_owner
        self._path = path
        self._closed = False

    def attach(self, sw: Switch | None) -> None:
        """Close this socket when ``sw`` finishes (``sw`` None: the caller owns it)."""
        if sw is not None:
            self._hook = sw.on_release_cancellable(self.close)

    def fileno(self) -> int:
        return self._sock.fileno()

    @property
    def raw(self) -> socket.socket:
        """The OS socket (owned by this object: do not close it)."""
        return self._sock

    # Our fiber may have been cancelled while it was running (the core then
    # leaves it to check for itself): check before every wait.

    def wait_readable(self) -> None:
        """Block until the socket is readable. Cancellable."""
        me = current_checked()
        hub = get_hub()
        if hub is not self._hub:
            self._rebind(hub)
        rw = self._rw
        if rw is None:
            rw = self._rw = hub.loop.io(self._sock.fileno(), 1)
        _wait(hub, rw, me)

    def wait_writable(self) -> None:
        """Block until the socket is writable. Cancellable."""
        me = current_checked()
        hub = get_hub()
        if hub is not self._hub:
            self._rebind(hub)
        ww = self._ww
        if ww is None:
            ww = self._ww = hub.loop.io(self._sock.fileno(), 2)
        _wait(hub, ww, me)

    def _rebind(self, hub: Any) -> None:
        # Used from another thread's hub: a worker process's fresh hub, after
        # fork. The old watchers belong to a loop that will not run here.
        self._hub = hub
        self._rw = self._ww = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        hook = self._hook
        if hook is not None:
            self._hook = None
            hook.remove()
        if self._path is not None:
            self._path.unlink()
            self._path = None
        rw, ww = self._rw, self._ww
        if (rw is None or rw.callback is None) and (ww is None or ww.callback is None):
            # Nobody is waiting on it (the usual case): close now.
            if rw is not None:
                rw.close()
            if ww is not None:
                ww.close()
            self._release()
            return
        closed = OSError(errno.EBADF, "Socket was closed by another fiber")
        self._hub.cancel_waits_close_and_then([rw, ww], closed, self._release)

    def _release(self) -> None:
        owner = self._owner
        if owner is None:
            self._sock.close()
            return
        self._sock.detach()  # the fd belongs to the caller's socket object
        if self._close_owner:
            owner.close()

    def setsockopt(self, opt: Sockopt, value: Any) -> None:
        _sockopt.setsockopt(self._sock, opt, value)

    def getsockopt(self, opt: Sockopt) -> Any:
        return _sockopt.getsockopt(self._sock, opt)

    def shutdown(self, cmd: str) -> None:
        try:
            self._sock.shutdown(_SHUT[cmd])
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                raise translate(e) from e

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self._sock.fileno()}>"


@implementer(IAlarm)
class _ReadyCall:
    """A stream socket's pending ``call_when_readable``: a third io watcher
    of its own (a fiber may wait on the socket's two meanwhile), kept for
    the next one."""

    __slots__ = ("fn", "watcher")

    def __init__(self, watcher: Any) -> None:
        self.watcher = watcher
        self.fn: Callable[[], object] | None = None

    def fire(self) -> None:
        self.watcher.stop()
        fn = self.fn
        if fn is not None:
            self.fn = None
            fn()

    def cancel(self) -> None:
        self.fn = None
        self.watcher.stop()


@implementer(IStreamSocket, INonblockingSource, IFd, IFdPassing)
class StreamSocket(_Socket):
    """A connected stream socket: a two-way flow (passing fds if Unix-domain)."""

    # _drained: the last read returned less than asked, so the socket was empty:
    # the next read waits for readiness first instead of a recv that would say
    # EAGAIN (request/response traffic saves a system call per message).
    # _ready: the call_when_readable watcher, made on first use.
    __slots__ = ("_drained", "_ready")

    def __init__(self, sock: socket.socket, **kw: Any) -> None:
        super().__init__(sock, **kw)
        self._drained = False
        self._ready: _ReadyCall | None = None

    def read_nonblocking(self, buf: memoryview) -> int:
        try:
            n = self._sock.recv_into(buf)
        except BlockingIOError:
            return 0
        except OSError as e:
            raise translate(e) from e
        if n == 0:
            raise EOFError("end of stream")
        self._drained = n < len(buf)
        return n

    def call_when_readable(self, fn: Callable[[], object]) -> IAlarm:
        if self._closed:
            raise translate(OSError(errno.EBADF, "the socket is closed"))
        hub = get_hub()
        if hub is not self._hub:
            self._rebind(hub)
        ready = self._ready
        if ready is None:
            ready = self._ready = _ReadyCall(hub.loop.io(self._sock.fileno(), 1))
        ready.fn = fn
        ready.watcher.start(ready.fire)
        return ready

    def _rebind(self, hub: Any) -> None:
        super()._rebind(hub)
        self._ready = None

    def close(self) -> None:
        ready = self._ready
        if ready is not None:
            self._ready = None
            ready.cancel()
            ready.watcher.close()
        super().close()

    def single_read(self, buf: memoryview) -> int:
        if self._drained:
            self.wait_readable()
        while True:
            n = self.read_nonblocking(buf)
            if n:
                return n
            self.wait_readable()

    def single_write(self, bufs: list[Buffer]) -> int:
        sock = self._sock
        n = len(bufs)
        while True:
            try:
                if n == 1:
                    return sock.send(bufs[0])
                if n > IOV_MAX:  # a prefix: sendmsg takes no more
                    return sock.sendmsg(bufs[:IOV_MAX])
                return sock.sendmsg(bufs)
            except BlockingIOError:
                self.wait_writable()
            except OSError as e:
                raise translate(e) from e

    def send_msg(self, bufs: list[Buffer], fds: list[int], dst: Unix | None) -> int:
        """Like ``single_write`` (a prefix of ``bufs``), with ``fds`` attached to
        the first byte. TypeError unless Unix-domain."""
        if len(bufs) > IOV_MAX:
            bufs = bufs[:IOV_MAX]
        return _fdpass.send_msg(self, bufs, fds, dst)

    def recv_msg_with_fds(
        self, buf: memoryview, sw: Switch, max_fds: int
    ) -> tuple[Unix, int, list[_fdpass.Fd]]:
        return _fdpass.recv_msg(self, buf, sw, max_fds, stream=True)

    def copy(self, src: Any) -> None:
        """Write all of ``src``: by ``sendfile`` from a regular file, ``splice``
        from one of our sockets, else through a buffer."""
        if isinstance(src, StreamSocket):
            self._copy_socket(src)
        elif IFd.providedBy(src) and _is_regular_file(src.fileno()):
            self._copy_sendfile(src.fileno())
        else:
            copy_via_buffer(src, self)

    def _copy_socket(self, src: StreamSocket) -> None:
        """recv/send through a shared scratch buffer, never held across a wait (an
        idle connection costs no buffer). Once a read fills the whole buffer the
        traffic is bulk: the rest goes by ``splice``, not through Python.

        This frame lives as long as the connection, so nothing should raise
        through it while it runs: CPython gives a frame an exception passed
        through a frame object for the rest of its life (~0.3 KB per idle
        connection). The first read, the one likely to find nothing yet, is
        ``read_nonblocking`` (its ``EAGAIN`` is caught in its own frame); later
        reads follow a wait for readiness.
        """
        scratch = _scratch()
        size = len(scratch)
        recv_into = src.raw.recv_into
        send = self._sock.send
        try:
            n = src.read_nonblocking(memoryview(scratch))  # 0: nothing there yet
        except EOFError:
            return
        while True:
            if not n:  # nothing to read yet, or the last read emptied the socket
                src.wait_readable()
                try:
                    n = recv_into(scratch)
                except BlockingIOError:  # woken with nothing there after all (rare)
                    continue
                except OSError as e:
                    raise translate(e) from e
                if n == 0:
                    return
            try:
                # A copy of a short read (no view of the shared buffer is left in
                # this frame while it waits: an idle connection holds none).
                sent = send(scratch[:n] if n < size else scratch)
            except BlockingIOError:
                sent = 0
            except OSError as e:
                raise translate(e) from e
            if sent < n:  # the peer is slow: keep a private copy while we wait
                write_all(self, [scratch[sent:n]])
            if n < size:
                n = 0  # a short read emptied the socket: wait before the next
            elif _SPLICE:
                self._copy_splice(src)
                return
            else:  # bulk without splice: read on at once
                try:
                    n = src.read_nonblocking(memoryview(scratch))
                except EOFError:
                    return

    def _copy_sendfile(self, in_fd: int) -> None:
        out_fd = self._sock.fileno()
        while True:
            try:
                # offset None: read from (and advance) the file's own position.
                n = os.sendfile(out_fd, in_fd, None, _SPLICE_CHUNK)
            except BlockingIOError:
                self.wait_writable()
                continue
            except OSError as e:
                raise translate(e) from e
            if n == 0:
                return

    def _copy_splice(self, src: StreamSocket) -> None:
        flags = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
        in_fd, out_fd = src.raw.fileno(), self._sock.fileno()
        try:
            r, w = os.pipe()
        except OSError:  # out of fds (EMFILE...): the buffered path needs none
            copy_via_buffer(src, self)
            return
        try:
            while True:
                try:
                    n = os.splice(in_fd, w, _SPLICE_CHUNK, flags=flags)
                except BlockingIOError:
                    src.wait_readable()  # the pipe is empty here, so the source is
                    continue
                except OSError as e:
                    raise translate(e) from e
                if n == 0:
                    return
                while n:
                    try:
                        n -= os.splice(r, out_fd, n, flags=flags)
                    except BlockingIOError:
                        self.wait_writable()
                    except OSError as e:
                        raise translate(e) from e
        finally:
            os.close(r)
            os.close(w)


_SPLICE = hasattr(os, "splice")


# The real thread-local (monkey-patching would make threading.local per greenlet).
_local = get_original("_thread", "_local")()


def _scratch() -> bytearray:
    """This thread's copy buffer (one hub per thread, and it is never held
    across a switch)."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(COPY_CHUNK)
    return buf


def _is_regular_file(fd: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


@implementer(IListeningSocket, IFd)
class ListeningSocket(_Socket):
    """A listening stream socket."""

    __slots__ = ("_family",)

    def __init__(self, sock: socket.socket, **kw: Any) -> None:
        super().__init__(sock, **kw)
        self._family = int(sock.family)  # the property makes an enum on every read

    def accept(self, sw: Switch) -> tuple[StreamSocket, Tcp | Unix]:
        lsock = self._sock
        while True:
            try:
                fd, addr = lsock._accept()  # type: ignore[attr-defined]
                break
            except BlockingIOError:
                self.wait_readable()
            except OSError as e:
                if e.errno in _ACCEPT_RETRY:
                    continue  # that client went away before we accepted it
                raise translate(e) from e
        family = self._family
        conn = StreamSocket(RawSocket(family, _STREAM, 0, fd))
        try:
            conn.attach(sw)
        except BaseException:
            conn.close()
            raise
        return conn, from_os(family, addr)  # type: ignore[return-value]

    def listening_addr(self) -> Tcp | Unix:
        sock = self._sock
        return from_os(sock.family, sock.getsockname())  # type: ignore[return-value]


@implementer(IDatagramSocket, IFd, IFdPassing)
class DatagramSocket(_Socket):
    """A datagram socket (UDP or Unix datagram; passing fds if Unix-domain)."""

    __slots__ = ()

    def send(self, bufs: list[Buffer], dst: Udp | Unix | None) -> None:
        sock = self._sock
        if len(bufs) > IOV_MAX:  # one datagram: it cannot be split
            bufs = [b"".join(bufs)]
        address = None if dst is None else to_os(dst)
        while True:
            try:
                if address is None:
                    sock.sendmsg(bufs)
                else:
                    sock.sendmsg(bufs, (), 0, address)
                return
            except BlockingIOError:
                self.wait_writable()
            except OSError as e:
                raise translate(e) from e

    def recv(self, buf: memoryview) -> tuple[Udp | Unix, int]:
        sock = self._sock
        while True:
            try:
                n, addr = sock.recvfrom_into(buf)
                break
            except BlockingIOError:
                self.wait_readable()
            except OSError as e:
                raise translate(e) from e
        return from_os(sock.family, addr, datagram=True), n  # type: ignore[return-value]

    def send_msg(self, bufs: list[Buffer], fds: list[int], dst: Unix | None) -> int:
        """One datagram of ``bufs`` with ``fds`` attached; its length.
        TypeError unless Unix-domain."""
        if len(bufs) > IOV_MAX:
            bufs = [b"".join(bufs)]
        return _fdpass.send_msg(self, bufs, fds, dst)

    def recv_msg_with_fds(
        self, buf: memoryview, sw: Switch, max_fds: int
    ) -> tuple[Unix, int, list[_fdpass.Fd]]:
        return _fdpass.recv_msg(self, buf, sw, max_fds, stream=False)
