"""``Net.with_tcp_connect``: look a host up, connect to one of its TCP addresses.

Two strategies. The default (Eio's) tries the addresses one after another.
With ``happy_eyeballs_delay`` (RFC 8305) the addresses are interleaved by
family and raced: the next attempt starts when the previous one fails or the
delay passes, the first connection made wins, and the others are cancelled
(closing their sockets). Either way a total failure raises the last error,
with every ``(address, error)`` kept in its ``.attempts``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar, overload

from greeneio import time as Time
from greeneio._core import fiber as Fiber
from greeneio._core.exn import Io, add_context
from greeneio._core.promise import Promise, Resolver
from greeneio._core.switch import Switch
from greeneio.net._api import _net_arg, connect
from greeneio.net.errors import AddressLookupFailed, ConnectionTimeout, NoMatchingAddresses
from greeneio.net.sockaddr import Tcp
from greeneio.protocols import Network, StreamSocket
from greeneio.tls._api import client_of_flow

if TYPE_CHECKING:
    import ssl

    from greeneio.tls import TlsFlow

T = TypeVar("T")

__all__ = ["with_tcp_connect"]

Attempts = list[tuple[Tcp, BaseException]]


def _timeout_arg(timeout: object) -> Time.TimeoutValue:
    if not isinstance(timeout, Time.TimeoutValue):
        raise TypeError(
            "Net.with_tcp_connect: timeout must be Time.Timeout.seconds(clock, s) "
            f"or Time.Timeout.none, not {timeout!r}"
        )
    return timeout


def _delay_arg(delay: object, timeout: Time.TimeoutValue) -> Time.TimeoutValue | None:
    if delay is None:
        return None
    if isinstance(delay, Time.TimeoutValue):
        if delay.seconds is None:
            raise ValueError("Net.with_tcp_connect: happy_eyeballs_delay must not be Timeout.none")
        return delay
    if isinstance(delay, bool) or not isinstance(delay, int | float):
        raise TypeError(
            "Net.with_tcp_connect: happy_eyeballs_delay must be seconds or "
            f"Time.Timeout.seconds(clock, s), not {delay!r}"
        )
    if delay < 0:
        raise ValueError(f"Net.with_tcp_connect: happy_eyeballs_delay must be >= 0, not {delay}")
    if timeout.clock is None:
        raise TypeError(
            "Net.with_tcp_connect: a happy_eyeballs_delay in seconds needs a clock: pass "
            "Time.Timeout.seconds(env.mono_clock, delay), or a timeout with a clock"
        )
    return Time.Timeout.seconds(timeout.clock, delay)


@overload
def with_tcp_connect(
    net: Network,
    fn: Callable[[StreamSocket], T],
    *,
    host: str,
    service: str,
    timeout: Time.TimeoutValue = ...,
    happy_eyeballs_delay: float | Time.TimeoutValue | None = ...,
    tls: None = ...,
) -> T: ...


@overload
def with_tcp_connect(
    net: Network,
    fn: Callable[[TlsFlow], T],
    *,
    host: str,
    service: str,
    timeout: Time.TimeoutValue = ...,
    happy_eyeballs_delay: float | Time.TimeoutValue | None = ...,
    tls: bool | ssl.SSLContext,
) -> T: ...


def with_tcp_connect(
    net: Network,
    fn: Callable[[StreamSocket], T] | Callable[[TlsFlow], T],
    *,
    host: str,
    service: str,
    timeout: Time.TimeoutValue = Time.Timeout.none,
    happy_eyeballs_delay: float | Time.TimeoutValue | None = None,
    tls: bool | ssl.SSLContext | None = None,
) -> T:
    """Connect to ``host``:``service`` over TCP, return ``fn(conn)``; ``conn`` is
    closed when ``fn`` returns or fails.

    ``timeout`` limits each attempt (and the TLS handshake). Raises
    ``Net.AddressLookupFailed`` when the name is unknown,
    ``Net.NoMatchingAddresses`` when it has no TCP address, else the last
    attempt's error (``Net.ConnectionTimeout`` for a timeout), with
    ``.attempts`` and context ``connecting to "host":service``.

    ``tls=True`` (a default, verifying ``ssl`` context) or an
    ``ssl.SSLContext`` makes ``conn`` a ``Tls.TlsFlow`` to ``host`` (SNI and
    name check against ``host``); a failed handshake raises ``Tls.Error``
    (``Tls.CertificateError`` for a certificate), closing the connection.
    """
    net = _net_arg(net, "with_tcp_connect")
    if not callable(fn):
        raise TypeError(f"Net.with_tcp_connect: fn must be callable, not {fn!r}")
    if not isinstance(host, str) or not isinstance(service, str):
        raise TypeError(
            f"Net.with_tcp_connect: host and service must be str, not {host!r}, {service!r}"
        )
    timeout = _timeout_arg(timeout)
    delay = _delay_arg(happy_eyeballs_delay, timeout)
    use_tls, context = _tls_arg(tls)
    with Switch(name="with_tcp_connect") as sw:
        try:
            addrs = _tcp_addresses(net, host, service)
            if delay is None:
                conn = _one_by_one(net, addrs, timeout, sw)
            else:
                conn = _race(net, _interleave(addrs), timeout, delay, sw)
            secure = _handshake(conn, host, context, timeout) if use_tls else None
        except Io as e:
            add_context(e, f'connecting to "{host}":{service}')
            raise  # as it is: its backend error stays its __cause__
        if secure is not None:
            with secure:  # close_notify, then the socket
                return fn(secure)  # type: ignore[arg-type]
        return fn(conn)  # type: ignore[arg-type]


def _tls_arg(tls: object) -> tuple[bool, ssl.SSLContext | None]:
    # (whether to use TLS, the context: None for Tls's default, which verifies)
    if tls is None or tls is False:
        return False, None
    if tls is True:
        return True, None
    import ssl  # only when TLS is asked for (see greeneio.tls: never at import)

    if not isinstance(tls, ssl.SSLContext):
        raise TypeError(
            f"Net.with_tcp_connect: tls must be None, True or an ssl.SSLContext, not {tls!r}"
        )
    return True, tls


def _handshake(
    conn: StreamSocket, host: str, context: ssl.SSLContext | None, timeout: Time.TimeoutValue
) -> TlsFlow:
    try:
        return timeout.run_exn(lambda: client_of_flow(conn, host=host, context=context))
    except Time.Timeout as e:
        raise ConnectionTimeout("Net Connection_failure Timeout (TLS handshake)") from e


def _tcp_addresses(net: Network, host: str, service: str) -> list[Tcp]:
    found = net.getaddrinfo(host, service)
    if not found:
        raise AddressLookupFailed("NONAME")
    tcp = [a for a in found if isinstance(a, Tcp)]
    if not tcp:
        listed = ", ".join(str(a) for a in found)
        raise NoMatchingAddresses(f"{NoMatchingAddresses.kind} (no TCP address in: {listed})")
    return tcp


def _attempt(net: Network, addr: Tcp, timeout: Time.TimeoutValue, sw: Switch) -> StreamSocket:
    try:
        return timeout.run_exn(lambda: connect(net, addr, sw=sw))
    except Time.Timeout as e:
        raise ConnectionTimeout() from e


def _failed(attempts: Attempts) -> BaseException:
    last = attempts[-1][1]
    last.attempts = list(attempts)  # type: ignore[attr-defined]
    return last


def _one_by_one(
    net: Network, addrs: list[Tcp], timeout: Time.TimeoutValue, sw: Switch
) -> StreamSocket:
    attempts: Attempts = []
    for addr in addrs:
        try:
            return _attempt(net, addr, timeout, sw)
        except Io as e:
            attempts.append((addr, e))
    raise _failed(attempts)


def _interleave(addrs: list[Tcp]) -> list[Tcp]:
    """RFC 8305 §4: alternate address families, starting with the first one's."""
    first = len(addrs[0].ip.raw)
    same = [a for a in addrs if len(a.ip.raw) == first]
    other = [a for a in addrs if len(a.ip.raw) != first]
    out: list[Tcp] = []
    for i in range(max(len(same), len(other))):
        out.extend(x[i] for x in (same, other) if i < len(x))
    return out


