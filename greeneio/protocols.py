"""Static types of what greeneio hands out and takes: ``typing.Protocol`` classes.

``Net.connect`` returns a :class:`StreamSocket`, ``greeneio.run`` calls
``main`` with an :class:`Env`, ``Time.sleep`` takes a :class:`Clock` ... These
protocols say so to a type checker and an IDE. They are the static side of
the provider contracts in ``greeneio.interfaces`` (zope interfaces, checked at
run time with ``providedBy``): each protocol has the methods of the matching
interface, with their types, and nothing a provider does not promise. The
gevent backend's and ``greeneio.mock``'s objects match them structurally; a
third-party provider needs no base class, only the methods.

Use them to annotate your own code::

    from greeneio.protocols import Env, StreamSocket

    def main(env: Env) -> None:
        with Switch() as sw:
            conn: StreamSocket = Net.connect(env.net, addr, sw=sw)

At run time this module imports only the standard library (the greeneio names
in its annotations are imported for type checkers only), so any greeneio module
can use it without an import cycle, and it loads no backend. Methods take their
arguments positionally (``/``), so a provider may name its parameters as it
likes; buffers are bytes-like (``bytes``, ``bytearray``, ``memoryview``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, TypeVar

if TYPE_CHECKING:  # names for the annotations only: nothing of greeneio is imported
    from greeneio._core.promise import Promise
    from greeneio._core.switch import Switch
    from greeneio.net.sockaddr import Tcp, Udp, Unix
    from greeneio.net.sockaddr import _UdpAny as UdpAny
    from greeneio.net.sockopt import Sockopt

__all__ = [
    "Alarm",
    "AlarmClock",
    "Buffer",
    "Clock",
    "Close",
    "DatagramSocket",
    "DomainManager",
    "Env",
    "Fd",
    "FdResource",
    "FileSource",
    "ListeningSocket",
    "Network",
    "Resource",
    "SharedCounters",
    "SharedEvent",
    "SharedSemaphore",
    "Shutdown",
    "ShutdownCommand",
    "Signals",
    "Sink",
    "Socket",
    "SockoptValue",
    "Source",
    "StreamSocket",
    "TwoWay",
]

T = TypeVar("T")

#: A bytes-like buffer, as the flows read into and write from.
Buffer = bytes | bytearray | memoryview
#: What ``Flow.shutdown`` closes: one direction or both.
ShutdownCommand = Literal["send", "receive", "all"]
#: A socket option's value; which one depends on the option's ``kind``.
SockoptValue = bool | int | float | str | tuple[int, int] | None


# -- flows ----------------------------------------------------------------------


class Source(Protocol):
    """A byte stream that can be read (``ISource``): ``Flow.single_read``,
    ``Flow.copy``, ``Buf_read.of_flow`` take one."""

    def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte into ``buf``; the count. ``EOFError`` at the end.
        Blocks until data is available; cancellable."""
        ...


class Sink(Protocol):
    """A byte stream that can be written (``ISink``): ``Flow.write``,
    ``Flow.copy``, ``Buf_write.create`` take one."""

    def single_write(self, bufs: list[Buffer], /) -> int:
        """Write a prefix of ``bufs``; how many bytes. Blocks until it can write."""
        ...

    def copy(self, src: Source, /) -> None:
        """Write everything ``src`` produces until its end (the sink picks how:
        ``sendfile``/``splice`` where it can)."""
        ...


class Shutdown(Protocol):
    """A stream whose directions close separately (``IShutdown``)."""

    def shutdown(self, cmd: ShutdownCommand, /) -> None:
        """Close one direction: ``"send"``, ``"receive"`` or ``"all"``."""
        ...


class Close(Protocol):
    """Something that can be closed now (``IClose``): ``Net.close`` takes one."""

    def close(self) -> None:
        """Release it. Closing twice does nothing."""
        ...


class Resource(Close, Protocol):
    """A closeable that is also a context manager: ``with x:`` closes it at the end.

    Every socket and file greeneio hands out is one; each is also closed when
    the switch it was made with finishes, if not before.
    """

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class TwoWay(Source, Sink, Shutdown, Protocol):
    """A bidirectional stream (``ITwoWay``, Eio's ``Flow.two_way``)."""


