"""Workflow files the CLI tests apply."""

from __future__ import annotations

VALID_YAML = """\
name: {name}
description: greets someone
nodes:
  - id: greet
    kind: transform
    config:
      output: {{greeting: "hello {{{{ input.name }}}}"}}
  - id: shout
    kind: transform
    config:
      output: "{{{{ nodes.greet.output.greeting }}}}!"
edges:
  - {{from: greet, to: shout}}
"""

# A transform whose template reads an input field the run does not give: the definition
# is valid (a read of a node that does not exist would be refused when it is saved), the
# run fails with an expression_error.
FAILING_JSON = """\
{"nodes": [{"id": "broken", "kind": "transform",
            "config": {"output": "{{ input.missing.value }}"}}],
 "edges": []}
"""

WAITING_JSON = """\
{"nodes": [{"id": "approval", "kind": "wait_for_signal", "config": {"signal": "approve"}}],
 "edges": []}
"""

INVALID_JSON = """\
{"name": "broken-graph",
 "nodes": [{"id": "a", "kind": "transform", "config": {}},
           {"id": "a", "kind": "teleport"}],
 "edges": [{"from": "a", "to": "nowhere"}]}
"""
