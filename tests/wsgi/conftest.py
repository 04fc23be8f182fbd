"""Every test here runs under the fd-leak and child-process guards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _guards(no_fd_leak: None, no_child_left: None) -> Iterator[None]:
    yield
