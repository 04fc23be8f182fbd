"""The engine's test harness: a scripted two-way flow on the mock backend,
and a strict reader of the responses the engine wrote.

The flow plays a client from a script (bytes, pauses on the virtual clock,
then end of stream or silence); everything written is kept. It traces
nothing, so corpus runs stay quiet; ``events`` records what it waited for.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from zope.interface import implementer

from greeneio import Promise, Time
from greeneio import http as Http
from greeneio.interfaces import IClose, IShutdown, ISink, ISource
from greeneio.mock import Backend
from greeneio.testing import capture_traces


@implementer(ISource, ISink, IShutdown, IClose)
class ScriptedFlow:
    """Each read takes the next item of ``script``: bytes are read (split if the
    buffer is smaller), a number is a pause of that many seconds of ``clock``, a
    promise is waited for, a function is called; then EOF, or (``hang=True``) a read that waits
    forever. Writes: ``write_limit`` bytes may be written before writes block
    forever (a client that stops reading; None: no limit); with
    ``write_delay``, each write takes that long and takes ``write_chunk`` bytes
    at most (a slow reader)."""

    def __init__(
        self,
        script: list[Any],
        *,
        hang: bool = False,
        write_limit: int | None = None,
        write_delay: float = 0.0,
        write_chunk: int = 1 << 30,
    ) -> None:
        self.script = [c for c in script if not (isinstance(c, bytes) and not c)]
        self.hang = hang
        self.write_limit = write_limit
        self.write_delay = write_delay
        self.write_chunk = write_chunk
        self.clock: Any = None  # set by serve()
        self.out = bytearray()
        self.events: list[str] = []
        self.closed = False
        self._never, _ = Promise.create("never")

    def _now(self) -> str:
        return f"{self.clock.now():g}" if self.clock is not None else "?"

    def single_read(self, buf: memoryview) -> int:
        while self.script and not isinstance(self.script[0], bytes):
            item = self.script.pop(0)
            if isinstance(item, Promise):
                item.await_()
            elif callable(item):
                item()
            else:
                Time.sleep(self.clock, item)
        if not self.script:
            if self.hang:
                self.events.append(f"{self._now()}: read waits")
                self._never.await_()
            self.events.append(f"{self._now()}: read eof")
            raise EOFError
        data = self.script[0]
        n = min(len(buf), len(data))
        buf[:n] = data[:n]
        if n == len(data):
            self.script.pop(0)
        else:
            self.script[0] = data[n:]
        return n

    def single_write(self, bufs: list[Any]) -> int:
        data = b"".join(bytes(b) for b in bufs)[: self.write_chunk]
        if self.write_limit is not None:
            room = self.write_limit - len(self.out)
            if room <= 0:
                self.events.append(f"{self._now()}: write blocks")
                self._never.await_()
            data = data[:room]
        if self.write_delay:
            Time.sleep(self.clock, self.write_delay)
        self.out += data
        return len(data)

    def copy(self, src: Any) -> None:
        buf = bytearray(4096)
        while True:
            try:
                n = src.single_read(memoryview(buf))
            except EOFError:
                return
            view = memoryview(buf)[:n]
            while view:
                view = view[self.single_write([view]) :]

    def shutdown(self, cmd: str) -> None:
        self.events.append(f"{self._now()}: shutdown {cmd}")

    def close(self) -> None:
        self.closed = True


# -- running the engine on the mock, and reading what it wrote --------------------


def chunked(data: bytes, how: str | int) -> list[bytes]:
    """``data`` split as a client might send it: ``"whole"``, ``"lines"`` (at
    each LF), ``"bytes"`` (one byte a read), or an int seed for random splits."""
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    if how == "lines":
        return [p for p in re.split(b"(?<=\n)", data) if p]
    assert isinstance(how, int)
    rnd = random.Random(how)
    out, i = [], 0
    while i < len(data):
        n = rnd.randint(1, max(1, len(data) // 7))
        out.append(data[i : i + n])
        i += n
    return out


SPLITS: list[str | int] = ["whole", "lines", "bytes", 1, 2, 3]


@dataclass
class Response:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    chunked: bool = False

    def header(self, name: bytes) -> bytes | None:
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    @property
    def closes(self) -> bool:
        return (self.header(b"connection") or b"").lower() == b"close"


_STATUS_RE = re.compile(rb"HTTP/1\.1 ([1-9][0-9][0-9]) ([\t -~]*)\r\n")
_FIELD_RE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+): ([\t -~\x80-\xff]*)\r\n")


def parse_responses(data: bytes, heads: list[bool] | None = None) -> list[Response]:
    """The responses in ``data``, checked well-formed (``AssertionError`` if not).
    ``heads[i]`` says the i-th answered a HEAD (no body bytes)."""
    out: list[Response] = []
    pos = 0
    while pos < len(data):
        m = _STATUS_RE.match(data, pos)
        assert m, f"bad status line at {pos}: {data[pos : pos + 80]!r}"
        pos = m.end()
        headers = []
        while not data.startswith(b"\r\n", pos):
            f = _FIELD_RE.match(data, pos)
            assert f, f"bad field line at {pos}: {data[pos : pos + 80]!r}"
            headers.append((f.group(1), f.group(2)))
            pos = f.end()
        pos += 2
        r = Response(int(m.group(1)), m.group(2), headers, b"")
        if r.status < 200:  # interim (100 Continue): no body, and not a response of its own
            continue
        names = [n.lower() for n, _ in headers]
        assert names.count(b"content-length") <= 1, headers
        assert names.count(b"date") == (1 if r.status >= 200 else 0), headers
        assert not (b"content-length" in names and b"transfer-encoding" in names), headers
        is_head = heads is not None and len(out) < len(heads) and heads[len(out)]
        if r.status in (204, 304) or 100 <= r.status < 200 or is_head:
            pass
        elif (te := r.header(b"transfer-encoding")) is not None:
            assert te == b"chunked", te
            r.chunked = True
            body = bytearray()
            while True:
                c = re.compile(rb"([0-9a-f]+)\r\n").match(data, pos)
                assert c, f"bad chunk at {pos}: {data[pos : pos + 40]!r}"
                n = int(c.group(1), 16)
                pos = c.end()
                if n == 0:
                    assert data.startswith(b"\r\n", pos), data[pos : pos + 40]
                    pos += 2
                    break
                body += data[pos : pos + n]
                assert data.startswith(b"\r\n", pos + n)
                pos += n + 2
            r.body = bytes(body)
        elif (cl := r.header(b"content-length")) is not None:
            n = int(cl)
            assert len(data) - pos >= n, f"body cut short: {len(data) - pos} of {n}"
            r.body = data[pos : pos + n]
            pos += n
        else:  # until the connection closes
            r.body = data[pos:]
            pos = len(data)
        out.append(r)
    return out


@dataclass
class Served:
    flow: ScriptedFlow
    responses: list[Response]
    elapsed: float
    traces: list[str] = field(default_factory=list)


def serve(
    script: list[Any],
    app: Any,
    *,
    flow_options: dict[str, Any] | None = None,
    heads: list[bool] | None = None,
    flow: ScriptedFlow | None = None,
    parse: bool = True,
    **kw: Any,
) -> Served:
    """Run ``serve_connection`` on the mock backend over a scripted flow (see
    ScriptedFlow; ``flow_options`` are its keywords; or ``flow`` itself, whose
    ``clock`` a handler can use); the responses it wrote (checked well-formed,
    unless ``parse`` is false: a response cut short) and the virtual time it took."""
    flow = flow if flow is not None else ScriptedFlow(script, **(flow_options or {}))

    def main(env: Any) -> float:
        flow.clock = env.mono_clock
        t0 = env.mono_clock.now()
        Http.serve_connection(flow, app, clock=env.mono_clock, wall_clock=env.clock, **kw)
        return float(env.mono_clock.now() - t0)

    with capture_traces() as traces:
        elapsed = Backend.run_full(main)
    responses = parse_responses(bytes(flow.out), heads) if parse else []
    return Served(flow, responses, elapsed, list(traces))
