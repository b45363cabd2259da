"""the programme: session settings and venues, agenda items, experts, documents, witness requests

Revision ID: 0004_programme
Revises: 0003_drafts
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_programme"
down_revision = "0003_drafts"
branch_labels = None
depends_on = None

S = "sessions"


def upgrade() -> None:
    op.create_table(
        "session_settings",
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id"), primary_key=True),
        sa.Column("online_url", sa.Text()),
        sa.Column("capacity", sa.Integer()),
        sa.Column("revision", sa.Integer(), server_default="0", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_table(
        "venues",
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("venue", sa.Text(), nullable=False),
        schema=S,
    )
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phase", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_sessions_agenda_items_session_id", "agenda_items", ["session_id"], schema=S)
    op.create_table(
        "experts",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("affiliation", sa.Text(), nullable=False),
        sa.Column("interests", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        schema=S,
    )
    op.create_index("ix_sessions_experts_assembly_id", "experts", ["assembly_id"], schema=S)
    op.create_table(
        "item_speakers",
        sa.Column("item_id", sa.UUID(), sa.ForeignKey(f"{S}.agenda_items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("expert_id", sa.UUID(), sa.ForeignKey(f"{S}.experts.id"), primary_key=True),
        schema=S,
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.UUID(), sa.ForeignKey(f"{S}.agenda_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("filename", sa.Text()),
        sa.Column("media_type", sa.Text()),
        sa.Column("size", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_sessions_documents_item_id", "documents", ["item_id"], schema=S)
    op.create_table(
        "witness_requests",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), sa.ForeignKey(f"{S}.sessions.id")),
        sa.Column("wanted", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("answer", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("ix_sessions_witness_requests_assembly_id", "witness_requests", ["assembly_id"], schema=S)


def downgrade() -> None:
    for table in ("witness_requests", "documents", "item_speakers", "experts", "agenda_items", "venues",
                  "session_settings"):
        op.drop_table(table, schema=S)
