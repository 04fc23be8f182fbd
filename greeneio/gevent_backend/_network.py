"""``env.net`` on gevent: making sockets, and name lookups on gevent's resolver.

Every function here either returns a socket attached to ``sw`` or leaves
nothing open: a half-made socket is closed before the error propagates.
Address and argument validation is done by ``greeneio.net`` before we are
called; OS errors are translated by ``_errors``.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import Any, NoReturn

import gevent.socket
from zope.interface import implementer

from greeneio import fs as Fs
from greeneio._core.exn import Io
from greeneio._core.switch import Switch
from greeneio.gevent_backend import _sockopt
from greeneio.gevent_backend._addr import check_unix_path, family_of, from_os, to_os
from greeneio.gevent_backend._errors import translate, translate_fs, translate_gai
from greeneio.gevent_backend._sockets import (
    DatagramSocket,
    ListeningSocket,
    RawSocket,
    StreamSocket,
    UnixPath,
)
from greeneio.interfaces import INetwork
from greeneio.net.sockaddr import Tcp, Udp, UdpV4, UdpV6, Unix
from greeneio.net.sockopt import Sockopt

__all__ = ["Network"]

_INPROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EALREADY)


def _os_error(e: OSError, addr: Any) -> BaseException:
    if isinstance(addr, Unix):
        return translate_fs(e, addr.path)
    return translate(e)


def _reraise(e: BaseException, addr: Any) -> NoReturn:
    """Raise ``e``, translated if it is a raw ``OSError``."""
    if isinstance(e, OSError) and not isinstance(e, Io):
        raise _os_error(e, addr) from e
    raise e


def _check_path(addr: Any, name: str = "addr") -> None:
    if isinstance(addr, Unix):
        check_unix_path(addr.path, name)


def _remove_stale_socket(path: str) -> None:
    """With ``reuse_addr``: remove a socket file left at ``path``; refuse any other file."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise translate_fs(e, path) from e
    if not stat.S_ISSOCK(mode):
        raise Fs.AlreadyExists(
            f"Fs Already_exists: {path!r} exists and is not a socket (left alone)"
        )
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise translate_fs(e, path) from e


def _bind(sock: socket.socket, addr: Tcp | Udp | Unix) -> UnixPath | None:
    try:
        sock.bind(to_os(addr))
    except OSError as e:
        raise _os_error(e, addr) from e
    if isinstance(addr, Unix) and not addr.is_abstract:
        return UnixPath(addr.path)
    return None


def _set_reuse(sock: socket.socket, reuse_addr: bool, reuse_port: bool) -> None:
    if reuse_addr and sock.family != socket.AF_UNIX:
        _sockopt.setsockopt(sock, Sockopt.SO_REUSEADDR, True)
    if reuse_port:
        _sockopt.setsockopt(sock, Sockopt.SO_REUSEPORT, True)


@implementer(INetwork)
class Network:
    """The host's network: TCP, UDP and Unix-domain sockets."""

    __slots__ = ()

    def listen(
        self, addr: Tcp | Unix, sw: Switch, backlog: int, reuse_addr: bool, reuse_port: bool
    ) -> ListeningSocket:
        _check_path(addr)
        sw.check()
        if isinstance(addr, Unix) and reuse_addr and not addr.is_abstract:
            _remove_stale_socket(addr.path)
        sock = RawSocket(family_of(addr), socket.SOCK_STREAM)
        try:
            _set_reuse(sock, reuse_addr, reuse_port)
            path = _bind(sock, addr)
            try:
                sock.listen(backlog)
                listening = ListeningSocket(sock, path=path)
            except BaseException:
                if path is not None:
                    path.unlink()
                raise
        except BaseException as e:
            sock.close()
            _reraise(e, addr)
        _attach(listening, sw)
        return listening

    def connect(
        self,
        addr: Tcp | Unix,
        sw: Switch,
        bind_to: Tcp | Unix | None,
        options: list[tuple[Sockopt, Any]],
    ) -> StreamSocket:
        _check_path(addr)
        if bind_to is not None:
            _check_path(bind_to, "bind_to")
        sw.check()
        conn = StreamSocket(RawSocket(family_of(addr), socket.SOCK_STREAM))
        try:
            raw = conn.raw
            for opt, value in options:
                _sockopt.setsockopt(raw, opt, value)
            if bind_to is not None:
                _bind(raw, bind_to)
            target = to_os(addr)
            while True:
                err = raw.connect_ex(target)
                if err in _INPROGRESS:
                    conn.wait_writable()
                    err = raw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err == errno.EAGAIN and isinstance(addr, Unix):
                        continue  # the listener's backlog was full: try again
                if err and err != errno.EISCONN:
                    raise OSError(err, os.strerror(err))
                break
        except BaseException as e:
            conn.close()
            _reraise(e, addr)
        _attach(conn, sw)
        return conn

    def datagram_socket(
        self, addr: Udp | Unix | Any, sw: Switch, reuse_addr: bool, reuse_port: bool
    ) -> DatagramSocket:
        _check_path(addr)
        sw.check()
        if addr is UdpV4 or addr is UdpV6:
            family = socket.AF_INET if addr is UdpV4 else socket.AF_INET6
            sock = RawSocket(family, socket.SOCK_DGRAM)
            dgram = DatagramSocket(sock)
        else:
            if isinstance(addr, Unix) and reuse_addr and not addr.is_abstract:
                _remove_stale_socket(addr.path)
            sock = RawSocket(family_of(addr), socket.SOCK_DGRAM)
            try:
                _set_reuse(sock, reuse_addr, reuse_port)
                dgram = DatagramSocket(sock, path=_bind(sock, addr))
            except BaseException:
                sock.close()
                raise
        _attach(dgram, sw)
        return dgram

    def getaddrinfo(self, host: str, service: str) -> list[Tcp | Udp]:
        try:
            infos = gevent.socket.getaddrinfo(host, service or None)
        except socket.gaierror as e:
            raise translate_gai(e) from e
        except OSError as e:
            raise translate(e) from e
        out: list[Tcp | Udp] = []
        for family, kind, _proto, _name, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            if kind == socket.SOCK_STREAM:
                out.append(from_os(family, sockaddr))  # type: ignore[arg-type]
            elif kind == socket.SOCK_DGRAM:
                out.append(from_os(family, sockaddr, datagram=True))  # type: ignore[arg-type]
        return out

    def getnameinfo(self, addr: Tcp | Udp | Unix) -> tuple[str, str]:
        if isinstance(addr, Unix):
            return (addr.path, "")
        flags = socket.NI_DGRAM if isinstance(addr, Udp) else 0
        try:
            host, service = gevent.socket.getnameinfo(to_os(addr), flags)
        except socket.gaierror as e:
            raise translate_gai(e) from e
        except OSError as e:
            raise translate(e) from e
        return host, service

    def __repr__(self) -> str:
        return "<gevent network>"


def _attach(sock: Any, sw: Switch) -> None:
    try:
        sock.attach(sw)
    except BaseException:
        sock.close()
        raise
