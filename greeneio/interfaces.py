"""Provider interfaces (Eio's ``Pi``): what a backend must implement.

User-facing functions (``Flow.copy``, ``Time.sleep`` ...) validate their
arguments, call these methods, and add error context. A backend whose objects
provide these interfaces works with every user-facing function. Both the
gevent backend and ``greeneio.mock`` are checked with
``zope.interface.verify.verifyObject``.

Buffers are bytes-like objects: ``bytes``, ``bytearray``, ``memoryview``.
Blocking methods must be cancellable: a fiber blocked in one raises
``Cancelled`` when its context is cancelled, and leaves nothing half-done
that the caller cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import Interface

__all__ = [
    "IAlarm",
    "IAlarmClock",
    "IClock",
    "IClose",
    "IDatagramSocket",
    "IDomainManager",
    "IFd",
    "IFdPassing",
    "IFiles",
    "IListeningSocket",
    "INetwork",
    "INonblockingSource",
    "IShutdown",
    "ISignals",
    "ISink",
    "ISocket",
    "ISource",
    "IStreamSocket",
    "ITwoWay",
    "IUnixNet",
]


class ISource(Interface):
    """A byte stream that can be read."""

    def single_read(buf: memoryview) -> int:
        """Read at least one byte into the writable buffer ``buf``; return the count.

        Blocks until data is available. Raises ``EOFError`` at end of stream.
        """


class INonblockingSource(ISource):
    """A source that can also be watched and read without a fiber (the HTTP
    engine watches a connection for a client that goes away while a handler
    runs this way). The gevent backend's stream sockets provide it."""

    def read_nonblocking(buf: memoryview) -> int:
        """Read what is there into ``buf`` without blocking; return the count,
        0 if nothing is there yet. Raises ``EOFError`` at end of stream and
        errors as ``single_read`` does."""

    def call_when_readable(fn: Callable[[], object]) -> IAlarm:
        """Call ``fn()`` once, outside any fiber, as soon as a read would not
        block (data, the end of the stream or an error is there).

        ``fn`` must return at once: it must not block or raise (it may read
        with ``read_nonblocking``, cancel a context, or ask again). One call
        is pending at a time: asking again replaces it. Closing the source
        drops it. Returns the :class:`IAlarm` that cancels the call."""


class ISink(Interface):
    """A byte stream that can be written."""

    def single_write(bufs: list[bytes | bytearray | memoryview]) -> int:
        """Write a prefix of the list of buffers ``bufs``; return how many bytes.

        Blocks until at least one byte can be written (if any were given).
        """

    def copy(src: Any) -> None:
        """Write everything ``src`` (an ``ISource``) produces, until its end.

        The sink picks the fastest path it knows for ``src``; the generic path
        is the read-into-a-buffer loop (``greeneio._flows.copy_via_buffer``).
        """


class IShutdown(Interface):
    """A stream whose directions can be closed separately."""

    def shutdown(cmd: str) -> None:
        """Close one direction: ``cmd`` is ``"send"``, ``"receive"`` or ``"all"``."""


class IClose(Interface):
    """A resource that can be closed."""

    def close() -> None:
        """Release the resource. Closing twice does nothing."""


class ITwoWay(ISource, ISink, IShutdown):
    """A bidirectional stream (Eio's ``Flow.two_way``)."""


class IClock(Interface):
    """A source of time that fibers can sleep on."""

    def now() -> float:
        """The current time, in seconds, as a float."""

    def sleep_until(t: float) -> None:
        """Block until ``now() >= t``. Cancellable."""


class IAlarm(Interface):
    """A call that a provider will make once: an :class:`IAlarmClock` when its
    time comes, an :class:`INonblockingSource` when it is readable."""

    def cancel() -> None:
        """Do not make the call (if it was not made yet). Cancelling twice does nothing."""


class IAlarmClock(IClock):
    """A clock that can also ring: a timed call without a fiber sleeping for it
    (for library timers that must cost little per connection, such as the HTTP
    engine's timeouts). Both backends' clocks provide it."""

    def call_at(t: float, fn: Callable[[], object]) -> IAlarm:
        """Call ``fn()`` once, as soon as ``now() >= t``, outside any fiber.

        ``fn`` must return at once: it must not block (it may resolve a
        promise or cancel a context) or raise. Returns the :class:`IAlarm`
        that cancels the call."""


class IFd(Interface):
    """A resource backed by an operating-system file descriptor (Eio_unix's ``fd``)."""

    def fileno() -> int:
        """The descriptor, owned by the resource: valid until it is closed; -1 after."""


# -- Net ----------------------------------------------------------------------
# Addresses are ``greeneio.net.Sockaddr`` values. Switches are ``greeneio.Switch``.
# A provider raises ``greeneio.Net``/``greeneio.Fs`` errors (``Exn.Io``) for
# OS failures; the user-facing ``Net`` functions add the context lines.


class ISocket(Interface):
    """A socket whose options can be read and set."""

    def setsockopt(opt: Any, value: Any) -> None:
        """Set ``opt`` (a ``Net.Sockopt`` member) to ``value`` (already type-checked).

        Raises ``Net.InvalidOption`` if this socket or platform lacks it.
        """

    def getsockopt(opt: Any) -> Any:
        """The value of ``opt`` (a ``Net.Sockopt`` member), in its Python type.

        Raises ``Net.InvalidOption`` if this socket or platform lacks it.
        """


class IStreamSocket(ISource, ISink, IShutdown, ISocket, IClose):
    """A connected stream socket (Eio's ``stream_socket``): a two-way flow."""


class IListeningSocket(ISocket, IClose):
    """A socket accepting stream connections."""

    def accept(sw: Any) -> tuple[Any, Any]:
        """Block until a client connects; return ``(IStreamSocket, Sockaddr)``.

        The new socket is closed when ``sw`` finishes, if not before.
        Cancellable: a cancelled accept takes no connection.
        """

    def listening_addr() -> Any:
        """The ``Sockaddr`` it listens on (with the real port if 0 was asked for)."""


class IDatagramSocket(IShutdown, ISocket, IClose):
    """A datagram (UDP or Unix datagram) socket."""

    def send(bufs: list[bytes | bytearray | memoryview], dst: Any) -> None:
        """Send ``bufs`` gathered as one datagram, to ``dst`` (a ``Sockaddr`` or None
        for a connected socket). Blocks until the datagram is queued."""

    def recv(buf: memoryview) -> tuple[Any, int]:
        """Block until a datagram arrives; copy it into ``buf``, return ``(sender, n)``.

        A datagram longer than ``buf`` is truncated.
        """


class INetwork(Interface):
    """A way to make sockets and look up names (Eio's ``Net.t``, ``env.net``)."""

    def listen(addr: Any, sw: Any, backlog: int, reuse_addr: bool, reuse_port: bool) -> Any:
        """A listening ``IListeningSocket`` on the stream address ``addr``, closed with ``sw``.

        A Unix path it creates is removed when it closes. With ``reuse_addr`` a stale
        socket file at the path is removed first; any other kind of file is left
        alone and ``Fs.AlreadyExists`` raised.
        """

    def connect(addr: Any, sw: Any, bind_to: Any, options: list[tuple[Any, Any]]) -> Any:
        """A connected ``IStreamSocket`` to ``addr``, closed with ``sw``.

        ``bind_to`` (a ``Sockaddr`` or None) is bound first; ``options`` (pairs of
        ``Sockopt`` and value) are set in order before connecting. Cancellable: a
        cancelled connect leaves nothing open.
        """

    def datagram_socket(addr: Any, sw: Any, reuse_addr: bool, reuse_port: bool) -> Any:
        """An ``IDatagramSocket`` bound to ``addr`` (``Udp``/``Unix``), or unbound for
        the ``UdpV4``/``UdpV6`` values; closed with ``sw``."""

    def getaddrinfo(host: str, service: str) -> list[Any]:
        """The ``Sockaddr`` values ``host`` and ``service`` name (may be empty)."""

    def getnameinfo(addr: Any) -> tuple[str, str]:
        """``(host, service)`` names for the address ``addr``."""


# -- Domains --------------------------------------------------------------------