class Fd(Protocol):
    """Something backed by an OS file descriptor (``IFd``): ``fileno()``.

    Files and socket objects of the standard library are ones too
    (``Net.send_msg``'s ``fds``).
    """

    def fileno(self) -> int:
        """The descriptor, owned by the object: valid until it is closed."""
        ...


class FdResource(Fd, Resource, Protocol):
    """A file descriptor owned by a switch (``Net.recv_msg_with_fds``'s fds):
    ``fileno()``, and ``close()`` (also when the switch finishes)."""


class FileSource(Source, FdResource, Protocol):
    """A file opened for reading (``Fs.open_in``): a source with a descriptor
    (so socket sinks copy it with ``sendfile``), closed with its switch."""


# -- sockets --------------------------------------------------------------------


class Socket(Protocol):
    """A socket whose options can be read and set (``ISocket``):
    ``Net.setsockopt`` and ``Net.getsockopt`` take one."""

    def setsockopt(self, opt: Sockopt, value: SockoptValue, /) -> None:
        """Set ``opt`` to ``value`` (already checked against ``opt.kind``).
        ``Net.InvalidOption`` if the socket or platform lacks it."""
        ...

    def getsockopt(self, opt: Sockopt, /) -> SockoptValue:
        """The value of ``opt``: its type depends on ``opt.kind`` (bool, int,
        float, str, ``None`` or int, a pair of ints)."""
        ...


class StreamSocket(TwoWay, Socket, Resource, Protocol):
    """A connected stream socket (``IStreamSocket``): what ``Net.connect``,
    ``Net.accept`` and ``Net.import_socket_stream`` return.

    A two-way flow with socket options, closed when its switch finishes (or by
    ``close()`` / ``with``). The gevent backend's also provide ``Fd``: get the
    descriptor with ``Net.fd(sock)``.
    """


class ListeningSocket(Socket, Resource, Protocol):
    """A socket accepting stream connections (``IListeningSocket``): what
    ``Net.listen`` returns, and ``Net.accept``/``run_server`` take."""

    def accept(self, sw: Switch, /) -> tuple[StreamSocket, Tcp | Unix]:
        """Block until a client connects: ``(connection, client address)``; the
        connection is closed when ``sw`` finishes. Cancellable."""
        ...

    def listening_addr(self) -> Tcp | Unix:
        """The address it listens on (with the real port if 0 was asked for)."""
        ...


class DatagramSocket(Shutdown, Socket, Resource, Protocol):
    """A UDP or Unix datagram socket (``IDatagramSocket``): what
    ``Net.datagram_socket`` returns, and ``Net.send``/``Net.recv`` take."""

    def send(self, bufs: list[Buffer], dst: Udp | Unix | None, /) -> None:
        """Send ``bufs`` as one datagram to ``dst`` (``None``: the connected peer)."""
        ...

    def recv(self, buf: memoryview, /) -> tuple[Udp | Unix, int]:
        """Block until a datagram arrives; copy it into ``buf`` (truncating):
        ``(sender, length)``."""
        ...


class Network(Protocol):
    """A way to make sockets and look up names (``INetwork``, Eio's ``Net.t``):
    ``env.net``, which every ``Net`` call that makes a socket takes first.

    The ``Net`` functions check the arguments before calling these methods and
    add context to their errors.
    """

    def listen(
        self, addr: Tcp | Unix, sw: Switch, backlog: int, reuse_addr: bool, reuse_port: bool, /
    ) -> ListeningSocket:
        """A socket listening on ``addr``, closed with ``sw``."""
        ...

    def connect(
        self,
        addr: Tcp | Unix,
        sw: Switch,
        bind_to: Tcp | Unix | None,
        options: list[tuple[Sockopt, SockoptValue]],
        /,
    ) -> StreamSocket:
        """A socket connected to ``addr`` (bound to ``bind_to`` first, ``options``
        set before connecting), closed with ``sw``. Cancellable."""
        ...

    def datagram_socket(
        self, addr: Udp | Unix | UdpAny, sw: Switch, reuse_addr: bool, reuse_port: bool, /
    ) -> DatagramSocket:
        """A datagram socket bound to ``addr``, or on an OS-chosen address for
        ``Sockaddr.UdpV4``/``UdpV6``; closed with ``sw``."""
        ...

    def getaddrinfo(self, host: str, service: str, /) -> Sequence[Tcp | Udp | Unix]:
        """The addresses ``host`` and ``service`` name (possibly none)."""
        ...

    def getnameinfo(self, addr: Tcp | Udp | Unix, /) -> tuple[str, str]:
        """``(host, service)`` names for ``addr``."""
        ...


