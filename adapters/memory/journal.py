"""An undo journal: writes apply at once, and rolling back replays their inverses."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

_MISSING = object()


class Journal:
    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def set(self, table: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        previous = table.get(key, _MISSING)
        self._undo.append(lambda: _restore(table, key, previous))
        table[key] = value

    def delete(self, table: MutableMapping[Any, Any], key: Any) -> None:
        previous = table.get(key, _MISSING)
        self._undo.append(lambda: _restore(table, key, previous))
        table.pop(key, None)

    def replace_item(self, items: list[Any], index: int, value: Any) -> None:
        previous = items[index]
        self._undo.append(lambda: items.__setitem__(index, previous))
        items[index] = value

    def append(self, items: list[Any], value: Any) -> None:
        self._undo.append(items.pop)
        items.append(value)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def forget(self) -> None:
        self._undo.clear()


def _restore(table: MutableMapping[Any, Any], key: Any, previous: Any) -> None:
    if previous is _MISSING:
        table.pop(key, None)
    else:
        table[key] = previous
