"""Sortition's tables (schema `sortition`): the pseudonymous pool and the panels drawn from it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.db import delivery_tables

metadata = sa.MetaData(schema="sortition")
outbox, inbox = delivery_tables(metadata)

assemblies = sa.Table(
    "assemblies",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("panel_size", sa.Integer, nullable=False),
    sa.Column("strata", JSONB, nullable=False),
)

pool = sa.Table(
    "pool",
    metadata,
    sa.Column("respondent_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("features", JSONB, nullable=False),
    sa.Column("household", sa.Text),
    sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
)

panels = sa.Table(
    "panels",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("pool_size", sa.Integer, nullable=False),
    sa.Column("members", JSONB, nullable=False),
    sa.Column("reserves", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)
