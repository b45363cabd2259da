"""the regions' names from assembly-created, for the draw's pages (labels, not codes)

Assemblies created before this keep null (their pages show the region codes).

Revision ID: 0006_region_names
Revises: 0005_repl_randomness
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_region_names"
down_revision = "0005_repl_randomness"
branch_labels = None
depends_on = None

SCHEMA = "sortition"


def upgrade() -> None:
    op.add_column("assemblies", sa.Column("regions", JSONB(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("assemblies", "regions", schema=SCHEMA)
