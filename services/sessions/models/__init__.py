"""Sessions' tables (schema `sessions`): the roster, the sessions and attendance."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from shared.audit import audit_table
from shared.db import delivery_tables
from shared.projections import panel_membership_table

metadata = sa.MetaData(schema="sessions")
outbox, inbox = delivery_tables(metadata)
audit = audit_table(metadata)

roster = panel_membership_table(metadata, "roster")

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("phase", sa.Text, nullable=False),
    sa.Column("duration_hours", sa.Float, nullable=False),
    sa.Column("held_at", sa.DateTime(timezone=True)),
)

attendance = sa.Table(
    "attendance",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("present", sa.Boolean, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)
