"""TLS tests: a test CA from ``trustme``, contexts made from it, and the
fd-leak and child-process guards on every test."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import trustme


@pytest.fixture(autouse=True)
def _guards(no_fd_leak: None, no_child_left: None) -> Iterator[None]:
    yield


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "example.test", "127.0.0.1", "::1")


@pytest.fixture
def server_context(server_cert: trustme.LeafCert) -> ssl.SSLContext:
    """A fresh server context (tests may set its ALPN list or versions)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A fresh client context that trusts the test CA and checks host names."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx
