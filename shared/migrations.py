"""Alembic per service: each service keeps its migrations in services/<name>/migrations and its
version table in its own schema. env.py of every service is one call to `run_env(metadata)`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from shared.db import make_engine
from shared.settings import get_settings


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations_dir, url), revision)


def run_env(metadata: sa.MetaData) -> None:
    """Body of a service's migrations/env.py (online, async engine)."""
    schema = metadata.schema
    url = context.config.get_main_option("sqlalchemy.url")

    def do_run(connection) -> None:
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        # through PgBouncer (transaction mode) like the service itself: no named statement outlives
        # its transaction
        engine = make_engine(url, pool_size=1, max_overflow=0, pgbouncer=get_settings().db_pgbouncer)
        async with engine.begin() as conn:
            # one migrator at a time per service (replicas may start together)
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            await conn.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run())


def create_audit_heads(schema: str) -> None:
    """In a migration: the table of every trail's latest head (shared.audit.audit_heads_table)."""
    from alembic import op

    op.create_table(
        "audit_heads",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", "service"),
        schema=schema,
    )
