"""Database URLs: what users give (libpq or Supabase style) and what the drivers need.

A URL may point at a transaction-mode pooler (PgBouncer, Supabase's pooler on port 6543,
RDS Proxy): each transaction may run on another server session, so nothing that lives in
a session (server-side prepared statements, LISTEN, session advisory locks, plain `SET`)
can be relied on through it. `is_transaction_pooler` says whether a URL does, and
`driver_options` what every connection through it needs.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.engine import make_url

DRIVER_SCHEME = "postgresql+psycopg://"
_PLAIN_SCHEMES = ("postgresql://", "postgres://")

TRANSACTION_POOLER_PORT = 6543
"""The port of Supabase's transaction pooler: a URL with it is taken to be one."""
POOLER_MARKER = "pgbouncer"
"""The query parameter (`?pgbouncer=true`, as Prisma and Supabase write it) that marks a URL
as a transaction pooler's; it is not a libpq parameter, so it never reaches the driver."""
POOLER_MODES = ("auto", "transaction", "session")
"""How a URL's pooler is known: detected (`auto`), or declared: `transaction` for a
transaction-mode pooler, `session` for a direct connection or a session-mode pooler."""
_TRUE = frozenset({"true", "1", "yes", "on"})


def sqlalchemy_url(url: str) -> str:
    """`postgresql://`, `postgres://` or `postgresql+psycopg://` as a psycopg 3 SQLAlchemy URL."""
    url = url.strip()
    for scheme in _PLAIN_SCHEMES:
        if url.startswith(scheme):
            return DRIVER_SCHEME + url.removeprefix(scheme)
    if not url.startswith(DRIVER_SCHEME):
        raise ValueError("the database URL must start with postgresql:// or postgres://")
    return url


def libpq_url(url: str) -> str:
    """The same URL in the `postgresql://` form that libpq tools (`psql`, `pg_dump`) accept."""
    return "postgresql://" + sqlalchemy_url(url).removeprefix(DRIVER_SCHEME)


def libpq_conninfo(url: str, database: str | None = None) -> str:
    """The same database (or `database` on that server) as a libpq connection string."""
    parsed = make_url(sqlalchemy_url(url))
    params: dict[str, Any] = {
        key: value if isinstance(value, str) else value[-1]
        for key, value in parsed.query.items()
        if key != POOLER_MARKER
    }
    fields = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": database or parsed.database,
    }
    params.update({key: value for key, value in fields.items() if value})
    return psycopg.conninfo.make_conninfo(**params)


def is_transaction_pooler(url: str, declared: str = "auto") -> bool:
    """Whether connections to `url` go through a transaction-mode pooler: as `declared`
    (one of `POOLER_MODES`), or, when that is `auto`, when the URL's port is 6543 or it
    carries `pgbouncer=true`."""
    if declared not in POOLER_MODES:
        raise ValueError(f"the pooler mode must be one of {', '.join(POOLER_MODES)}")
    if declared != "auto":
        return declared == "transaction"
    parsed = make_url(sqlalchemy_url(url))
    marker = parsed.query.get(POOLER_MARKER, "")
    marked = (marker if isinstance(marker, str) else marker[-1]).lower() in _TRUE
    return marked or parsed.port == TRANSACTION_POOLER_PORT


def conninfo_is_transaction_pooler(conninfo: str) -> bool:
    """`is_transaction_pooler` for a libpq connection string, which has lost any marker
    parameter: only the port can tell."""
    port = psycopg.conninfo.conninfo_to_dict(conninfo).get("port")
    return str(port) == str(TRANSACTION_POOLER_PORT)


def driver_options(transaction_pooler: bool) -> dict[str, Any]:
    """psycopg connection arguments for a connection through a transaction pooler or not.

    psycopg prepares a statement on the server after it has run a few times on one
    connection; through a transaction pooler the next run may land on another server
    session, where that statement does not exist (or another one has its name)."""
    return {"prepare_threshold": None} if transaction_pooler else {}


def driver_url(url: str) -> str:
    """The SQLAlchemy URL to hand to the driver: without the pooler marker, which libpq
    would refuse."""
    parsed = make_url(sqlalchemy_url(url))
    if POOLER_MARKER not in parsed.query:
        return sqlalchemy_url(url)
    return parsed.difference_update_query([POOLER_MARKER]).render_as_string(hide_password=False)
