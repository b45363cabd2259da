"""report versions: the published report in Danish and English, HTML and PDF, one immutable row per
version; the pool's freeze (seed commitments) and the replacements for the report

Revision ID: 0006_report_versions
Revises: 0005_final_recommendations
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_report_versions"
down_revision = "0005_final_recommendations"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    op.create_table(
        "pool_freezes",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("pool_hash", sa.Text(), nullable=False),
        sa.Column("quotas_hash", sa.Text(), nullable=False),
        sa.Column("pool_size", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.Text(), nullable=False),
        sa.Column("engine", sa.Text(), nullable=False),
        sa.Column("lottery_size", sa.Integer(), nullable=False),
        sa.Column("reserves", sa.Integer(), nullable=False),
        sa.Column("beacon", sa.Text()),
        sa.Column("commitments", JSONB(), nullable=False),
        schema=S,
    )
    op.create_table(
        "replacements",
        sa.Column("event_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        schema=S,
    )
    op.create_table(
        "report_versions",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.UUID(), nullable=False, unique=True),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("figures", JSONB(), nullable=False),
        sa.Column("changes", JSONB(), nullable=False),
        sa.Column("html_da", sa.Text()),
        sa.Column("html_en", sa.Text()),
        sa.Column("pdf_da", sa.LargeBinary()),
        sa.Column("pdf_en", sa.LargeBinary()),
        sa.Column("hashes", JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", "version"),
        schema=S,
    )
    # Reports published before versions (one language, no PDF) become versions 1, 2, ... in order.
    op.execute(f"""
        INSERT INTO {S}.report_versions (assembly_id, version, report_id, published_at, figures, changes,
                                         html_da, html_en, hashes)
        SELECT assembly_id, row_number() OVER (PARTITION BY assembly_id ORDER BY published_at), report_id,
               published_at, '{{}}'::jsonb, '[]'::jsonb,
               CASE WHEN html LIKE '%<html lang="en">%' THEN NULL ELSE html END,
               CASE WHEN html LIKE '%<html lang="en">%' THEN html ELSE NULL END,
               jsonb_build_object(CASE WHEN html LIKE '%<html lang="en">%' THEN 'en.html' ELSE 'da.html' END, sha256)
        FROM {S}.reports""")
    op.drop_table("reports", schema=S)
    # A published version is immutable: the database itself refuses to change or remove one.
    op.execute(f"""
        CREATE FUNCTION {S}.report_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'a published report version is immutable: publish a new version instead'; END $$""")
    op.execute(f"""
        CREATE TRIGGER report_versions_immutable BEFORE UPDATE OR DELETE ON {S}.report_versions
        FOR EACH ROW EXECUTE FUNCTION {S}.report_versions_immutable()""")


def downgrade() -> None:
    op.execute(f"DROP TRIGGER report_versions_immutable ON {S}.report_versions")
    op.execute(f"DROP FUNCTION {S}.report_versions_immutable()")
    op.create_table(
        "reports",
        sa.Column("report_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False, index=True),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=S,
    )
    op.drop_table("report_versions", schema=S)
    op.drop_table("replacements", schema=S)
    op.drop_table("pool_freezes", schema=S)
