"""The public surface: the names SPEC.md promises, and no private leaks."""

from __future__ import annotations
import __future__

import importlib
import types
import typing

import pytest

import greeneio
import greeneio.mock

EXPECTED_TOP = {
    "Buf_read",
    "Buf_write",
    "Cancel",
    "Condition",
    "Domain_manager",
    "Exn",
    "Executor_pool",
    "Fiber",
    "Flow",
    "Fs",
    "Lazy",
    "Mutex",
    "Net",
    "Pool",
    "Promise",
    "Semaphore",
    "Signal",
    "Stream",
    "Switch",
    "Time",
    "Tls",
    "run",
    "traceln",
}

# Every public name of every public module: SPEC.md's, plus what the API
# reference (docs/reference/) documents. Adding a public name means adding it
# here, to the module's __all__ and to the reference.
DOCUMENTED = {
    "Buf_read": "BE BufferLimitExceeded LE ParseError Reader any_char as_flow at_end_of_input "
    "bind char consume end_of_input ensure line lines map of_flow of_string pair parse_exn "
    "parse_string_exn peek peek_char return_ seq skip skip_while skip_while1 string take "
    "take_all take_while take_while1 uint8",
    "Buf_write": "BE LE Writer abort buffered bytes char close create flush printf string uint8 "
    "with_flow",
    "Cancel": "CancelContext Cancelled cancel check get_error protect sub",
    "Domain_manager": "run",
    "Exn": "Io OsIo add_context combine is_multiple",
    "Fiber": "Key List all any await_cancel both check create_key first fork fork_daemon "
    "fork_promise fork_seq get is_cancelled n_any pair with_binding without_binding yield_",
    "Flow": "buffer_sink close copy copy_string cstruct_source null read_all read_exact "
    "shutdown single_read single_write string_source write",
    "Fs": "AlreadyExists Error NotFound PermissionDenied open_in",
    "Net": "AddressLookupFailed ConnectionFailure ConnectionReset ConnectionTimeout Error "
    "InvalidOption Ipaddr NoMatchingAddresses Refused ServerStats Sockaddr Sockopt accept "
    "accept_fork accept_sub close connect datagram_socket fd getaddrinfo getaddrinfo_datagram "
    "getaddrinfo_stream getnameinfo getsockopt import_socket_datagram import_socket_listening "
    "import_socket_stream listen listening_addr recv recv_msg_with_fds run_server send "
    "send_msg setsockopt socketpair_datagram socketpair_stream with_tcp_connect",
    "Signal": "subscribe",
    "Tls": "CertificateError Error TlsFlow alpn_protocol cipher client_of_flow handler "
    "peer_certificate server_hostname server_of_flow version",
    "Semaphore": "Semaphore acquire get_value make release",
    "Lazy": "Lazy force from_fun from_val",
    "Executor_pool": "ExecutorPool create submit submit_exn submit_fork",
    "Stream": "Closed Stream add close create is_empty length take take_nonblocking",
    "Mutex": "Mutex Poisoned create lock try_lock unlock use_ro use_rw",
    "Condition": "Condition await_ await_no_mutex broadcast create loop_no_mutex",
    "Pool": "Pool create use",
    "Time": "Timeout TimeoutValue now sleep sleep_until with_timeout with_timeout_exn",
    "mock": "Backend Clock Deadlock Domain_manager Flow MockEnv MockFlow MockListeningSocket "
    "MockNetwork Net Raise Return Run",
    "testing": "BACKENDS capture_traces describe_exc run transcript",
    "interfaces": "IAlarm IAlarmClock IClock IClose IDatagramSocket IDomainManager IFd "
    "IFdPassing IFiles IListeningSocket INetwork INonblockingSource IShutdown ISignals ISink "
    "ISocket ISource "
    "IStreamSocket ITwoWay IUnixNet",
    "compat": "LegacyServer patch_all serve_socketserver_handler",
    "http": "FORBIDDEN_TRAILERS Body ClientDisconnected Handler HttpError Limits Request Responder "
    "Shedding format_date reason_phrase serve_connection",
    "wsgi": "AccessLog FileWrapper handler",
    "protocols": "Alarm AlarmClock Buffer Clock Close DatagramSocket DomainManager Env Fd "
    "FdResource FileSource ListeningSocket Network Resource SharedCounters SharedEvent "
    "SharedSemaphore Shutdown ShutdownCommand Signals Sink Socket SockoptValue Source "
    "StreamSocket TwoWay",
}


def _public_module(name: str) -> types.ModuleType:
    if name in ("mock", "testing", "interfaces", "protocols", "compat", "http", "wsgi"):
        return importlib.import_module(f"greeneio.{name}")
    mod = getattr(greeneio, name)
    assert isinstance(mod, types.ModuleType), name
    return mod


def undocumented(mod: types.ModuleType) -> list[str]:
    """Public-looking names of ``mod`` that are not in its ``__all__``.

    A name counts when it does not start with ``_`` and is defined by the
    module itself (a function or class whose ``__module__`` is ``mod``), or is
    a plain value (a constant); names imported from elsewhere for the
    module's own use, submodules and type variables do not.
    """
    exported = set(getattr(mod, "__all__", ()))
    found = []
    for name, value in vars(mod).items():
        if name.startswith("_") or name in exported or name == "TYPE_CHECKING":
            continue
        if isinstance(value, types.ModuleType | typing.TypeVar | __future__._Feature):
            continue
        defined_here = getattr(value, "__module__", None) == mod.__name__
        if (callable(value) or isinstance(value, types.UnionType)) and not defined_here:
            continue
        found.append(name)
    return sorted(found)


def test_all_lists_exactly_the_public_names():
    assert set(greeneio.__all__) == EXPECTED_TOP
    for name in greeneio.__all__:
        assert getattr(greeneio, name) is not None


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_public_module_exports_exactly_its_documented_names(name):
    mod = _public_module(name)
    assert sorted(mod.__all__) == sorted(DOCUMENTED[name].split())
    assert undocumented(mod) == []
    for attr in mod.__all__:
        assert hasattr(mod, attr), attr


def test_an_undocumented_public_name_is_caught():
    mod = types.ModuleType("greeneio.fake")
    mod.__all__ = ["documented"]

    def documented() -> None: ...

    def helper() -> None: ...

    documented.__module__ = helper.__module__ = "greeneio.fake"
    mod.documented = documented
    mod.helper = helper
    mod._private = helper
    mod.CONSTANT = 3
    assert undocumented(mod) == ["CONSTANT", "helper"]


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
