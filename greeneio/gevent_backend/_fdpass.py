"""Passing file descriptors over Unix-domain sockets (SCM_RIGHTS), and the
received descriptors as owned objects.

Theory of operation: ``send_msg`` is one ``sendmsg`` with the descriptors in
an SCM_RIGHTS control message, retried after ``wait_writable`` on ``EAGAIN``.
``recv_msg`` is one ``recvmsg_into`` with a control buffer sized for
``max_fds`` descriptors (``CMSG_SPACE``), retried after ``wait_readable``.

No received descriptor is ever leaked. The kernel installs descriptors only
as far as the control buffer has room; those that do not fit are dropped by
the kernel (``MSG_CTRUNC``) and never reach this process. The buffer's
alignment padding may hold a few more than ``max_fds``: those are closed at
once. Each kept descriptor is wrapped in an :class:`Fd` registered on the
caller's switch before anything else can run (there is no wait between
``recvmsg`` and the registration), so it is closed when the switch finishes
unless closed before. Descriptors arrive close-on-exec (``MSG_CMSG_CLOEXEC``,
or ``os.set_inheritable`` where the flag does not exist).
"""

from __future__ import annotations

import array
import contextlib
import os
import socket
from typing import Protocol

from zope.interface import implementer

from greeneio._core.switch import Hook, Switch
from greeneio._flows import Buffer, Closeable
from greeneio.gevent_backend._addr import from_os, to_os
from greeneio.gevent_backend._errors import translate
from greeneio.interfaces import IClose, IFd
from greeneio.net.sockaddr import Unix

__all__ = ["Fd", "recv_msg", "send_msg"]

_INT_SIZE = array.array("i").itemsize
#: The most descriptors one message can carry (Linux's SCM_MAX_FD); a larger
#: ``max_fds`` only sizes the control buffer up to this.
_MAX_FDS_PER_MSG = 253
_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


class _Socket(Protocol):
    """What the socket classes of ``_sockets.py`` offer this module."""

    @property
    def raw(self) -> socket.socket: ...

    def wait_readable(self) -> None: ...

    def wait_writable(self) -> None: ...


@implementer(IFd, IClose)
class Fd(Closeable):
    """A received file descriptor (Eio_unix's ``Fd.t``), owned by a switch.

    ``fileno()`` is the descriptor, -1 once closed or detached. ``close()``
    closes it (twice does nothing) and is also run when the switch finishes.
    ``detach()`` hands the descriptor to the caller, who must then close it.
    """

    __slots__ = ("_fd", "_hook")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._hook: Hook | None = None

    def attach(self, sw: Switch) -> None:
        """Close this descriptor when ``sw`` finishes (at once, and RuntimeError,
        if ``sw`` has finished already)."""
        self._hook = sw.on_release_cancellable(self.close)

    def fileno(self) -> int:
        return self._fd

    def detach(self) -> int:
        """Stop owning the descriptor (the switch will not close it) and return it."""
        fd = self._fd
        self._fd = -1
        self._unhook()
        return fd

    def close(self) -> None:
        fd = self._fd
        if fd < 0:
            return
        self._fd = -1
        self._unhook()
        try:
            os.close(fd)
        except OSError as e:
            raise translate(e) from e

    def _unhook(self) -> None:
        hook = self._hook
        if hook is not None:
            self._hook = None
            hook.try_remove()

    def __repr__(self) -> str:
        return f"<Fd {self._fd}>" if self._fd >= 0 else "<Fd (closed)>"


def check_unix(s: _Socket, fn: str) -> None:
    """TypeError unless ``s`` is a Unix-domain socket (other families would
    silently drop the descriptors: TCP ignores SCM_RIGHTS)."""
    family = s.raw.family
    if family != socket.AF_UNIX:
        try:
            name = socket.AddressFamily(family).name
        except ValueError:
            name = f"address family {family}"
        raise TypeError(
            f"Net.{fn}: sock must be a Unix-domain socket to pass file descriptors, "
            f"not an {name} socket"
        )


def send_msg(s: _Socket, bufs: list[Buffer], fds: list[int], dst: Unix | None) -> int:
    """One ``sendmsg`` of ``bufs`` (at most IOV_MAX of them: the caller's job)
    with ``fds`` attached; the byte count. Waits while the socket is full."""
    check_unix(s, "send_msg")
    sock = s.raw
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())] if fds else []
    address = None if dst is None else to_os(dst)
    while True:
        try:
            if address is None:
                return sock.sendmsg(bufs, anc)
            return sock.sendmsg(bufs, anc, 0, address)
        except BlockingIOError:
            s.wait_writable()
        except OSError as e:
            raise translate(e) from e


def recv_msg(
    s: _Socket, buf: memoryview, sw: Switch, max_fds: int, stream: bool
) -> tuple[Unix, int, list[Fd]]:
    """One ``recvmsg_into`` of ``buf`` keeping at most ``max_fds`` descriptors,
    each an :class:`Fd` owned by ``sw``. A ``stream`` at its end: EOFError."""
    check_unix(s, "recv_msg_with_fds")
    sock = s.raw
    wanted = min(max_fds, _MAX_FDS_PER_MSG)
    ancbufsize = socket.CMSG_SPACE(wanted * _INT_SIZE) if wanted else 0
    while True:
        try:
            n, ancdata, _flags, addr = sock.recvmsg_into([buf], ancbufsize, _CLOEXEC)
            break
        except BlockingIOError:
            s.wait_readable()
        except OSError as e:
            raise translate(e) from e
    raw_fds = _fds_of(ancdata)
    if n == 0 and stream and not raw_fds:
        raise EOFError("end of stream")
    return from_os(socket.AF_UNIX, addr), n, _own(raw_fds, sw, max_fds)  # type: ignore[return-value]


def _fds_of(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    """Every descriptor in the SCM_RIGHTS messages of ``ancdata``, in order."""
    out: list[int] = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % _INT_SIZE])
            out.extend(fds)
    return out


def _own(raw_fds: list[int], sw: Switch, max_fds: int) -> list[Fd]:
    """The first ``max_fds`` of ``raw_fds`` as ``Fd`` objects on ``sw``; the rest
    closed. On any failure (a finished switch) every one of them is closed."""
    for fd in raw_fds[max_fds:]:
        _close_quietly(fd)
    kept = raw_fds[:max_fds]
    out: list[Fd] = []
    try:
        for fd in kept:
            if not _CLOEXEC:
                os.set_inheritable(fd, False)
            wrapped = Fd(fd)
            out.append(wrapped)
            wrapped.attach(sw)
    except BaseException:
        for w in out:
            w.close()
        for fd in kept[len(out) :]:
            _close_quietly(fd)
        raise
    return out


def _close_quietly(fd: int) -> None:
    # It was ours and open a moment ago: a failure would have nothing to report.
    with contextlib.suppress(OSError):
        os.close(fd)
