"""The log format: one line per event, and no bearer token ever reaches it."""

from __future__ import annotations

import logging

from entrypoints.logs import LineFormatter, RedactQueryTokens


def _format(record: logging.LogRecord) -> str:
    RedactQueryTokens().filter(record)
    return LineFormatter().format(record)


def _record(msg: str, args: tuple[object, ...] = ()) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)


def test_a_token_in_an_access_line_query_is_redacted() -> None:
    record = _record(
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/stream?token=trd_secret123&x=1", "1.1", 200),
    )
    line = _format(record)
    assert "trd_secret123" not in line
    assert "token=[redacted]&x=1" in line


def test_a_sign_in_callback_s_code_and_state_are_redacted() -> None:
    path = "/console/auth/corp/callback?code=authz-code-123&state=st-456&iss=x"
    line = _format(_record('%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET", path, "1.1", 302)))
    assert "authz-code-123" not in line and "st-456" not in line
    assert "code=[redacted]&state=[redacted]&iss=x" in line


def test_other_query_values_are_kept() -> None:
    line = _format(_record("GET /api/v1/executions?status=failed&tokenizer=a&codec=b"))
    assert "status=failed&tokenizer=a&codec=b" in line


def test_fields_follow_the_message_as_key_value_pairs() -> None:
    record = _record("worker started")
    record.fields = {"worker_id": "w-1", "database": "db host"}  # type: ignore[attr-defined]
    line = LineFormatter().format(record)
    assert line.endswith('uvicorn.access "worker started" worker_id=w-1 database="db host"')
