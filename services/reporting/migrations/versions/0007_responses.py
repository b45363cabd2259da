"""responses: the authority's response to each recommendation and the updates on carrying it out

Revision ID: 0007_responses
Revises: 0006_report_versions
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_responses"
down_revision = "0006_report_versions"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("response_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False, index=True),
        sa.Column("ballot_id", sa.UUID(), nullable=False),
        sa.Column("question_id", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("implementation", sa.Text()),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("responsible_body", sa.Text(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date()),
        sa.Column("links", JSONB(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("responses", schema=S)
