"""The reader behind the console's editor and `treadle workflows apply`: JSON or YAML in,
a bounded document out, or a sentence saying why not."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings

from application.document_limits import MAX_NESTING, first_refusal
from entrypoints.document_text import UnreadableDocument, read_json, read_yaml
from tests.strategies import yaml_alias_documents


def test_plain_yaml_and_json_read_as_before() -> None:
    text = "nodes:\n  - id: a\n    kind: noop\nedges: []\n"
    assert read_yaml(text) == {"nodes": [{"id": "a", "kind": "noop"}], "edges": []}
    assert read_json('{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}


def test_an_alias_is_refused_before_anything_is_built() -> None:
    bomb = "a: &a [x]\n" + "".join(
        f"b{n}: &b{n} [{', '.join([f'*b{n - 1}' if n else '*a'] * 9)}]\n" for n in range(9)
    )
    started = time.monotonic()
    with pytest.raises(UnreadableDocument, match="alias"):
        read_yaml(bomb)
    assert time.monotonic() - started < 1


@settings(max_examples=30, deadline=None)
@given(text=yaml_alias_documents())
def test_every_alias_document_is_refused(text: str) -> None:
    with pytest.raises(UnreadableDocument, match="alias"):
        read_yaml(text)


def test_a_merge_key_is_an_alias_too() -> None:
    with pytest.raises(UnreadableDocument, match="alias"):
        read_yaml("base: &base {kind: noop}\nnode:\n  <<: *base\n  id: a\n")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: 2024-13-45\n", "cannot be read"),
        ("a: 2024-01-01\n", "date is not a JSON value"),
        ("1: one\n", "not a string"),
        ("a: .inf\n", "finite"),
        (f"a: {2**64}\n", "64-bit"),
        ('a: "x\\0y"\n', "NUL"),
        ("- !!python/object:os.system x\n", "not valid YAML"),
    ],
)
def test_yaml_that_is_no_json_document_is_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(UnreadableDocument, match=words):
        read_yaml(text)


def test_the_document_is_bounded_in_size_as_well_as_its_text() -> None:
    with pytest.raises(UnreadableDocument, match="larger than 100"):
        read_yaml("a: " + "x" * 200 + "\n", max_size=100)
    assert read_yaml("a: " + "x" * 50 + "\n", max_size=100) == {"a": "x" * 50}


def test_nesting_is_bounded_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    refusal = first_refusal({"input": deep})
    assert refusal is not None
    assert refusal.message.endswith(f"{MAX_NESTING} levels")
    assert refusal.path == "input" + "[0]" * (MAX_NESTING - 1)  # the 65th container
    with pytest.raises(UnreadableDocument, match=f"{MAX_NESTING} levels"):
        read_json("[" * 100_000 + "]" * 100_000)
