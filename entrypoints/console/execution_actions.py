"""The execution page's buttons: send a signal, cancel, retry from failure, re-run.

Each is a form posting here; the use case runs with the signed-in principal, then the
browser is sent back to an execution page (post/redirect/get).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from application.access import Principal, Role
from application.errors import UnstorableValue
from application.input_errors import InvalidInput
from application.queries.audit import AuditQueries
from application.queries.executions import ExecutionQueries
from application.queries.triggers import TriggerQueries
from application.queries.workflows import WorkflowQueries
from application.use_cases.cancel_execution import CancelExecution, CancelExecutionHandler
from application.use_cases.deliver_signal import DeliverSignal, DeliverSignalHandler
from application.use_cases.rerun_execution import RerunExecution, RerunExecutionHandler
from application.use_cases.retry_execution import RetryExecution, RetryExecutionHandler
from entrypoints.console.execution_pages import execution_page
from entrypoints.console.forms import field_refusal, form_fields, read_json_field


def _back_to(execution_id: str, notice: str) -> Response[Any]:
    return Redirect(f"/console/executions/{execution_id}?notice={notice}", status_code=303)


class ExecutionActions(Controller):
    path = "/console/executions/{execution_id:str}"
    include_in_schema = False

    @post("/signal", status_code=303)
    async def send_signal(
        self,
        request: Request[Any, Any, Any],
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        deliver_signal: NamedDependency[DeliverSignalHandler],
        execution_queries: NamedDependency[ExecutionQueries],
        workflow_queries: NamedDependency[WorkflowQueries],
        trigger_queries: NamedDependency[TriggerQueries],
        audit_queries: NamedDependency[AuditQueries],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        fields = await form_fields(request)
        name = fields.get("name", "").strip()
        payload = read_json_field(fields.get("payload", ""), "The signal's payload")
        error = field_refusal(fields) or payload.error
        if not name:
            error = "Give the signal a name (the one the node waits for)."
        if error is None:
            try:
                await deliver_signal(
                    DeliverSignal(
                        principal.workspace_id,
                        execution_id,
                        name,
                        payload.value,
                        actor=principal.actor,
                    )
                )
            except (InvalidInput, UnstorableValue) as invalid:
                error = invalid.message
        if error is None:
            return _back_to(execution_id, "signalled")
        # The page again, with what was sent and why it was refused beside the form.
        form = {"name": name, "payload": payload.text, "error": error}
        return await execution_page(
            principal,
            execution_queries,
            workflow_queries,
            execution_id,
            status_code=422,
            signal_form=form,
            audit_queries=audit_queries,
            trigger_queries=trigger_queries,
        )

    @post("/cancel", status_code=303)
    async def cancel(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        cancel_execution: NamedDependency[CancelExecutionHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        await cancel_execution(
            CancelExecution(principal.workspace_id, execution_id, actor=principal.actor)
        )
        return _back_to(execution_id, "cancelled")

    @post("/retry", status_code=303)
    async def retry(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        retry_execution: NamedDependency[RetryExecutionHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        await retry_execution(
            RetryExecution(principal.workspace_id, execution_id, actor=principal.actor)
        )
        return _back_to(execution_id, "retried")

    @post("/rerun", status_code=303)
    async def rerun(
        self,
        execution_id: FromPath[str],
        principal: NamedDependency[Principal],
        rerun_execution: NamedDependency[RerunExecutionHandler],
    ) -> Response[Any]:
        principal.require(Role.EDITOR)
        created = await rerun_execution(
            RerunExecution(principal.workspace_id, execution_id, actor=principal.actor)
        )
        return _back_to(created.id, "rerun")
