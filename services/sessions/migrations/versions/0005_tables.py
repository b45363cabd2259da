"""table plans: members' strata, seating needs, one plan per session

Revision ID: 0005_tables
Revises: 0004_programme
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005_tables"
down_revision = "0004_programme"
branch_labels = None
depends_on = None

S = "sessions"


def upgrade() -> None:
    op.create_table(
        "member_strata",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("member_id", sa.UUID(), primary_key=True),
        sa.Column("features", postgresql.JSONB(), nullable=False),
        schema=S,
    )
    op.create_table(
        "table_needs",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("member_id", sa.UUID(), primary_key=True),
        sa.Column("language", sa.Text()),
        sa.Column("accessible", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema=S,
    )
    op.create_table(
        "table_plans",
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id"), primary_key=True),
        sa.Column("plan_id", sa.UUID(), nullable=False, unique=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", postgresql.JSONB(), nullable=False),
        sa.Column("rounds", postgresql.JSONB(), nullable=False),
        sa.Column("figures", postgresql.JSONB(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_version", sa.Integer()),
        sa.Column("published_rounds", postgresql.JSONB()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_sessions_table_plans_assembly_id", "table_plans", ["assembly_id"], schema=S)


def downgrade() -> None:
    op.drop_table("table_plans", schema=S)
    op.drop_table("table_needs", schema=S)
    op.drop_table("member_strata", schema=S)
