"""voting v2 read models: ballots, questions of every type, votes by board position

Revision ID: 0003_voting_v2
Revises: 0002_audit
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0003_voting_v2"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    # The v1 rows came from retired events; the read model is rebuilt from v2 events.
    op.drop_table("votes", schema=S)
    op.drop_table("questions", schema=S)
    op.drop_table("ballots", schema=S)
    op.create_table(
        "ballots",
        sa.Column("ballot_id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("threshold", sa.Text(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("ballots_cast", sa.Integer(), nullable=True),
        sa.Column("quorum_met", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("ballot_id"),
        schema=S,
    )
    op.create_index("ix_reporting_ballots_assembly_id", "ballots", ["assembly_id"], schema=S)
    op.create_table(
        "questions",
        sa.Column("ballot_id", sa.UUID(), nullable=False),
        sa.Column("question_id", sa.Text(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("recommendation", sa.Boolean(), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("support", sa.Integer(), nullable=True),
        sa.Column("base", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.Text(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("ballot_id", "question_id"),
        schema=S,
    )
    op.create_index("ix_reporting_questions_assembly_id", "questions", ["assembly_id"], schema=S)
    op.create_table(
        "votes",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("ballot_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=True),
        sa.Column("choices", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", "position"),
        schema=S,
    )
    op.create_index("ix_reporting_votes_ballot_id", "votes", ["ballot_id"], schema=S)


def downgrade() -> None:
    raise NotImplementedError("the v1 voting read models are not restored")