def _race(
    net: Network,
    addrs: list[Tcp],
    timeout: Time.TimeoutValue,
    delay: Time.TimeoutValue,
    sw: Switch,
) -> StreamSocket:
    attempts: Attempts = []
    done: Promise[StreamSocket]
    done, set_done = Promise.create("happy eyeballs")

    def attempt(addr: Tcp, set_failed: Resolver[None]) -> None:
        try:
            conn = _attempt(net, addr, timeout, sw)
        except Io as e:
            attempts.append((addr, e))
            Promise.resolve(set_failed, None)
            if len(attempts) == len(addrs):
                Promise.resolve_error(set_done, _failed(attempts))
            return
        if not Promise.try_resolve(set_done, conn):
            conn.close()  # another attempt won in the same instant

    def launch() -> NoReturn:
        with Switch(name="happy eyeballs attempts") as attempts_sw:
            for i, addr in enumerate(addrs):
                failed, set_failed = Promise.create()
                Fiber.fork(attempt, addr, set_failed, sw=attempts_sw)
                if i + 1 < len(addrs):
                    Fiber.first(failed.await_, delay.sleep)
            Fiber.await_cancel()  # until an attempt wins or all fail (ending the race)
        # Not reached: await_cancel only raises (it is typed "-> None", not NoReturn).
        raise AssertionError("Fiber.await_cancel returned")

    return Fiber.first(done.await_, launch)
