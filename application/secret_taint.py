"""Following secrets through a render: which outputs were computed from a secret.

Matching known encodings of a secret's value cannot catch every form a filter gives it
(`urlencode`, `b64encode`, `replace`, slicing...). So the renderer follows the data
instead: the `secrets` mapping notes every read of a value, and Jinja's `finalize` hook,
called on each `{{ }}` output just after its expression is evaluated, collects the text
of every output computed after such a read. Those texts are then scrubbed from whatever
the node produces, like the secret values themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any


class SecretReads:
    """What one render learned: whether a secret was read since the last output, and the
    texts of the outputs computed after a read."""

    __slots__ = ("pending", "texts")

    def __init__(self) -> None:
        self.pending = False
        self.texts: set[str] = set()

    def note_output(self, value: Any) -> None:
        if self.pending:
            self.texts.update(string_leaves(value))
            self.pending = False


_current: ContextVar[SecretReads | None] = ContextVar("treadle_secret_reads", default=None)


def tracking(reads: SecretReads) -> object:
    """Make `reads` the collector of the renders that follow; pass the token to `stop`."""
    return _current.set(reads)


def stop(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def note_read() -> None:
    reads = _current.get()
    if reads is not None:
        reads.pending = True


def finalize(value: Any) -> Any:
    """Jinja's output hook: an output computed after a secret read is sensitive."""
    reads = _current.get()
    if reads is not None:
        reads.note_output(value)
    return value


def string_leaves(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value, and the text of its other scalars.

    Keys are left out: they name fields (`token`, `key`) and are not computed from the secret.
    """
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from string_leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)
