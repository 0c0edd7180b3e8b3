"""A request to a trigger's public URL: admit it, verify it, start a run, answer.

The steps are split so the HTTP layer reads the body only for a trigger that exists and
is under its rate: `admit` (404, 429), then `receive` (401, 400, 422; starts the run,
or finds the one an earlier delivery with the same id started), then, for a trigger that
answers with a node's output, `wait`. `record` keeps what was answered (never the body).
"""

from __future__ import annotations

from dataclasses import dataclass

from application.audit import webhook_actor
from application.errors import NotFound
from application.ports.clock import Clock
from application.ports.encryptor import Encryptor
from application.ports.unit_of_work import UnitOfWorkFactory
from application.triggers.rate_limits import TokenBuckets
from application.triggers.records import Trigger, TriggerDelivery
from application.triggers.requests import HookRequest, hook_input, idempotency_key
from application.triggers.signatures import verify
from application.triggers.waiting import ExecutionWaits, Outcome
from application.use_cases.secrets import SecretsUnavailable
from application.use_cases.start_run import StartRun, StartRunHandler

KEPT_DELIVERIES = 100
"""Deliveries remembered per trigger; older ones are forgotten as new ones arrive."""


@dataclass(frozen=True)
class HookAccepted:
    execution_id: str
    created: bool
    """False when an earlier delivery with the same id started the execution."""
    delivery_id: str | None


class ReceiveHookHandler:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        encryptor: Encryptor,
        start_run: StartRunHandler,
        buckets: TokenBuckets,
        waits: ExecutionWaits,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._encryptor = encryptor
        self._start_run = start_run
        self._buckets = buckets
        self._waits = waits

    async def admit(self, trigger_id: str) -> Trigger:
        """The enabled trigger of a live workflow with that id, if it is under its rate.

        A disabled or deleted trigger and one of an archived workflow are all NotFound."""
        async with self._uow() as uow:
            trigger = await uow.triggers.find(trigger_id)
            workflow = None
            if trigger is not None and trigger.enabled:
                workflow = await uow.workflows.get(trigger.workspace_id, trigger.workflow_id)
        if trigger is None or workflow is None or workflow.archived or not trigger.enabled:
            raise NotFound("no such trigger, or it is disabled")
        self._buckets.take(trigger.id, trigger.rate_limit, self._clock.now().timestamp())
        return trigger

    async def receive(self, trigger: Trigger, request: HookRequest) -> HookAccepted:
        """Verify the request, build the run's input, and start the run once per delivery."""
        verify(
            trigger.verification,
            secret=self._secret(trigger),
            headers=request.headers,
            body=request.body,
            now=self._clock.now().timestamp(),
            header=trigger.verify_header,
            tolerance_seconds=trigger.tolerance_seconds,
        )
        built = hook_input(trigger, request)
        key = None if built.delivery_id is None else idempotency_key(trigger.id, built.delivery_id)
        command = StartRun(
            trigger.workspace_id,
            trigger.workflow_id,
            built.input,
            idempotency_key=key,
            actor=webhook_actor(trigger.id, trigger.name),
        )
        started = await self._start_run(command)
        return HookAccepted(started.execution.id, started.created, built.delivery_id)

    def _secret(self, trigger: Trigger) -> str | None:
        if trigger.secret_ciphertext is None:
            return None
        try:
            return self._encryptor.decrypt(trigger.secret_ciphertext)
        except SecretsUnavailable:
            raise
        except Exception:
            raise SecretsUnavailable(
                "the trigger's secret cannot be decrypted: SECRET_KEY has changed"
            ) from None

    async def wait(self, trigger: Trigger, execution_id: str) -> Outcome:
        """The respond node's output (or the execution's), or how things stand at the end
        of the trigger's wait."""
        return await self._waits.wait(execution_id, trigger.respond_node, trigger.wait_seconds)

    async def record(
        self,
        trigger: Trigger,
        status_code: int,
        *,
        execution_id: str | None = None,
        delivery_id: str | None = None,
        error_code: str | None = None,
    ) -> None:
        delivery = TriggerDelivery(
            trigger_id=trigger.id,
            received_at=self._clock.now(),
            status_code=status_code,
            execution_id=execution_id,
            delivery_id=delivery_id[:200] if delivery_id else None,
            error_code=error_code,
        )
        async with self._uow() as uow:
            await uow.triggers.record_delivery(delivery, KEPT_DELIVERIES)
            await uow.commit()
