"""the registration questionnaire per assembly, in versions; each registration's version and its
answers to the optional attitude questions

Revision ID: 0008_questionnaire
Revises: 0007_consent
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0008_questionnaire"
down_revision = "0007_consent"
branch_labels = None
depends_on = None

S = "recruitment"


def upgrade() -> None:
    op.create_table(
        "questionnaires",
        sa.Column("assembly_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.assemblies.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("config", JSONB(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=S,
    )
    op.add_column("respondents", sa.Column("questionnaire_version", sa.Integer(), nullable=True), schema=S)
    op.add_column("respondents", sa.Column("attitudes", JSONB(), server_default=sa.text("'{}'::jsonb"),
                                           nullable=False), schema=S)


def downgrade() -> None:
    op.drop_column("respondents", "attitudes", schema=S)
    op.drop_column("respondents", "questionnaire_version", schema=S)
    op.drop_table("questionnaires", schema=S)
