"""the recommendations workspace: drafts, versions, amendments, minority statements, the final list

Revision ID: 0003_drafts
Revises: 0002_audit
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0003_drafts"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

SCHEMA = "sessions"
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("group_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("merged_into", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_sessions_drafts_assembly_id", "drafts", ["assembly_id"], schema=SCHEMA)
    op.create_table(
        "draft_versions",
        sa.Column("draft_id", sa.UUID(), sa.ForeignKey(f"{SCHEMA}.drafts.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("amendment_id", sa.UUID(), nullable=True),
        sa.Column("merged_from", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "amendments",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("draft_id", sa.UUID(), sa.ForeignKey(f"{SCHEMA}.drafts.id"), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_sessions_amendments_assembly_id", "amendments", ["assembly_id"], schema=SCHEMA)
    op.create_index("ix_sessions_amendments_draft_id", "amendments", ["draft_id"], schema=SCHEMA)
    op.create_table(
        "minority_statements",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("draft_id", sa.UUID(), sa.ForeignKey(f"{SCHEMA}.drafts.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_sessions_minority_statements_assembly_id", "minority_statements", ["assembly_id"], schema=SCHEMA)
    op.create_index("ix_sessions_minority_statements_draft_id", "minority_statements", ["draft_id"], schema=SCHEMA)
    op.create_table(
        "final_lists",
        sa.Column("list_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False, unique=True),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("list_sha256", sa.Text(), nullable=False),
        sa.Column("recommendations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("final_lists", "minority_statements", "amendments", "draft_versions", "drafts"):
        op.drop_table(table, schema=SCHEMA)
