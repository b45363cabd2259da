"""the consent each registration agreed to: version, language and the SHA-256 of its words

Revision ID: 0007_consent
Revises: 0006_stipends
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_consent"
down_revision = "0006_stipends"
branch_labels = None
depends_on = None

S = "recruitment"


def upgrade() -> None:
    for column in ("consent_version", "consent_lang", "consent_sha256"):
        op.add_column("respondents", sa.Column(column, sa.Text(), nullable=True), schema=S)


def downgrade() -> None:
    for column in ("consent_sha256", "consent_lang", "consent_version"):
        op.drop_column("respondents", column, schema=S)
