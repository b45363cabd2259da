"""Table plans' tables: members' strata (from recruitment's respondent-registered), the needs staff
set per member for seating (language, accessible place), and each session's plan."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.sessions.models import metadata

# Stratification answers by pseudonymous id, as registered (the panel is drawn from these people).
member_strata = sa.Table(
    "member_strata",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("features", JSONB, nullable=False),  # category -> value, region included
)

# Set by staff for seating only; never in an event, a log or the audit trail's details.
table_needs = sa.Table(
    "table_needs",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("language", sa.Text),  # a language the member needs at the table (interpretation)
    sa.Column("accessible", sa.Boolean, nullable=False, server_default=sa.false()),
)

# One plan per session, re-planned in place (version counts up); `published_*` is what members and
# the table-plan-published event saw last.
table_plans = sa.Table(
    "table_plans",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("plan_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("settings", JSONB, nullable=False),  # rounds, sizes, facilitators, accessible tables, seat, seed, keep apart
    sa.Column("rounds", JSONB, nullable=False),  # rounds[r][t] = member ids (str)
    sa.Column("figures", JSONB, nullable=False),
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_version", sa.Integer),
    sa.Column("published_rounds", JSONB),
    sa.Column("published_at", sa.DateTime(timezone=True)),
)
