"""OS errors from stdio and file reads come out as greeneio errors with context."""

from __future__ import annotations

import os

import pytest

import greeneio
from greeneio import Exn, Flow, Fs, Net, Switch
from greeneio.gevent_backend._stdio import FdSink, FdSource


def test_writing_to_a_pipe_with_no_reader_is_connection_reset_with_context():
    r, w = os.pipe()
    os.close(r)
    sink = FdSink(w, "stdout")

    def main(env: object) -> None:
        with pytest.raises(Net.ConnectionReset) as info:
            Flow.copy_string("hello", sink)
        e = info.value
        assert isinstance(e, Exn.Io)
        assert e.context == ["writing to stdout"]
        assert isinstance(e.backend, BrokenPipeError)
        assert e.__cause__ is e.backend

    try:
        greeneio.run(main)
    finally:
        os.close(w)


def test_reading_a_closed_descriptor_is_an_io_error_with_context():
    r, w = os.pipe()
    os.close(w)
    source = FdSource(r, "stdin")
    os.close(r)  # now EBADF

    def main(env: object) -> None:
        with pytest.raises(Net.Error) as info:
            Flow.single_read(source, bytearray(10))
        assert info.value.context == ["reading stdin"]
        assert isinstance(info.value.backend, OSError)

    greeneio.run(main)


def test_reading_a_directory_opened_as_a_file_is_an_fs_error(tmp_path):
    def main(env: object) -> None:
        with Switch() as sw:
            f = Fs.open_in(tmp_path, sw=sw)
            with pytest.raises(Fs.Error) as info:
                Flow.read_all(f)
        e = info.value
        assert "Unix_error (EISDIR)" in str(e)
        assert isinstance(e.backend, IsADirectoryError)
        assert e.__cause__ is e.backend

    greeneio.run(main)


def test_open_in_on_the_mock_backend_says_there_are_no_files():
    from greeneio.mock import Backend

    def main() -> None:
        with Switch() as sw:
            with pytest.raises(RuntimeError, match="no file system"):
                Fs.open_in("/etc/hostname", sw=sw)

    Backend.run(main)
