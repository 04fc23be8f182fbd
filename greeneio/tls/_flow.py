"""``TlsFlow``: a TLS session over any two-way flow, on ``ssl.MemoryBIO``.

Theory of operation
-------------------
* A ``TlsFlow`` owns one ``ssl.SSLObject`` and its two memory BIOs: ``_in``
  holds ciphertext read from the underlying flow that OpenSSL has not
  consumed yet, ``_out`` the ciphertext OpenSSL produced that is not sent yet.
  OpenSSL never blocks: an operation that needs input raises
  ``SSLWantReadError``, and the flow then *pumps*: it sends what ``_out``
  holds, reads once from the underlying flow into ``_in`` and tries again.
* Sending is serialised: ``_send_lock`` (one permit) is held while ciphertext
  goes out, so records leave in the order OpenSSL made them even when a reader
  and a writer pump at once. The holder drains ``_out`` until it is empty, so a
  reader that finds the lock taken leaves its own output to the holder and
  goes on reading (a reader never waits behind a writer stuck on a slow peer).
  Ciphertext taken from ``_out`` but not yet written (a write that was
  cancelled or failed halfway) is kept in ``_unsent`` and goes first next time:
  the stream of records stays whole.
* Reads decrypt straight into the caller's buffer. Raw reads go into one
  buffer per flow, small at first (a handshake, request/response traffic) and
  grown once a read fills it (bulk traffic).
* End of stream: the peer's close_notify makes reads raise ``EOFError``. An
  end of the underlying flow without one is written to ``_in`` as EOF, and
  OpenSSL then reports a ragged EOF: ``Tls.Error``, or ``EOFError`` when the
  flow was made with ``allow_ragged_eof``.
* Half-close: ``shutdown("send")`` sends close_notify (and shuts the
  underlying flow's sending side); reading goes on until the peer's
  close_notify. ``SSLObject.unwrap`` calls ``SSL_shutdown`` twice, and the
  second call fails fatally on application data already received, so the
  unread ciphertext is taken out of ``_in`` around it (and decrypted data
  OpenSSL still holds is kept in ``_plain``), then put back.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from greeneio import time as Time
from greeneio._core import _greenlet, cancel
from greeneio._core.cancel import Cancelled
from greeneio._core.semaphore import Semaphore
from greeneio._flows import COPY_CHUNK, Buffer, Closeable, copy_via_buffer
from greeneio.interfaces import IClose, IShutdown, ITwoWay
from greeneio.tls._errors import of_ssl_error, ragged_eof

__all__ = ["TlsFlow", "peer", "ssl_object"]

#: The first raw read buffer: a TLS record (16 KiB of data plus its overhead).
SMALL_READ = 16 * 1024 + 512
#: The raw read buffer once a read has filled the small one.
BULK_READ = COPY_CHUNK
#: The most plaintext one ``single_write`` encrypts.
MAX_WRITE = COPY_CHUNK
#: Buffers shorter than this are joined before encryption (fewer, fuller records).
JOIN_BELOW = 16 * 1024
#: How long ``close`` and a failed handshake try to send their last records.
FAREWELL_SECONDS = 1.0

_WantRead = ssl.SSLWantReadError
_ZeroReturn = ssl.SSLZeroReturnError
_SSLError = ssl.SSLError
_RAGGED = (ssl.SSLEOFError, ssl.SSLSyscallError)
#: Why a farewell's first try is cancelled: it must not wait.
_NO_WAIT = TimeoutError("TLS: sending without waiting")


@implementer(ITwoWay, IClose)
class TlsFlow(Closeable):
    """A TLS session over a two-way flow: a two-way flow itself (``Flow.*``,
    ``Buf_read``, ``Buf_write`` work on it), made by ``Tls.client_of_flow`` or
    ``Tls.server_of_flow`` once the handshake is done.

    It owns the underlying flow: ``close()`` sends close_notify (best effort)
    and closes both. ``Tls.alpn_protocol``, ``Tls.version``, ``Tls.cipher``,
    ``Tls.peer_certificate`` and ``Tls.server_hostname`` describe the session.
    """

    __slots__ = (
        "_closed",
        "_flow",
        "_in",
        "_out",
        "_peer",
        "_plain",
        "_ragged_ok",
        "_raw_eof",
        "_rbuf",
        "_recv_done",
        "_send_lock",
        "_sent_close",
        "_ssl",
        "_unsent",
    )

    def __init__(
        self,
        flow: Any,
        context: ssl.SSLContext,
        server_side: bool,
        host: str | None,
        allow_ragged_eof: bool,
        peer: str | None,
    ) -> None:
        self._flow = flow
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(
            self._in, self._out, server_side=server_side, server_hostname=host
        )
        self._ragged_ok = allow_ragged_eof
        self._rbuf = memoryview(bytearray(SMALL_READ))
        self._unsent: memoryview | bytes | None = None
        self._plain: memoryview | None = None
        self._send_lock = Semaphore(1)
        self._raw_eof = False
        self._recv_done = False
        self._sent_close = False
        self._closed = False
        self._peer = peer  # who is at the other end, for messages; or None

    # -- pumping ------------------------------------------------------------

    def handshake(self) -> None:
        """Run the handshake to its end. Raises ``ssl.SSLError`` as OpenSSL does
        (the caller adds context), after trying to send the alert that says why."""
        do_handshake = self._ssl.do_handshake
        while True:
            try:
                do_handshake()
                break
            except _WantRead:
                self._flush()
                self._fill()
            except _SSLError:
                if self._out.pending:
                    self._farewell()
                raise
        self._flush()

    def _fill(self) -> None:
        """Read once from the underlying flow into ``_in`` (EOF is written as EOF),
        after sending what OpenSSL has to say (unless another fiber is sending)."""
        if self._raw_eof:  # OpenSSL asks for more after the end (a renegotiation)
            raise ragged_eof()
        if (self._out.pending or self._unsent is not None) and self._send_lock.get_value():
            self._flush()
        view = self._rbuf
        try:
            n = self._flow.single_read(view)
        except EOFError:
            self._raw_eof = True
            self._in.write_eof()
            return
        if n == len(view):
            self._in.write(view)
            if n < BULK_READ:  # bulk traffic: read more at a time from now on
                self._rbuf = memoryview(bytearray(BULK_READ))
        else:
            self._in.write(view[:n])

    def _flush(self) -> None:
        """Send every record OpenSSL has made, in order. Blocks; cancellable."""
        lock = self._send_lock
        lock.acquire()
        try:
            flow = self._flow
            out = self._out
            while True:
                data = self._unsent
                if data is None:
                    if not out.pending:
                        return
                    data = self._unsent = out.read()
                n = flow.single_write([data])
                self._unsent = None if n >= len(data) else memoryview(data)[n:]
        finally:
            lock.release()

    def _farewell(self) -> None:
        """Send the last records (close_notify, an alert), best effort: what goes
        out without waiting, then, if the peer's window is full, wait at most
        ``FAREWELL_SECONDS`` for the rest. Never raises."""
        try:
            if _greenlet.current().cc.reason is not None:
                self._flush()  # cancelled already: every wait raises at once
                return
            cancel.sub(self._flush_without_waiting)
            if self._out.pending or self._unsent is not None:
                Time.with_timeout(_greenlet.current().sched.clock, FAREWELL_SECONDS, self._flush)
        except (Exception, Cancelled):
            pass  # the peer is gone or stuck; nothing more to do for it

    def _flush_without_waiting(self, cc: cancel.CancelContext) -> None:
        cc.cancel(_NO_WAIT)  # a cancelled context makes every wait raise at once
        with contextlib.suppress(Cancelled):
            self._flush()

    # -- ISource --------------------------------------------------------------

    def single_read(self, buf: memoryview) -> int:
        plain = self._plain
        if plain is not None:
            return self._read_kept(plain, buf)
        if self._recv_done:
            raise EOFError("end of TLS stream")
        ssl_obj = self._ssl
        incoming = self._in
        read = _reader(ssl_obj)
        while True:
            if not (incoming.pending or self._raw_eof or ssl_obj.pending()):
                self._fill()  # nothing to decrypt yet: a read would only say so
                continue
            try:
                n = read(len(buf), buf)
            except _WantRead:  # part of a record: read the rest
                self._fill()
                continue
            except _ZeroReturn:  # close_notify, after we sent ours
                n = 0
            except _RAGGED as e:
                if not self._raw_eof:
                    raise of_ssl_error(e) from e
                self._recv_done = True
                if self._ragged_ok:
                    raise EOFError("end of stream (no TLS close_notify)") from None
                raise ragged_eof(e) from e
            except _SSLError as e:
                raise of_ssl_error(e) from e
            if n:
                return n
            self._recv_done = True  # close_notify
            raise EOFError("end of TLS stream")

    def _read_kept(self, plain: memoryview, buf: memoryview) -> int:
        n = min(len(buf), len(plain))
        buf[:n] = plain[:n]
        self._plain = plain[n:] if n < len(plain) else None
        return n

    # -- ISink ------------------------------------------------------------------

    def single_write(self, bufs: list[Buffer]) -> int:
        data = bufs[0] if len(bufs) == 1 and 0 < len(bufs[0]) <= MAX_WRITE else _prefix(bufs)
        if not data:
            return 0
        write = self._ssl.write
        while True:
            try:
                n = write(data)
                break
            except _WantRead:  # a renegotiation (TLS 1.2) wants the peer's answer
                self._fill()
            except _SSLError as e:
                raise of_ssl_error(e) from e
        self._flush()
        return n

    def copy(self, src: Any) -> None:
        copy_via_buffer(src, self)

    # -- IShutdown, IClose --------------------------------------------------------

    def shutdown(self, cmd: str) -> None:
        if cmd in ("receive", "all"):
            self._recv_done = True
            self._plain = None
        if cmd in ("send", "all") and not self._sent_close:
            try:
                self._close_notify(keep_input=not self._recv_done)
            except _SSLError as e:
                raise of_ssl_error(e) from e
            self._flush()
            if IShutdown.providedBy(self._flow):
                self._flow.shutdown("send")

    def _close_notify(self, keep_input: bool) -> None:
        """Queue close_notify in ``_out``; with ``keep_input``, what was received
        stays readable (see the theory of operation), else it is dropped."""
        self._sent_close = True
        ssl_obj = self._ssl
        if ssl_obj.pending():  # decrypted data OpenSSL holds: keep it, or drop it
            kept = bytearray()
            read = _reader(ssl_obj)
            while ssl_obj.pending():
                chunk = memoryview(bytearray(ssl_obj.pending()))
                kept += chunk[: read(len(chunk), chunk)]
            if keep_input:
                self._plain = memoryview(kept)
        saved = self._in.read() if self._in.pending else None
        try:
            ssl_obj.unwrap()  # the first SSL_shutdown queues close_notify
        except _WantRead:
            pass  # the second wants the peer's close_notify: not waited for
        finally:
            if saved and keep_input:
                self._in.write(saved)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if not self._sent_close:
                with contextlib.suppress(_SSLError):  # a failed session has nothing to close
                    self._close_notify(keep_input=False)
            if self._out.pending or self._unsent is not None:
                self._farewell()
        finally:
            self._flow.close()

    def __repr__(self) -> str:
        return f"<TlsFlow over {self._flow!r}>"


def _prefix(bufs: list[Buffer]) -> Buffer:
    """What one write encrypts: the first non-empty buffer (at most
    ``MAX_WRITE`` bytes), or, when it is small, it and the buffers after it
    joined, up to that size (fewer, fuller records)."""
    i = 0
    while i < len(bufs) and not len(bufs[i]):
        i += 1
    if i == len(bufs):
        return b""
    first = bufs[i]
    size = len(first)
    if size >= JOIN_BELOW or i + 1 == len(bufs):
        return first if size <= MAX_WRITE else memoryview(first)[:MAX_WRITE]
    parts = [first]
    for b in bufs[i + 1 :]:
        room = MAX_WRITE - size
        if room <= 0:
            break
        if len(b) > room:
            parts.append(memoryview(b)[:room])
            break
        parts.append(b)
        size += len(b)
    return b"".join(parts)


def _reader(ssl_obj: ssl.SSLObject) -> Callable[[int, memoryview], int]:
    """``ssl_obj.read``, typed as it behaves when given a buffer: it decrypts into
    the buffer and returns the count (typeshed knows only the ``bytes`` form)."""
    return ssl_obj.read  # type: ignore[return-value]


def ssl_object(t: TlsFlow) -> ssl.SSLObject:
    """The session of ``t`` (for the ``Tls`` info getters)."""
    return t._ssl


def peer(t: TlsFlow) -> str | None:
    """Who is at the other end of ``t``, as said in messages (None: unknown)."""
    return t._peer