class IDomainManager(Interface):
    """Runs code in other domains (Eio's ``Domain_manager``): forked worker
    processes on the gevent backend, fibers with a domain id on the mock."""

    def run(fn: Any) -> Any:
        """Run ``fn()`` in a new domain with its own scheduler; return its result or
        raise its exception. Blocks; cancelling the caller ends the domain."""

    def semaphore(n: int, sw: Any) -> Any:
        """A semaphore of ``n`` permits shared by this domain and every domain
        started later: ``acquire()`` (blocking, cancellable) and ``release()``.
        Released with ``sw``."""

    def counters(n: int, sw: Any) -> Any:
        """``n`` integer counters shared like :meth:`semaphore`: ``add(i, delta)``
        (each counter written by one domain only) and ``values() -> list[int]``."""

    def share(promise: Any, sw: Any) -> Any:
        """Something whose ``await_()`` returns once ``promise`` (of this domain) is
        resolved, usable here and in every domain started later. The value is not
        carried across domains. Released with ``sw``."""

    def respawner() -> Any:
        """For a supervisor that replaces domains that die (``Net.run_server(...,
        restart_workers=True)``): an object whose ``run(fn)`` starts ``fn()`` in a
        new domain like :meth:`run`, as if started now, when this method is called
        (with processes: without the descriptors this domain opens after the
        call, such as its accepted connections). ``run`` returns ``(None,
        result)``, or ``(why, None)`` if the domain died without a result (killed,
        exited, stopped by someone else), ``why`` naming it and how, e.g.
        ``"worker 42 killed by SIGKILL"``; an exception of ``fn`` is raised.
        Blocks; cancelling the caller ends the domain."""


class IFdPassing(Interface):
    """A Unix-domain socket that can pass file descriptors (Eio_unix.Net's
    ``send_msg`` / ``recv_msg_with_fds``). Optional: ``Net.send_msg`` raises
    ``TypeError`` for a socket that does not provide it."""

    def send_msg(bufs: list[bytes | bytearray | memoryview], fds: list[int], dst: Any) -> int:
        """Send ``bufs`` with the descriptors ``fds`` attached (SCM_RIGHTS); the
        count of bytes sent. ``dst`` (a ``Sockaddr.Unix`` or ``None``) only for
        unconnected datagram sockets. Does not close ``fds``. Blocks until the
        socket is writable; cancellable."""

    def recv_msg_with_fds(buf: memoryview, sw: Any, max_fds: int) -> tuple[Any, int, list[Any]]:
        """Receive into ``buf``: ``(sender Sockaddr.Unix, byte count, fds)``.

        Each received descriptor is close-on-exec, wrapped as an ``IFd`` +
        ``IClose`` object owned by ``sw``; any beyond ``max_fds`` are closed.
        Blocks until data arrives; cancellable. A stream at its end raises
        ``EOFError``."""


class IUnixNet(Interface):
    """Eio_unix.Net: a backend's bridge to ``socket.socket`` objects.

    The running scheduler of a backend with OS sockets provides it (as
    ``sched.unix``); ``Net.import_socket_*``, ``Net.socketpair_*`` and
    ``greeneio.compat`` reach the backend through it, never by import."""

    def import_socket(kind: str, sock: Any, sw: Any, close_unix: bool) -> Any:
        """Wrap the open ``socket.socket`` ``sock`` as a ``kind`` socket
        (``"stream"``, ``"listening"`` or ``"datagram"``) owned by ``sw``; when
        released, close ``sock`` if ``close_unix``, else leave it open."""

    def socketpair(kind: str, sw: Any, family: int) -> tuple[Any, Any]:
        """Two connected sockets (``"stream"`` or ``"datagram"``), closed with ``sw``."""

    def legacy_socket(fd: int) -> Any:
        """A cooperative blocking-style socket object on a duplicate of ``fd``
        (for legacy code); the caller closes it."""


class IFiles(Interface):
    """A backend's files (``Fs.open_in``), reached as ``sched.unix`` like ``IUnixNet``."""

    def open_in(path: str, sw: Any) -> Any:
        """Open the file at ``path`` for reading: an ``ISource`` + ``IFd`` +
        ``IClose`` closed when ``sw`` finishes. Raises ``Fs`` errors."""


class ISignals(Interface):
    """Process signals (``env.signals``), for ``Signal.subscribe``."""

    def subscribe(signum: int, callback: Any, sw: Any) -> None:
        """Call ``callback(signum)`` each time ``signum`` arrives, until ``sw``
        finishes. ``callback`` is called from the scheduler's hub, never
        inside the signal handler itself; it must not block (``Signal.subscribe``
        only queues the signal for a fiber). ``ValueError`` for a signal that
        cannot be caught; ``RuntimeError`` outside the main thread."""
