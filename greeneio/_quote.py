"""OCaml-style string quoting for mock traces (``"GET / HTTP/1.1\\r\\n"``)."""

from __future__ import annotations

__all__ = ["pp_arg", "pp_data", "quote"]

_ESC = {0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x08: "\\b"}


def quote(data: bytes) -> str:
    """``data`` as OCaml's ``String.escaped`` would print it, in double quotes."""
    out = []
    for b in data:
        esc = _ESC.get(b)
        if esc is not None:
            out.append(esc)
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def pp_data(data: bytes, indent: int) -> str:
    """Quote ``data`` one line per ``\\n``, later lines indented by ``indent``."""
    parts = []
    start = 0
    while start < len(data):
        nl = data.find(b"\n", start)
        end = len(data) if nl < 0 else nl + 1
        parts.append(quote(data[start:end]))
        start = end
    if not parts:
        parts = ['""']
    return ("\n" + " " * indent).join(parts)


def pp_arg(s: str) -> str:
    """``s`` bare if it is a plain word, else quoted (as Eio prints command arguments)."""
    if not s or any(c in " \"'\\" or not 32 < ord(c) < 127 for c in s):
        return quote(s.encode())
    return s
