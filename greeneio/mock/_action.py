"""What a mock does when called: return a value, raise, or run a function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Action", "Raise", "Return", "Run", "run_action"]


@dataclass(frozen=True, slots=True)
class Return:
    """Return ``value``."""

    value: Any


@dataclass(frozen=True, slots=True)
class Raise:
    """Raise ``exc``."""

    exc: BaseException


@dataclass(frozen=True, slots=True)
class Run:
    """Return ``fn()`` (which may block, e.g. on a promise)."""

    fn: Callable[[], Any]


Action = Return | Raise | Run


def run_action(action: Action) -> Any:
    match action:
        case Return(value):
            return value
        case Raise(exc):
            raise exc
        case Run(fn):
            return fn()
    raise TypeError(f"not a mock action (Return, Raise or Run): {action!r}")


class Handler:
    """A queue of actions with a default for when it runs out."""

    __slots__ = ("_actions", "_default", "_what")

    def __init__(self, what: str, default: Action | None) -> None:
        self._what = what
        self._default = default
        self._actions: list[Action] = []

    def seq(self, actions: list[Action]) -> None:
        for a in actions:
            if not isinstance(a, Return | Raise | Run):
                raise TypeError(f"{self._what}: actions must be Return, Raise or Run, not {a!r}")
        self._actions = list(actions)

    def run(self) -> Any:
        if self._actions:
            return run_action(self._actions.pop(0))
        if self._default is None:
            raise RuntimeError(f"{self._what}: no more actions configured")
        return run_action(self._default)