# -- time, domains, signals ----------------------------------------------------------


class Clock(Protocol):
    """A source of time fibers can sleep on (``IClock``): ``env.clock``,
    ``env.mono_clock``, the mock clock; the ``Time`` functions take one."""

    def now(self) -> float:
        """The current time, in seconds."""
        ...

    def sleep_until(self, t: float, /) -> None:
        """Block until ``now() >= t``. Cancellable."""
        ...


class Alarm(Protocol):
    """A timed call an :class:`AlarmClock` will make (``IAlarm``)."""

    def cancel(self) -> None:
        """Do not make the call, if it was not made yet."""
        ...


class AlarmClock(Clock, Protocol):
    """A clock that can also ring (``IAlarmClock``): ``env.clock``,
    ``env.mono_clock`` and the mock clock are."""

    def call_at(self, t: float, fn: Callable[[], object], /) -> Alarm:
        """Call ``fn()`` once ``now() >= t``, outside any fiber (it must not block)."""
        ...


class SharedSemaphore(Protocol):
    """Permits shared by a domain and the domains it starts later
    (``DomainManager.semaphore``)."""

    def acquire(self) -> None:
        """Take a permit, blocking until one is free. Cancellable."""
        ...

    def release(self) -> None:
        """Give a permit back."""
        ...


class SharedCounters(Protocol):
    """Integer counters shared like :class:`SharedSemaphore` (``DomainManager.counters``)."""

    def add(self, i: int, delta: int, /) -> None:
        """Add ``delta`` to counter ``i`` (each counter written by one domain only)."""
        ...

    def values(self) -> list[int]:
        """Every counter's current value."""
        ...


class SharedEvent(Protocol):
    """A promise's resolution, seen from every domain (``DomainManager.share``)."""

    def await_(self) -> object:
        """Block until the promise is resolved (its value is not carried across
        domains). Cancellable."""
        ...


class DomainManager(Protocol):
    """Runs code in other domains (``IDomainManager``, Eio's ``Domain_manager``):
    ``env.domain_mgr`` (worker processes), for ``Domain_manager.run`` and
    ``Net.run_server(additional_domains=...)``."""

    def run(self, fn: Callable[[], T], /) -> T:
        """``fn()`` in a new domain: its result, or its exception raised here."""
        ...

    def semaphore(self, n: int, sw: Switch, /) -> SharedSemaphore:
        """``n`` permits shared with the domains started later; released with ``sw``."""
        ...

    def counters(self, n: int, sw: Switch, /) -> SharedCounters:
        """``n`` counters shared with the domains started later; released with ``sw``."""
        ...

    def share(self, promise: Promise[Any], sw: Switch, /) -> SharedEvent:
        """``promise``'s resolution, awaitable here and in domains started later."""
        ...


class Signals(Protocol):
    """Process signals (``ISignals``): ``env.signals``, for ``Signal.subscribe``."""

    def subscribe(self, signum: int, callback: Callable[[int], object], sw: Switch, /) -> None:
        """Call ``callback(signum)`` (from the hub; it must not block) each time
        ``signum`` arrives, until ``sw`` finishes."""
        ...


class Env(Protocol):
    """What ``greeneio.run`` gives ``main`` (Eio's ``env``): read-only attributes."""

    @property
    def net(self) -> Network:
        """TCP, UDP and Unix sockets; name lookup."""
        ...

    @property
    def clock(self) -> AlarmClock:
        """Wall-clock time (seconds since the epoch)."""
        ...

    @property
    def mono_clock(self) -> AlarmClock:
        """Monotonic time: use it for timeouts."""
        ...

    @property
    def stdin(self) -> Source:
        """Standard input (not closed by greeneio)."""
        ...

    @property
    def stdout(self) -> Sink:
        """Standard output (not closed by greeneio)."""
        ...

    @property
    def stderr(self) -> Sink:
        """Standard error (not closed by greeneio)."""
        ...

    @property
    def domain_mgr(self) -> DomainManager:
        """Worker processes, for ``Domain_manager.run`` and ``run_server``."""
        ...

    @property
    def signals(self) -> Signals:
        """Process signals, for ``Signal.subscribe``."""
        ...
