"""greeneio.testing and the pytest plugin, seen from a user's project.

Each pytester test writes a user's test file into an empty directory and runs
pytest there: the fixtures come from the installed plugin alone (no
conftest.py of ours is in reach).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greeneio import Fiber, traceln
from greeneio.testing import BACKENDS, capture_traces, describe_exc, run, transcript

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(30)

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_testing_snippet() -> str:
    text = README.read_text()
    section = text[text.index("## Testing your code") :]
    section = section[: section.index("\n## ", 1)]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return block


def run_users_pytest(pytester, *args):
    """pytest in the user's directory, in this process. Two plugins of our test
    environment are left out: hypothesis's (it would import hypothesis afresh for
    each run, a second each) and pytest-benchmark's (it warns under xdist)."""
    return pytester.runpytest("-p", "no:hypothesispytest", "-p", "no:benchmark", *args)


def test_readme_snippet_passes_in_a_users_project(pytester):
    pytester.makepyfile(test_readme=readme_testing_snippet())
    result = run_users_pytest(pytester, "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_on_each_backend?mock? PASSED*"])
    result.stdout.fnmatch_lines(["*test_on_each_backend?gevent? PASSED*"])


def test_traced_and_transcript_fixtures_in_a_users_project(pytester):
    pytester.makepyfile(
        test_user="""
        from greeneio import Fiber, Time, traceln
        from greeneio.mock import Backend


        def test_traced(traced):
            Backend.run(lambda: traceln("x = %d", 1))
            traceln("outside any backend")
            assert traced == ["x = 1", "outside any backend"]


        def test_transcript_result(transcript):
            assert transcript(lambda: traceln("hi") or 42) == ["hi", "-> 42"]


        def test_transcript_failure(transcript):
            def main():
                Fiber.both(lambda: 1 / 0, lambda: traceln("not reached"))

            assert transcript(main) == ["Exception: ZeroDivisionError: division by zero"]


        def test_transcript_full_gives_a_mock_clock(transcript):
            def main(env):
                Time.sleep(env.clock, 10)
                return "woke"

            assert transcript(main, full=True) == ["mock time is now 10", "-> 'woke'"]
        """
    )
    result = run_users_pytest(pytester)
    result.assert_outcomes(passed=4)


def test_greeneio_backend_runs_each_test_on_both(pytester):
    pytester.makepyfile(
        test_backends="""
        import greeneio
        from greeneio.mock import MockEnv


        def test_env(run_on_backend, greeneio_backend):
            env = run_on_backend(lambda env: env, full=True)
            assert isinstance(env, MockEnv) == (greeneio_backend == "mock")


        def test_result(run_on_backend):
            assert run_on_backend(lambda: "done") == "done"
        """
    )
    result = run_users_pytest(pytester, "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_env?mock? PASSED*",
            "*test_env?gevent? PASSED*",
            "*test_result?mock? PASSED*",
            "*test_result?gevent? PASSED*",
        ]
    )


def test_greeneio_backend_can_be_overridden(pytester):
    pytester.makeconftest(
        """
        import pytest


        @pytest.fixture
        def greeneio_backend():
            return "mock"
        """
    )
    pytester.makepyfile(
        test_one="""
        def test_only_mock(greeneio_backend, run_on_backend):
            assert greeneio_backend == "mock"
            assert run_on_backend(lambda: 1) == 1
        """
    )
    result = run_users_pytest(pytester, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_only_mock PASSED*"])


def test_plugin_can_be_turned_off(pytester):
    pytester.makepyfile(test_off="def test_off(traced):\n    pass\n")
    result = run_users_pytest(pytester, "-p", "no:greeneio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'traced' not found*"])


# -- greeneio.testing without pytest's fixtures ---------------------------------------


def both():
    Fiber.both(lambda: traceln("a"), lambda: traceln("b"))
    return "done"


@pytest.mark.parametrize("backend", BACKENDS)
def test_transcript_on_each_backend(backend):
    assert transcript(both, backend=backend) == ["a", "b", "-> 'done'"]


def test_transcript_of_several_failures():
    def main():
        Fiber.first(lambda: 1 / 0, lambda: {}["k"])

    assert transcript(main) == [
        "Exception: Multiple exceptions: [ZeroDivisionError: division by zero; KeyError: 'k']"
    ]


def test_describe_exc():
    assert describe_exc(ValueError("bad")) == "ValueError: bad"
    plain_group = ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    assert describe_exc(plain_group) == "ExceptionGroup: two (2 sub-exceptions)"


def test_capture_traces_nests_innermost_first():
    with capture_traces() as outer:
        traceln("one")
        with capture_traces() as inner:
            traceln("two\nthree")
        traceln("four")
    assert outer == ["one", "four"]
    assert inner == ["two", "three"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_returns_and_raises(backend):
    assert run(backend, lambda: 7) == 7
    with pytest.raises(KeyError):
        run(backend, lambda: {}["missing"])


def test_run_rejects_unknown_backends_and_arguments():
    with pytest.raises(ValueError, match=r"backend must be 'mock' or 'gevent', not 'trio'"):
        run("trio", lambda: None)
    with pytest.raises(ValueError, match=r"testing.transcript: backend must be"):
        transcript(lambda: None, backend="asyncio")
    with pytest.raises(TypeError, match=r"fn must be callable, not 3"):
        run("mock", 3)  # type: ignore[arg-type]
