"""surveys: the members' evaluation surveys (who answered apart from what was answered) and the
check-ins per session for the secretariat's live view

Revision ID: 0008_surveys
Revises: 0007_responses
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_surveys"
down_revision = "0007_responses"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("stage", sa.Text(), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_table(
        "survey_respondents",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("stage", sa.Text(), primary_key=True),
        sa.Column("member_id", sa.UUID(), primary_key=True),
        schema=S,
    )
    op.create_table(
        "survey_answers",
        sa.Column("answer_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("answers", JSONB(), nullable=False),
        schema=S,
    )
    op.create_index("ix_survey_answers_assembly_stage", "survey_answers", ["assembly_id", "stage"], schema=S)
    op.create_table(
        "checkins",
        sa.Column("session_id", sa.UUID(), primary_key=True),
        sa.Column("member_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False, index=True),
        sa.Column("present", sa.Boolean(), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for table in ("checkins", "survey_answers", "survey_respondents", "surveys"):
        op.drop_table(table, schema=S)
