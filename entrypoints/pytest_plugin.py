"""A pytest plugin for workflow authors: the `run_workflow` fixture runs a workflow in
memory on a fake clock (see `entrypoints.workflow_testing`). Installed with Treadle, it is
found through the `pytest11` entry point."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from entrypoints.workflow_testing import WorkflowRun
from entrypoints.workflow_testing import run_workflow as _run_workflow


@pytest.fixture
def run_workflow() -> Callable[..., WorkflowRun]:
    """`run_workflow(definition, input, responses=..., secrets=..., workflows=...,
    signals=..., advance_seconds=...)`; `workflows` gives the definitions of the workflows
    it starts (sub_workflow, for_each) by name."""
    return _run_workflow
