"""withdrawals fixed into the draw (at the first seed reveal); a public transcript per replacement

Revision ID: 0004_repl_transcripts
Revises: 0003_draw
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0004_repl_transcripts"
down_revision = "0003_draw"
branch_labels = None
depends_on = None

SCHEMA = "sortition"
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.add_column("freezes", sa.Column("excluded", JSONB, nullable=True), schema=SCHEMA)
    op.add_column("freezes", sa.Column("excluded_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column("replacements", sa.Column("number", sa.Integer(), nullable=True), schema=SCHEMA)
    op.add_column("replacements", sa.Column("transcript", JSONB, nullable=True), schema=SCHEMA)
    op.add_column("replacements", sa.Column("transcript_hash", sa.Text(), nullable=True), schema=SCHEMA)
    op.create_index("ux_replacements_assembly_number", "replacements", ["assembly_id", "number"], unique=True,
                    schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ux_replacements_assembly_number", table_name="replacements", schema=SCHEMA)
    op.drop_column("replacements", "transcript_hash", schema=SCHEMA)
    op.drop_column("replacements", "transcript", schema=SCHEMA)
    op.drop_column("replacements", "number", schema=SCHEMA)
    op.drop_column("freezes", "excluded_at", schema=SCHEMA)
    op.drop_column("freezes", "excluded", schema=SCHEMA)
