"""SQLAlchemy 2 async (asyncpg). Each service owns one PostgreSQL schema, named after it, and
never reads another's tables. `delivery_tables` adds the outbox and inbox to a service's metadata.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from shared.problems import not_found


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None,
                pgbouncer: bool = False) -> AsyncEngine:
    """`pgbouncer`: the URL is a PgBouncer in transaction mode, where one session's statements may
    run on different server connections: no statement is prepared under a name that another
    transaction could meet again (asyncpg's and SQLAlchemy's statement caches off, unique names)."""
    connect_args: dict[str, Any] = {}
    if pgbouncer:
        url = str(sa.make_url(url).update_query_dict({"prepared_statement_cache_size": "0"}))
        connect_args = {"statement_cache_size": 0,
                        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4().hex}__"}
    # hide_parameters: SQLAlchemy's exception text quotes a failed statement's bound values
    # (names, addresses, e-mails), and exception text ends up in logs.
    return create_async_engine(url, pool_size=pool_size,
                               max_overflow=pool_size if max_overflow is None else max_overflow,
                               pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


async def load_or_404(tx: Any, table: sa.Table, what: str, *, lock: bool = False, **key: Any) -> Any:
    """The row of `table` whose columns equal `key` (`id=ballot_id`), optionally locked FOR
    UPDATE, or `NotFound("<what> not found")` (an API answers 404)."""
    q = sa.select(table).where(*(table.c[column] == value for column, value in key.items()))
    row = (await tx.session.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise not_found(what)
    return row


def delivery_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """The transactional outbox and the idempotent-consumer inbox, in the service's own schema."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Index("ix_outbox_unsent", "id", postgresql_where=sa.text("sent_at IS NULL")),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    return outbox, inbox
