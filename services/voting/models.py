"""Voting's tables (schema `voting`). Who voted (participation) and what was voted (votes) are
kept in separate tables with no link between them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.db import delivery_tables

metadata = sa.MetaData(schema="voting")
outbox, inbox = delivery_tables(metadata)

eligible = sa.Table(
    "eligible",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

ballots = sa.Table(
    "ballots",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("eligible", sa.Integer, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("results", JSONB),
)

questions = sa.Table(
    "questions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("ballot_id", UUID(as_uuid=True), sa.ForeignKey("ballots.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("recommendation", sa.Text, nullable=False),
)

participation = sa.Table(
    "participation",
    metadata,
    sa.Column("question_id", UUID(as_uuid=True), sa.ForeignKey("questions.id"), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
)

votes = sa.Table(
    "votes",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("ballot_id", UUID(as_uuid=True), sa.ForeignKey("ballots.id"), nullable=False, index=True),
    sa.Column("question_id", UUID(as_uuid=True), sa.ForeignKey("questions.id"), nullable=False),
    sa.Column("choice", sa.Text, nullable=False),
)
