"""Plain functions between the rows and records of the catalog and the accounts: workflows
and their versions, schedules, workspaces, API tokens and stored secrets."""

from __future__ import annotations

from typing import Any

from adapters.postgres.mappers import Row, as_utc, utc
from application.records import (
    ApiToken,
    Schedule,
    StoredSecret,
    Workflow,
    WorkflowVersion,
    Workspace,
)


def workflow_to_row(workflow: Workflow) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "workspace_id": workflow.workspace_id,
        "name": workflow.name,
        "latest_version": workflow.latest_version,
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
        "archived": workflow.archived,
        "description": workflow.description,
    }


def row_to_workflow(row: Row) -> Workflow:
    return Workflow(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        latest_version=row["latest_version"],
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
        archived=row["archived"],
        description=row["description"],
    )


def version_to_row(version: WorkflowVersion) -> dict[str, Any]:
    return {
        "workflow_id": version.workflow_id,
        "version": version.version,
        "document": version.document,
        "created_at": version.created_at,
        "source": version.source,
        "source_format": version.source_format,
    }


def row_to_version(row: Row) -> WorkflowVersion:
    return WorkflowVersion(
        workflow_id=row["workflow_id"],
        version=row["version"],
        document=row["document"],
        created_at=as_utc(row["created_at"]),
        source=row["source"],
        source_format=row["source_format"],
    )


def schedule_to_row(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "workspace_id": schedule.workspace_id,
        "workflow_id": schedule.workflow_id,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "input": schedule.input,
        "enabled": schedule.enabled,
        "next_fire_at": schedule.next_fire_at,
        "created_at": schedule.created_at,
        "overlap": schedule.overlap,
        "catch_up": schedule.catch_up,
        "last_fired_at": schedule.last_fired_at,
        "last_execution_id": schedule.last_execution_id,
    }


def row_to_schedule(row: Row) -> Schedule:
    return Schedule(
        id=row["id"],
        workspace_id=row["workspace_id"],
        workflow_id=row["workflow_id"],
        cron=row["cron"],
        timezone=row["timezone"],
        input=row["input"],
        enabled=row["enabled"],
        next_fire_at=utc(row["next_fire_at"]),
        created_at=as_utc(row["created_at"]),
        overlap=row["overlap"],
        catch_up=row["catch_up"],
        last_fired_at=utc(row["last_fired_at"]),
        last_execution_id=row["last_execution_id"],
    )


def workspace_to_row(workspace: Workspace) -> dict[str, Any]:
    return {"id": workspace.id, "name": workspace.name, "created_at": workspace.created_at}


def row_to_workspace(row: Row) -> Workspace:
    return Workspace(id=row["id"], name=row["name"], created_at=as_utc(row["created_at"]))


def token_to_row(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "workspace_id": token.workspace_id,
        "name": token.name,
        "role": token.role,
        "token_hash": token.token_hash,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
        "created_by": token.created_by,
    }


def row_to_token(row: Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        role=row["role"],
        token_hash=row["token_hash"],
        created_at=as_utc(row["created_at"]),
        revoked_at=utc(row["revoked_at"]),
        created_by=row["created_by"],
    )


def secret_to_row(secret: StoredSecret) -> dict[str, Any]:
    return {
        "workspace_id": secret.workspace_id,
        "name": secret.name,
        "ciphertext": secret.ciphertext,
        "created_at": secret.created_at,
        "updated_at": secret.updated_at,
    }


def row_to_secret(row: Row) -> StoredSecret:
    return StoredSecret(
        workspace_id=row["workspace_id"],
        name=row["name"],
        ciphertext=bytes(row["ciphertext"]),
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
    )
