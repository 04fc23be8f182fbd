"""``Net.send_msg`` and ``Net.recv_msg_with_fds`` (Eio_unix.Net): passing file
descriptors over Unix-domain sockets. Validate the arguments, call the
provider (an ``IFdPassing`` socket), add context to its errors.

The gevent backend's stream and datagram sockets provide ``IFdPassing``;
one that is not Unix-domain raises ``TypeError`` (TCP and UDP would drop the
descriptors without a word).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from greeneio._core.args import bufs_arg, instance_arg, writable_buf_arg
from greeneio._core.exn import Io, add_context
from greeneio._core.switch import Switch
from greeneio._flows import Buffer
from greeneio.interfaces import IDatagramSocket, IFdPassing
from greeneio.net._api import _check_cancelled
from greeneio.net.sockaddr import Unix
from greeneio.protocols import DatagramSocket, Fd, FdResource, StreamSocket

__all__ = ["recv_msg_with_fds", "send_msg"]


class FdPassing(Protocol):
    """The static side of ``IFdPassing`` (the gevent backend's Unix-domain sockets)."""

    def send_msg(self, bufs: list[Buffer], fds: list[int], dst: Unix | None, /) -> int: ...

    def recv_msg_with_fds(
        self, buf: memoryview, sw: Switch, max_fds: int, /
    ) -> tuple[Unix, int, list[FdResource]]: ...


def _sock_arg(sock: object, fn: str) -> FdPassing:
    if not IFdPassing.providedBy(sock):
        raise TypeError(
            f"Net.{fn}: sock must be a Unix-domain socket that can pass file descriptors "
            f"(provide IFdPassing), not {sock!r}"
        )
    return sock


def _fd_of(x: object, i: int) -> int:
    if isinstance(x, int) and not isinstance(x, bool):
        fd = x
    else:
        fileno = getattr(x, "fileno", None)
        if not callable(fileno):
            raise TypeError(
                f"Net.send_msg: fds[{i}] must be an int or have a fileno() method, not {x!r}"
            )
        try:
            fd = fileno()
        except (ValueError, OSError) as e:  # a closed file object says so this way
            raise ValueError(f"Net.send_msg: fds[{i}] is not open ({x!r}: {e})") from None
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"Net.send_msg: fds[{i}].fileno() must return an int, not {fd!r}")
    if fd < 0:
        raise ValueError(f"Net.send_msg: fds[{i}] is not an open file descriptor ({x!r})")
    return fd


def _fds_arg(fds: object) -> list[int]:
    if isinstance(fds, str | bytes | bytearray) or not isinstance(fds, Iterable):
        raise TypeError(
            f"Net.send_msg: fds must be a list of ints or objects with fileno(), not {fds!r}"
        )
    return [_fd_of(x, i) for i, x in enumerate(fds)]


def send_msg(
    sock: StreamSocket | DatagramSocket,
    bufs: Buffer | Iterable[Buffer],
    *,
    fds: Iterable[int | Fd] = (),
    dst: Unix | None = None,
) -> int:
    """Send ``bufs`` with the descriptors ``fds`` attached; return the bytes sent.

    ``fds`` are ints or objects with ``fileno()``; they stay open (the
    receiver gets its own copies). On a stream socket this is like
    ``Flow.single_write``: it may send only a prefix (the descriptors go with
    it), and ``bufs`` must hold at least one byte when ``fds`` are given. On a
    datagram socket it sends one datagram, to ``dst`` (a ``Sockaddr.Unix``)
    or, when ``None``, to the connected peer. Blocks until the socket can take
    it; cancellable. ``TypeError`` if ``sock`` is not a Unix-domain socket.
    """
    passing = _sock_arg(sock, "send_msg")
    items = bufs_arg(bufs, "Net.send_msg")
    fd_ints = _fds_arg(fds)
    datagram = IDatagramSocket.providedBy(sock)
    if dst is not None:
        if not isinstance(dst, Unix):
            raise TypeError(f"Net.send_msg: dst must be a Sockaddr.Unix or None, not {dst!r}")
        if not dst.path:
            raise ValueError("Net.send_msg: dst must not be the empty Unix path")
        if not datagram:
            raise ValueError(
                f"Net.send_msg: dst ({dst}) is only for datagram sockets; "
                "a stream socket sends to its peer"
            )
    if fd_ints and not datagram and not any(memoryview(b).nbytes for b in items):
        raise ValueError(
            "Net.send_msg: bufs must hold at least one byte to pass fds on a stream socket"
        )
    _check_cancelled()
    try:
        n = passing.send_msg(items, fd_ints, dst)
    except Io as e:
        what = f"sending message with {len(fd_ints)} fds"
        raise add_context(e, f"{what} to {dst}" if dst is not None else what) from None
    return n


def recv_msg_with_fds(
    sock: StreamSocket | DatagramSocket, buf: Buffer, *, sw: Switch, max_fds: int
) -> tuple[Unix, int, list[FdResource]]:
    """Receive into ``buf``: ``(sender, n, fds)``.

    ``sender`` is a ``Sockaddr.Unix`` (path ``""`` when unnamed); ``n`` the
    bytes read (a datagram longer than ``buf`` is truncated); ``fds`` the
    descriptors that came with them, in order, as objects with ``fileno()``
    and ``close()``, owned by ``sw`` (closed when it finishes, unless closed
    before) and close-on-exec. At most ``max_fds`` are kept: any more are
    closed. Blocks until data arrives; cancellable. A stream at its end
    raises ``EOFError``; ``TypeError`` if ``sock`` is not a Unix-domain socket.
    """
    passing = _sock_arg(sock, "recv_msg_with_fds")
    view = writable_buf_arg(buf, "Net.recv_msg_with_fds")
    if view.nbytes == 0:
        raise ValueError("Net.recv_msg_with_fds: buf must not be empty")
    sw = instance_arg(sw, Switch, "Net.recv_msg_with_fds", "sw", "a Switch")
    if isinstance(max_fds, bool) or not isinstance(max_fds, int):
        raise TypeError(f"Net.recv_msg_with_fds: max_fds must be an int, not {max_fds!r}")
    if max_fds < 0:
        raise ValueError(f"Net.recv_msg_with_fds: max_fds must be >= 0, not {max_fds}")
    _check_cancelled()
    try:
        return passing.recv_msg_with_fds(view, sw, max_fds)
    except Io as e:
        raise add_context(e, "receiving message with fds") from None
