"""Slicing inserts by the rows they write: no slice over MAX_ROWS, an item never split."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from adapters.postgres.repositories.batches import MAX_ROWS, by_rows_written


@given(st.lists(st.integers(1, 2 * MAX_ROWS), max_size=60))
def test_slices_keep_order_and_stay_within_the_rows_a_statement_may_write(
    weights: list[int],
) -> None:
    slices = list(by_rows_written(weights, lambda weight: weight))

    assert [weight for part in slices for weight in part] == weights
    for part in slices:
        assert part
        assert sum(part) <= MAX_ROWS or len(part) == 1  # a lone heavy item still goes
    for left, right in pairwise(slices):
        assert sum(left) + right[0] > MAX_ROWS  # each slice is as full as it can be


def test_a_hundred_nodes_each_fit_four_executions_a_statement() -> None:
    sizes = [len(part) for part in by_rows_written([102] * 10, lambda weight: weight)]
    assert sizes == [4, 4, 2]
