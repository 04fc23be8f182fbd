"""The public surface: the names SPEC.md promises, and no private leaks."""

from __future__ import annotations

import greeneio
import greeneio.mock

EXPECTED_TOP = {
    "Buf_read",
    "Buf_write",
    "Cancel",
    "Domain_manager",
    "Exn",
    "Fiber",
    "Flow",
    "Fs",
    "Net",
    "Promise",
    "Switch",
    "Time",
    "run",
    "traceln",
}


def test_all_lists_exactly_the_public_names():
    assert set(greeneio.__all__) == EXPECTED_TOP
    for name in greeneio.__all__:
        assert getattr(greeneio, name) is not None


def test_module_members_exist():
    from greeneio import Buf_read, Cancel, Exn, Fiber, Flow, Promise, Switch, Time

    for mod, names in [
        (
            Fiber,
            "fork fork_daemon fork_promise both pair all first any n_any await_cancel "
            "check is_cancelled yield_ List",
        ),
        (Fiber.List, "map iter filter filter_map"),
        (Switch, "run run_protected fail check get_error on_release on_release_cancellable"),
        (
            Promise,
            "create create_resolved resolve try_resolve resolve_ok resolve_error "
            "await_ await_exn peek is_resolved",
        ),
        (Cancel, "Cancelled protect sub cancel"),
        (Exn, "Io add_context combine"),
        (Time, "now sleep sleep_until with_timeout with_timeout_exn Timeout"),
        (Time.Timeout, "seconds none"),
        (
            Flow,
            "single_read read_exact single_write write copy copy_string string_source "
            "cstruct_source buffer_sink null shutdown close read_all",
        ),
        (
            Buf_read,
            "of_flow parse_exn line lines take take_all take_while take_while1 skip "
            "skip_while char any_char peek_char string uint8 BE LE at_end_of_input "
            "end_of_input peek ensure consume BufferLimitExceeded ParseError",
        ),
        (
            greeneio.Net,
            "Ipaddr Sockaddr Sockopt connect with_tcp_connect listen accept accept_fork "
            "accept_sub listening_addr run_server datagram_socket send recv getaddrinfo "
            "getaddrinfo_stream getaddrinfo_datagram getnameinfo setsockopt getsockopt close "
            "import_socket_stream import_socket_listening import_socket_datagram "
            "socketpair_stream socketpair_datagram fd Error ConnectionReset ConnectionFailure "
            "Refused NoMatchingAddresses ConnectionTimeout AddressLookupFailed InvalidOption "
            "ServerStats",
        ),
        (
            greeneio.Net.Sockopt,
            "SO_REUSEADDR TCP_NODELAY SO_KEEPALIVE SO_SNDBUF SO_RCVBUF "
            "SO_LINGER SO_RCVTIMEO IPV6_ONLY SO_REUSEPORT TCP_KEEPIDLE SO_BROADCAST",
        ),
        (greeneio.Fs, "NotFound PermissionDenied AlreadyExists"),
        (greeneio.Net.Sockaddr, "Tcp Udp Unix UdpV4 UdpV6 parse"),
        (greeneio.Net.Ipaddr, "V4 V6 of_raw parse fold of_ipaddress to_ipaddress"),
        (greeneio.mock, "Backend Deadlock Flow Net Return Raise Run Clock"),
        (greeneio.mock.Net, "make on_getaddrinfo on_connect listening_socket on_accept"),
        (greeneio.mock.Domain_manager, "run create"),
        (greeneio.Domain_manager, "run"),
        (Fiber, "create_key get with_binding without_binding"),
    ]:
        missing = [n for n in names.split() if not hasattr(mod, n)]
        assert not missing, (mod, missing)


def test_cancelled_is_base_exception_not_exception():
    assert issubclass(greeneio.Cancel.Cancelled, BaseException)
    assert not issubclass(greeneio.Cancel.Cancelled, Exception)


def test_deadlock_is_runtime_error():
    assert issubclass(greeneio.mock.Deadlock, RuntimeError)


def test_py_typed_is_shipped():
    import importlib.resources

    assert importlib.resources.files("greeneio").joinpath("py.typed").is_file()


def test_net_errors_are_io_and_builtin_kinds():
    import socket

    from greeneio import Exn, Fs, Net

    pairs = [
        (Net.ConnectionReset, ConnectionResetError),
        (Net.Refused, ConnectionRefusedError),
        (Net.ConnectionTimeout, TimeoutError),
        (Net.AddressLookupFailed, socket.gaierror),
        (Fs.NotFound, FileNotFoundError),
        (Fs.PermissionDenied, PermissionError),
        (Fs.AlreadyExists, FileExistsError),
    ]
    for ours, builtin in pairs:
        assert issubclass(ours, Exn.Io) and issubclass(ours, builtin), ours
    for sub in (Net.Refused, Net.NoMatchingAddresses, Net.ConnectionTimeout):
        assert issubclass(sub, Net.ConnectionFailure)
    assert issubclass(Net.ConnectionFailure, Net.Error)
