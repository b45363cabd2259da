"""secret, verifiable ballots: blind-signature tokens, bulletin board, officials' entries

Replaces the foundation's skeleton tables (ballots/questions/participation/votes, which linked
nothing but held no secret ballot) with the issue 4 design.

Revision ID: 0003_secret_ballots
Revises: 0002_audit
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0003_secret_ballots"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

S = "voting"


def upgrade() -> None:
    op.drop_table("votes", schema=S)
    op.drop_table("participation", schema=S)
    op.drop_table("questions", schema=S)
    op.drop_table("ballots", schema=S)
    op.create_table(
        "checkins",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "member_id"),
        schema=S,
    )
    op.create_index("ix_voting_checkins_assembly_id", "checkins", ["assembly_id"], schema=S)
    op.create_table(
        "ballots",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_key_pem", sa.Text(), nullable=False),
        sa.Column("token_key_id", sa.Text(), nullable=False),
        sa.Column("secret_key_pem", sa.Text(), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    op.create_index("ix_voting_ballots_assembly_id", "ballots", ["assembly_id"], schema=S)
    op.create_table(
        "issued",
        sa.Column("ballot_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["ballot_id"], [f"{S}.ballots.id"]),
        sa.PrimaryKeyConstraint("ballot_id", "member_id"),
        schema=S,
    )
    op.create_table(
        "boards",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.Text(), nullable=False),
        sa.Column("head_position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("head_hash", sa.Text(), nullable=False),
        sa.Column("last_checkpoint", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("assembly_id"),
        schema=S,
    )
    op.create_table(
        "entries",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("ballot_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=True),
        sa.Column("sheet_id", sa.Text(), nullable=True),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("entry", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["ballot_id"], [f"{S}.ballots.id"]),
        sa.PrimaryKeyConstraint("assembly_id", "position"),
        sa.UniqueConstraint("token_hash"),
        sa.UniqueConstraint("ballot_id", "sheet_id", name="uq_entries_sheet"),
        schema=S,
    )
    op.create_index("ix_voting_entries_ballot_id", "entries", ["ballot_id"], schema=S)
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    op.create_index("ix_voting_checkpoints_assembly_id", "checkpoints", ["assembly_id"], schema=S)
    op.create_table(
        "official_entries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("ballot_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sheet_id", sa.Text(), nullable=False),
        sa.Column("choices", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("choices_digest", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.Text(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["ballot_id"], [f"{S}.ballots.id"]),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    op.create_index("ix_voting_official_entries_ballot_id", "official_entries", ["ballot_id"], schema=S)


def downgrade() -> None:
    for t in ("official_entries", "checkpoints", "entries", "boards", "issued", "ballots", "checkins"):
        op.drop_table(t, schema=S)
    raise NotImplementedError("the skeleton tables of 0001 are not restored; restore from a backup")
