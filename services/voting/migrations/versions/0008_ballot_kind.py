"""every ballot is final or trial (issue 16), and the finalised lists a final ballot is opened from.
Ballots from before are marked final: until now every ballot was reported as the assembly's result,
so the reports already made from them stay as they were; from now on a ballot is final only when
opened from a finalised list, any other is a trial

Revision ID: 0008_ballot_kind
Revises: 0007_session_titles
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0008_ballot_kind"
down_revision = "0007_session_titles"
branch_labels = None
depends_on = None

S = "voting"


def upgrade() -> None:
    op.add_column("ballots", sa.Column("kind", sa.Text(), nullable=False, server_default="final"), schema=S)
    op.alter_column("ballots", "kind", server_default=None, schema=S)  # new rows say what they are
    op.add_column("ballots", sa.Column("list_id", sa.UUID(), nullable=True), schema=S)
    op.create_unique_constraint("ballots_list_id_key", "ballots", ["list_id"], schema=S)
    op.create_table(
        "final_lists",
        sa.Column("list_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("list_sha256", sa.Text(), nullable=False),
        sa.Column("recommendations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        schema=S,
    )
    op.create_index("ix_voting_final_lists_assembly_id", "final_lists", ["assembly_id"], schema=S)


def downgrade() -> None:
    op.drop_table("final_lists", schema=S)
    op.drop_constraint("ballots_list_id_key", "ballots", schema=S)
    op.drop_column("ballots", "list_id", schema=S)
    op.drop_column("ballots", "kind", schema=S)
