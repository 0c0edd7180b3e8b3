"""Two versions of a workflow side by side: their normalised JSON, line against line.

The documents are written the same way (keys sorted, two-space indent) so that only
real changes differ, then matched with the standard library's `difflib`. Each row says
what happened to it in words as well as by colour: `same`, `changed`, `added`, `removed`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any


@dataclass(frozen=True)
class DiffRow:
    change: str
    """`same`, `changed` (both sides), `removed` (left only) or `added` (right only)."""
    left_number: int | None
    left: str | None
    right_number: int | None
    right: str | None


@dataclass(frozen=True)
class VersionDiff:
    rows: list[DiffRow]
    added: int
    removed: int
    changed: int

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)


def normalised(document: Any) -> str:
    """The text both sides are compared as: JSON with sorted keys and a two-space indent."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def diff_documents(old: Any, new: Any) -> VersionDiff:
    left, right = normalised(old).splitlines(), normalised(new).splitlines()
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    rows: list[DiffRow] = []
    counts = {"added": 0, "removed": 0, "changed": 0}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow("same", i + 1, left[i], j + 1, right[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        # A replaced block pairs its lines up; what one side has more of is added or removed.
        for i, j in zip_longest(range(i1, i2), range(j1, j2)):
            if i is not None and j is not None:
                change = "changed"
            else:
                change = "removed" if j is None else "added"
            counts[change] += 1
            rows.append(
                DiffRow(
                    change,
                    None if i is None else i + 1,
                    None if i is None else left[i],
                    None if j is None else j + 1,
                    None if j is None else right[j],
                )
            )
    return VersionDiff(rows, counts["added"], counts["removed"], counts["changed"])
