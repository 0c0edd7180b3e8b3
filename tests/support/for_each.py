"""A parent workflow that fans out over a list made at run time, for the for-each tests."""

from __future__ import annotations

from typing import Any


def fan_out(child: str, **config: Any) -> dict[str, Any]:
    """Lists the numbers below `input.count` and runs `child` once per number, with input
    `{"n": item}` unless `config` gives another (and any other for_each config)."""
    return {
        "nodes": [
            {
                "id": "list",
                "kind": "transform",
                "config": {"output": "{{ range(input.count) | list }}"},
            },
            {
                "id": "each",
                "kind": "for_each",
                "config": {
                    "items": "nodes.list.output",
                    "workflow": child,
                    "input": {"n": "{{ item }}"},
                    **config,
                },
            },
        ],
        "edges": [{"from": "list", "to": "each"}],
    }
