"""Example node kinds for Treadle.

`text.slugify` is a pure step: a text in, a URL-friendly slug out. `crm.lookup_customer`
calls a team's own service: it finds a customer by email in a CRM's HTTP API, and says
which failures are worth another attempt (the CRM is busy or away) and which are not (no
such customer, a refused token), so that the workflow's retry policy does the rest.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import httpx
from pydantic import BaseModel, Field, HttpUrl

from treadle_nodes import NodeContext, NodeFailure, node_kind

__all__ = ["LOOKUP_CUSTOMER", "SLUGIFY", "LookupCustomerConfig", "SlugifyConfig"]


class SlugifyConfig(BaseModel):
    text: str = Field(description="The text to turn into a slug.")
    separator: str = Field("-", min_length=1, max_length=3, description="Between words.")
    max_length: int = Field(80, ge=1, le=200, description="The longest slug to return.")


@node_kind(
    "text.slugify",
    title="Slugify",
    config=SlugifyConfig,
    example={"text": "{{ input.title }}", "separator": "-"},
)
async def slugify(config: SlugifyConfig, context: NodeContext) -> dict[str, Any]:
    """Turn a text into a lower-case, URL-friendly slug (accents dropped)."""
    plain = unicodedata.normalize("NFKD", config.text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain.lower())
    slug = config.separator.join(words)[: config.max_length].rstrip(config.separator)
    return {"slug": slug}


SLUGIFY = slugify


class LookupCustomerConfig(BaseModel):
    base_url: HttpUrl = Field(description="The CRM's API, e.g. https://crm.example.com/api.")
    email: str = Field(min_length=3, max_length=320, description="The customer's email.")
    token: str = Field(
        min_length=1, description="The CRM's API token: use a template such as {{ secrets.crm }}."
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="Per request.")


@node_kind(
    "crm.lookup_customer",
    title="Look up a customer",
    config=LookupCustomerConfig,
    example={
        "base_url": "https://crm.example.com/api",
        "email": "{{ input.email }}",
        "token": "{{ secrets.crm_token }}",
    },
)
async def lookup_customer(config: LookupCustomerConfig, context: NodeContext) -> dict[str, Any]:
    """Find a customer by email in the CRM; retried while the CRM is busy or away."""
    url = str(config.base_url).rstrip("/") + "/customers"
    headers = {
        "Authorization": f"Bearer {config.token}",
        "Idempotency-Key": context.idempotency_key,
    }
    context.log.info("looking up a customer, attempt %s", context.attempt)
    try:
        async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
            response = await client.get(url, params={"email": config.email}, headers=headers)
    except httpx.TransportError as error:
        raise NodeFailure(f"the CRM is unreachable: {error}", kind="crm_unreachable") from error
    return _customer(response)


LOOKUP_CUSTOMER = lookup_customer


def _customer(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status == 404:
        raise NodeFailure("no customer has that email", kind="customer_not_found", retryable=False)
    if status in (401, 403):
        raise NodeFailure("the CRM refused the token", kind="crm_refused", retryable=False)
    if status == 429 or status >= 500:
        raise NodeFailure(
            f"the CRM answered {status}",
            kind="crm_busy",
            retry_after=_retry_after(response),
            details={"status": status},
        )
    if status != 200:
        raise NodeFailure(f"the CRM answered {status}", kind="crm_error", retryable=False)
    body = response.json()
    return {"id": body["id"], "name": body.get("name"), "plan": body.get("plan")}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None
