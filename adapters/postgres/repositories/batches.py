"""Cutting multi-row statements into batches the driver can send.

The PostgreSQL wire protocol counts a statement's parameters in 16 bits: a VALUES list of
more than 65,535 parameters is refused outright (`number of parameters must be between 0
and 65535`). Every multi-row statement goes through `in_batches`, whatever the size of the
workflow or of the group commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

MAX_PARAMETERS = 65_535
# Well under the limit: one statement text is built, cached and prepared per row count, so
# a smaller batch also bounds how many distinct texts (and how much memory) there can be.
MAX_ROWS = 500


def in_batches(rows: Sequence[T], parameters_per_row: int) -> Iterator[Sequence[T]]:
    """`rows` in consecutive slices whose parameters stay within the protocol's limit."""
    size = max(1, min(MAX_ROWS, MAX_PARAMETERS // max(1, parameters_per_row)))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
