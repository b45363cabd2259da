"""final or trial ballots and the final list of recommendations (issue 16). Ballots known before are
final: until now every ballot was reported as the assembly's result, and the events they came from
(ballot-opened v2/v3) are handled the same way

Revision ID: 0005_final_recommendations
Revises: 0004_anchors
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005_final_recommendations"
down_revision = "0004_anchors"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    op.add_column("ballots", sa.Column("kind", sa.Text(), nullable=True), schema=S)
    op.add_column("ballots", sa.Column("list_id", sa.UUID(), nullable=True), schema=S)
    op.execute(f"UPDATE {S}.ballots SET kind = 'final'")
    op.add_column("questions", sa.Column("recommendation_id", sa.UUID(), nullable=True), schema=S)
    op.create_table(
        "final_recommendations",
        sa.Column("list_id", sa.UUID(), primary_key=True),
        sa.Column("recommendation_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("minority_statements", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        schema=S,
    )
    op.create_index("ix_reporting_final_recommendations_assembly_id", "final_recommendations", ["assembly_id"],
                    schema=S)


def downgrade() -> None:
    op.drop_table("final_recommendations", schema=S)
    op.drop_column("questions", "recommendation_id", schema=S)
    op.drop_column("ballots", "list_id", schema=S)
    op.drop_column("ballots", "kind", schema=S)
