"""greeneio's pytest plugin: fixtures for transcript tests on either backend.

Installing greeneio registers this module with pytest (the ``greeneio``
entry point in the ``pytest11`` group), so its fixtures are there in any
project's tests with nothing to configure. With plugin autoloading off
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), load it with ``-p greeneio``.

- ``traced``: the list of lines ``traceln`` prints during the test.
- ``transcript``: :func:`greeneio.testing.transcript`, to call as
  ``transcript(fn)`` (mock backend), ``transcript(fn, full=True)`` or
  ``transcript(fn, backend=greeneio_backend)``.
- ``greeneio_backend``: ``"mock"`` then ``"gevent"``; a test that asks for it
  runs once on each. Override it in a ``conftest.py`` to choose (the way
  anyio's ``anyio_backend`` is overridden)::

      @pytest.fixture
      def greeneio_backend():
          return "mock"

- ``run_on_backend``: ``run_on_backend(fn)`` runs ``fn()`` as the main fiber
  on the ``greeneio_backend`` of the test (:func:`greeneio.testing.run`).

The fixtures import ``greeneio.testing`` when a test first uses them; at
the top this module imports only pytest. (Python still runs
``greeneio/__init__.py`` to import it, and that imports gevent, without
monkey-patching anything.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = ["greeneio_backend", "run_on_backend", "traced", "transcript"]


@pytest.fixture
def traced() -> Iterator[list[str]]:
    """The lines ``traceln`` prints while the test runs, on any backend, in order.

    The list grows as lines are traced; they are not printed to stderr.
    """
    from greeneio.testing import capture_traces

    with capture_traces() as lines:
        yield lines


@pytest.fixture
def transcript() -> Callable[..., list[str]]:
    """``transcript(fn)`` runs ``fn()`` on the mock backend and returns the traced
    lines, ending with ``-> repr(result)`` or ``Exception: Type: message``.

    ``transcript(fn, full=True)`` calls ``fn(env)`` (a mock clock as
    ``env.clock``); ``transcript(fn, backend="gevent")`` runs on gevent instead.
    """
    from greeneio.testing import transcript as run_transcript

    return run_transcript


@pytest.fixture(params=["mock", "gevent"])
def greeneio_backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend a test runs on: ``"mock"``, then ``"gevent"``.

    A test that uses it (directly or through ``run_on_backend``) runs once per
    backend, with ids ``[mock]`` and ``[gevent]``.
    """
    name: str = request.param
    return name


@pytest.fixture
def run_on_backend(greeneio_backend: str) -> Callable[..., Any]:
    """``run_on_backend(fn)`` runs ``fn()`` as the main fiber on the test's
    ``greeneio_backend`` and returns its result (raises what it raised).

    ``run_on_backend(fn, full=True)`` calls ``fn(env)`` with that backend's env.
    """
    from greeneio.testing import run

    def run_on_backend(fn: Callable[..., Any], *, full: bool = False) -> Any:
        return run(greeneio_backend, fn, full=full)

    return run_on_backend
