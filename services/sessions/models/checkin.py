"""Check-in and drop-out tables: how each member was last checked in at a session, staff's
corrections with their reasons, a session's online check-in opened early by staff, the drop-out
rule per assembly with the replacement requests it made, and the panel's quotas (from recruitment's
assembly-created) to draw the composition against."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.sessions.models import metadata

# The last check-in of a member at a session: how (code, online, sheet, correction) and when.
checkins = sa.Table(
    "checkins",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("how", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# A staff correction of a mark. The note may say something personal ("ill"): it stays here, where
# it can be deleted with the assembly, and never goes into the audit trail (which keeps the reason).
attendance_corrections = sa.Table(
    "attendance_corrections",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), nullable=False, index=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False),
    sa.Column("present_before", sa.Boolean),  # None: not marked before
    sa.Column("present", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# Staff opened a digital or hybrid session's online check-in before its usual window.
online_checkin = sa.Table(
    "online_checkin",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
)

# The drop-out rule of an assembly: missed this many held sessions in a row (default in domain).
dropout_rules = sa.Table(
    "dropout_rules",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("missed_in_a_row", sa.Integer, nullable=False),
)

# A replacement request sent to sortition for a member (once per member).
replacement_requests = sa.Table(
    "replacement_requests",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("missed_in_a_row", sa.Integer, nullable=False),
    sa.Column("session_id", UUID(as_uuid=True), nullable=False),  # the session whose closing made it
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
)

# The panel's quotas per category value, from recruitment's assembly-created.
assembly_quotas = sa.Table(
    "assembly_quotas",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("panel_size", sa.Integer, nullable=False),
    sa.Column("strata", JSONB, nullable=False),  # [{"category", "quotas": [{"value", "min", "max"}]}]
    sa.Column("regions", JSONB, nullable=False),  # [{"code", "name", "population"}], for the labels
)

# When a member came onto the panel as a replacement (from sortition's replacement-drawn): the
# drop-out rule judges them only on the sessions held since. Members of the first panel have no row.
member_joined = sa.Table(
    "member_joined",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
