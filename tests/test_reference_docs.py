"""The API reference documents the public names, where users import them.

Reads the reference markdown (docs/reference.md, docs/reference/*.md) and
checks its mkdocstrings blocks (``::: identifier`` plus indented options)
without building the site: every identifier is a public path that resolves
from the facade, the names users import are all there, and each module's
``members`` list is its ``__all__``.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import greeneio

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [DOCS / "reference.md", *sorted((DOCS / "reference").glob("*.md"))]

BLOCK = re.compile(r"^::: *(\S+)[ \t]*\n((?:(?:[ \t]+.*)?\n)*)", re.M)

# The names the reference must show (the contract's public names, SPEC.md).
FACADE = (
    "run",
    "traceln",
    "Switch",
    "Fiber",
    "Promise",
    "Cancel",
    "Exn",
    "Flow",
    "Buf_read",
    "Buf_write",
    "Time",
    "Net",
    "Fs",
    "Domain_manager",
    "Tls",
    "http",
    "wsgi",
    "mock",
    "interfaces",
    "protocols",
    "compat",
)
NET = (
    "Ipaddr",
    "Sockaddr",
    "Sockopt",
    "Error",
    "ConnectionReset",
    "ConnectionFailure",
    "Refused",
    "NoMatchingAddresses",
    "ConnectionTimeout",
    "AddressLookupFailed",
    "InvalidOption",
    "connect",
    "with_tcp_connect",
    "listen",
    "accept",
    "accept_fork",
    "accept_sub",
    "listening_addr",
    "run_server",
    "datagram_socket",
    "send",
    "recv",
    "getaddrinfo",
    "getaddrinfo_stream",
    "getaddrinfo_datagram",
    "getnameinfo",
    "setsockopt",
    "getsockopt",
    "close",
    "import_socket_stream",
    "import_socket_listening",
    "import_socket_datagram",
    "socketpair_stream",
    "socketpair_datagram",
    "fd",
)
MOCK = ("Backend", "Net", "Flow", "Domain_manager", "Return", "Raise", "Run", "Deadlock")
REQUIRED = [
    *(f"greeneio.{name}" for name in FACADE),
    *(f"greeneio.Net.{name}" for name in NET),
    *(f"greeneio.mock.{name}" for name in MOCK),
]


def blocks() -> dict[str, dict[str, Any]]:
    """identifier -> its options, for every ``:::`` block of the reference."""
    found: dict[str, dict[str, Any]] = {}
    for page in PAGES:
        for match in BLOCK.finditer(page.read_text()):
            ident, body = match[1], textwrap.dedent(match[2])
            assert ident not in found, f"{ident} is documented twice ({page.name})"
            loaded = yaml.safe_load(body) if body.strip() else None
            found[ident] = (loaded or {}).get("options") or {}
    return found


def resolve(ident: str) -> Any:
    """The object at a dotted path, found the way users reach it (attributes of the facade)."""
    parts = ident.split(".")
    obj: Any = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        else:  # a public submodule not re-exported as an attribute (greeneio.mock ...)
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def shown(ident: str, found: dict[str, dict[str, Any]]) -> bool:
    """``ident`` has its own block, or is listed in its parent's ``members``."""
    if ident in found:
        return True
    parent, _, name = ident.rpartition(".")
    members = found.get(parent, {}).get("members")
    return isinstance(members, list) and name in members


def test_reference_pages_exist_and_are_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert len(PAGES) > 1
    for page in PAGES:
        assert BLOCK.search(page.read_text()), f"{page.name} documents nothing"
        assert f" {page.relative_to(DOCS).as_posix()}\n" in nav, f"{page.name} is not in the nav"


def test_every_identifier_is_a_public_path():
    for ident in blocks():
        parts = ident.split(".")
        assert parts[0] == "greeneio", f"{ident}: not a greeneio name"
        private = [p for p in parts if p.startswith("_")]
        assert not private, f"{ident}: private segment {private[0]!r}, use the public path"
        resolve(ident)  # raises if the public path does not lead anywhere


def test_every_required_name_is_shown():
    found = blocks()
    missing = [name for name in REQUIRED if not shown(name, found)]
    assert not missing, f"not in the API reference: {missing}"


def test_every_facade_name_is_shown():
    found = blocks()
    names = [f"greeneio.{name}" for name in greeneio.__all__]
    if importlib.util.find_spec("greeneio.testing") is not None:
        names.append("greeneio.testing")
    missing = [name for name in names if not shown(name, found)]
    assert not missing, f"public but not in the API reference: {missing}"


@pytest.mark.parametrize("ident", sorted(i for i, o in blocks().items() if "members" in o))
def test_members_lists_match_all(ident):
    """A module's ``members`` list is its ``__all__``; ``members: false`` means one block each."""
    members = blocks()[ident]["members"]
    module = resolve(ident)
    assert isinstance(module, ModuleType), f"{ident}: members lists are for modules"
    exported = list(module.__all__)
    if members is False:
        found = blocks()
        missing = [n for n in exported if f"{ident}.{n}" not in found]
        assert not missing, (
            f"{ident} is public but these are not in the API reference: {missing} "
            f"(add `::: {ident}.NAME` blocks)"
        )
    else:
        assert sorted(members) == sorted(exported), (
            f"{ident}: members list and __all__ differ by {set(members) ^ set(exported)}"
        )
