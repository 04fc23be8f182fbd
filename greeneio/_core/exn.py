"""Errors (Eio's ``Exn``): I/O errors with context, and combining failures.

``Io`` is the base of every error greeneio raises for an I/O failure. It keeps
the error value (``err``), the OS-level exception (``backend``, also
``__cause__``) and a list of context lines that each API boundary adds.
"""

from __future__ import annotations

from greeneio._core.cancel import Cancelled

__all__ = ["Io", "OsIo", "add_context", "combine", "is_multiple"]


class Io(Exception):
    """An I/O error: ``err`` says what failed, ``context`` where, ``backend`` why.

    ``str(exc)`` reads like Eio's printer: the error, the backend error, then
    one indented line per context entry.
    """

    #: The error value printed first (subclasses give their kind, e.g. ``Net Connection_reset``).
    kind: str = "Io"

    def __init__(
        self,
        err: object = None,
        backend: BaseException | None = None,
        context: list[str] | None = None,
    ) -> None:
        # Not super().__init__: OSError would read (err, backend) as (errno, strerror).
        BaseException.__init__(self, err, backend)
        self.err = self.kind if err is None else err
        self.backend = backend
        self.context: list[str] = list(context) if context else []
        if backend is not None:
            self.__cause__ = backend

    def __str__(self) -> str:
        head = str(self.err)
        if self.backend is not None:
            head = f"{head}: {self.backend}"
        return "\n  ".join([head, *self.context])


class OsIo(Io, OSError):
    """An ``Io`` that is also an ``OSError``, for code that catches ``OSError``.

    ``errno``, ``strerror`` and ``filename`` are copied from ``backend``.
    """

    def __init__(
        self,
        err: object = None,
        backend: BaseException | None = None,
        context: list[str] | None = None,
    ) -> None:
        super().__init__(err, backend, context)
        if isinstance(backend, OSError):
            self.errno = backend.errno
            self.strerror = backend.strerror
            self.filename = backend.filename


def add_context(exc: BaseException, msg: str) -> BaseException:
    """Record that ``exc`` happened while ``msg``; returns ``exc`` for ``raise``.

    ``Io`` errors gain a ``context`` line; every exception gains a note, so
    ordinary tracebacks show it. At an API boundary, call it and re-raise
    with a bare ``raise``; not ``raise add_context(e, msg) from None``, which
    would drop the exception's ``__cause__`` (its backend error).
    """
    if isinstance(exc, Io):
        exc.context.append(msg)
    exc.add_note(msg)
    return exc


_MULTIPLE = "Multiple exceptions"


def is_multiple(exc: BaseException) -> bool:
    """True for the exception groups that :func:`combine` makes."""
    return isinstance(exc, BaseExceptionGroup) and getattr(exc, "_greeneio_multiple", False)


def combine(first: BaseException | None, second: BaseException) -> BaseException:
    """The failure to report when ``second`` happens after ``first``.

    ``Cancelled`` gives way to a real failure; two real failures make an
    ``ExceptionGroup`` ("Multiple exceptions"), flattened as more arrive.
    """
    if first is None or first is second:
        return second
    if isinstance(first, Cancelled):
        return second
    if isinstance(second, Cancelled):
        return first
    parts = list(first.exceptions) if is_multiple(first) else [first]  # type: ignore[attr-defined]
    parts.append(second)
    group = BaseExceptionGroup(_MULTIPLE, parts)
    group._greeneio_multiple = True  # type: ignore[attr-defined]
    return group
