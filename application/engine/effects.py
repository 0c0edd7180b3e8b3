"""What a decided step asks the committer to do beyond writing its own execution.

A step decides; the group committer carries these out in the same transaction, after the
batch's own rows are written, so an effect on another execution held in the same batch
lands on top of that execution's own write.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.ports.tracing import Carrier
from domain.events import DomainEvent
from domain.execution import Execution


@dataclass(frozen=True)
class ConsumeSignal:
    """A waiting node took this signal: no other node may take it again."""

    signal_id: str
    execution_id: str
    node_id: str


@dataclass(frozen=True)
class InsertChild:
    """A `sub_workflow` or `for_each` node started this child execution (pending, with its
    node runs)."""

    execution: Execution
    node_ids: tuple[str, ...]
    first_events: tuple[DomainEvent, ...]


@dataclass(frozen=True)
class CancelChild:
    """The parent is closing: its child ends too (at once, or at its next boundary)."""

    child_id: str


@dataclass(frozen=True)
class ReopenItem:
    """A retried `for_each` node runs this item of an earlier attempt again, from where its
    execution failed."""

    child_id: str
    parent_trace: Carrier | None = None
    """The parent's execution span, the item's new trace is started in (None: untraced)."""


@dataclass(frozen=True)
class CancelItems:
    """A `for_each` node ended (or its execution is closing): its running items end too."""

    execution_id: str
    node_id: str


@dataclass(frozen=True)
class WakeParent:
    """This execution ended and a parent's node waits on it: tell the parent."""

    child: Execution


@dataclass(frozen=True)
class ClearStepFailures:
    """A step of this execution committed: forget its earlier failed steps."""

    execution_id: str


Effect = (
    ConsumeSignal
    | InsertChild
    | CancelChild
    | ReopenItem
    | CancelItems
    | WakeParent
    | ClearStepFailures
)
