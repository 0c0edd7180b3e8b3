"""Cutting multi-row statements into batches the driver can send.

The PostgreSQL wire protocol counts a statement's parameters in 16 bits: a VALUES list of
more than 65,535 parameters is refused outright (`number of parameters must be between 0
and 65535`). Every multi-row statement goes through `in_batches`, whatever the size of the
workflow or of the group commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

MAX_PARAMETERS = 65_535
# Well under the limit, and a bound on one statement's size: a statement that takes its
# rows as one JSON parameter has no parameter limit, but should not grow without end.
MAX_ROWS = 500


def by_rows_written(items: Sequence[T], rows_of: Callable[[T], int]) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices that each write at most MAX_ROWS rows, `rows_of(item)`
    each (an execution with its node runs, say); an item is never split."""
    start = 0
    while start < len(items):
        end, written = start, 0
        while end < len(items) and (end == start or written + rows_of(items[end]) <= MAX_ROWS):
            written += rows_of(items[end])
            end += 1
        yield items[start:end]
        start = end


def in_batches(rows: Sequence[T], parameters_per_row: int) -> Iterator[Sequence[T]]:
    """`rows` in consecutive slices whose parameters stay within the protocol's limit."""
    size = max(1, min(MAX_ROWS, MAX_PARAMETERS // max(1, parameters_per_row)))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
