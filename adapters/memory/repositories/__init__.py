"""In-memory repositories: the same contract as the Postgres ones, over InMemoryStore."""

from adapters.memory.repositories.accounts import MemorySecrets, MemoryTokens, MemoryWorkspaces
from adapters.memory.repositories.audit import MemoryAudit
from adapters.memory.repositories.catalog import MemorySchedules, MemoryWorkflows
from adapters.memory.repositories.executions import MemoryExecutions
from adapters.memory.repositories.flow_control import MemoryFlowControl
from adapters.memory.repositories.history import MemoryEvents, MemoryNodeRuns, MemorySignals
from adapters.memory.repositories.node_kinds import MemoryNodeKinds
from adapters.memory.repositories.people import MemoryPeople, MemorySessions
from adapters.memory.repositories.triggers import MemoryTriggers

__all__ = [
    "MemoryAudit",
    "MemoryEvents",
    "MemoryExecutions",
    "MemoryFlowControl",
    "MemoryNodeKinds",
    "MemoryNodeRuns",
    "MemoryPeople",
    "MemorySchedules",
    "MemorySecrets",
    "MemorySessions",
    "MemorySignals",
    "MemoryTokens",
    "MemoryTriggers",
    "MemoryWorkflows",
    "MemoryWorkspaces",
]
