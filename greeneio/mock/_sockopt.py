"""Socket options on mock sockets: traced; reads give a fixed default."""

from __future__ import annotations

from typing import Any

from greeneio._core.trace import traceln
from greeneio.net.errors import InvalidOption
from greeneio.net.sockopt import Sockopt, pp_binding

__all__ = ["TracedOptions", "getsockopt", "setsockopt"]

_DEFAULTS: dict[str, Any] = {"bool": False, "int": 0, "float": 0.0}
_PORTABLE = frozenset(list(Sockopt)[: list(Sockopt).index(Sockopt.SO_SNDTIMEO) + 1])


def setsockopt(label: str, opt: Sockopt, value: Any) -> None:
    traceln("%s: setsockopt %s", label, pp_binding(opt, value))


def getsockopt(label: str, opt: Sockopt) -> Any:
    """The default value of a portable option; ``InvalidOption`` for the rest."""
    if opt not in _PORTABLE:
        raise InvalidOption()
    value = _DEFAULTS.get(opt.kind)  # optint (SO_LINGER): None
    traceln("%s: getsockopt %s", label, pp_binding(opt, value))
    return value


class TracedOptions:
    """Mixin for mock sockets: ``setsockopt``/``getsockopt`` traced under ``self.label``."""

    label: str

    def setsockopt(self, opt: Sockopt, value: Any) -> None:
        setsockopt(self.label, opt, value)

    def getsockopt(self, opt: Sockopt) -> Any:
        return getsockopt(self.label, opt)
