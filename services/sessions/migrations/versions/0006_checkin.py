"""check-in and drop-out: check-ins, corrections, online check-in, drop-out rule, replacement
requests, the panel's quotas, when replacements joined

Revision ID: 0006_checkin
Revises: 0005_tables
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0006_checkin"
down_revision = "0005_tables"
branch_labels = None
depends_on = None

S = "sessions"


def upgrade() -> None:
    op.create_table(
        "checkins",
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id"), primary_key=True),
        sa.Column("member_id", sa.UUID(), primary_key=True),
        sa.Column("how", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "attendance_corrections",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id"), nullable=False, index=True),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("present_before", sa.Boolean()),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "online_checkin",
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id"), primary_key=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "dropout_rules",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("missed_in_a_row", sa.Integer(), nullable=False),
        schema=S,
    )
    op.create_table(
        "replacement_requests",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("member_id", sa.UUID(), primary_key=True),
        sa.Column("missed_in_a_row", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "assembly_quotas",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("panel_size", sa.Integer(), nullable=False),
        sa.Column("strata", postgresql.JSONB(), nullable=False),
        sa.Column("regions", postgresql.JSONB(), nullable=False),
        schema=S,
    )
    op.create_table(
        "member_joined",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("member_id", sa.UUID(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for name in ("member_joined", "assembly_quotas", "replacement_requests", "dropout_rules", "online_checkin",
                 "attendance_corrections", "checkins"):
        op.drop_table(name, schema=S)
