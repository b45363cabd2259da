"""verifiable draw: frozen pool, seed contributions, jobs, transcripts, replacements

Revision ID: 0003_draw
Revises: 0002_audit
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0003_draw"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

SCHEMA = "sortition"
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "freezes",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("pool_hash", sa.Text(), nullable=False),
        sa.Column("quotas_hash", sa.Text(), nullable=False),
        sa.Column("pool_size", sa.Integer(), nullable=False),
        sa.Column("panel_size", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.Text(), nullable=False),
        sa.Column("engine", sa.Text(), nullable=False),
        sa.Column("lottery_size", sa.Integer(), nullable=False),
        sa.Column("reserves", sa.Integer(), nullable=False),
        sa.Column("beacon", sa.Text(), nullable=True),
        sa.Column("people", JSONB, nullable=False),
        sa.Column("quotas", JSONB, nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "seed_contributions",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("commitment", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("assembly_id", "name"),
        schema=SCHEMA,
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("params", JSONB, nullable=False),
        sa.Column("progress", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("worker", sa.Text(), nullable=True),
        sa.Column("result", JSONB, nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_sortition_jobs_assembly_id"), "jobs", ["assembly_id"], unique=False, schema=SCHEMA)
    op.create_index("ux_jobs_one_active_per_assembly", "jobs", ["assembly_id"], unique=True, schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('pending', 'running')"))
    op.create_index("ix_jobs_claimable", "jobs", ["created_at"], unique=False, schema=SCHEMA,
                    postgresql_where=sa.text("status IN ('pending', 'running')"))
    op.create_table(
        "replacements",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("panel_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=True),
        sa.Column("dropped", JSONB, nullable=False),
        sa.Column("added", JSONB, nullable=False),
        sa.Column("record", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_sortition_replacements_assembly_id"), "replacements", ["assembly_id"], unique=False,
                    schema=SCHEMA)
    # panels: the seed is now the hex seed of the verifiable draw; the transcript and report are kept
    op.alter_column("panels", "seed", existing_type=sa.BigInteger(), type_=sa.Text(), postgresql_using="seed::text",
                    existing_nullable=False, schema=SCHEMA)
    op.add_column("panels", sa.Column("min_probability", sa.Float(), nullable=True), schema=SCHEMA)
    op.add_column("panels", sa.Column("transcript", JSONB, nullable=True), schema=SCHEMA)
    op.add_column("panels", sa.Column("transcript_hash", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("panels", sa.Column("fairness", JSONB, nullable=True), schema=SCHEMA)
    op.add_column("panels", sa.Column("job_id", sa.UUID(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("panels", "job_id", schema=SCHEMA)
    op.drop_column("panels", "fairness", schema=SCHEMA)
    op.drop_column("panels", "transcript_hash", schema=SCHEMA)
    op.drop_column("panels", "transcript", schema=SCHEMA)
    op.drop_column("panels", "min_probability", schema=SCHEMA)
    op.alter_column("panels", "seed", existing_type=sa.Text(), type_=sa.BigInteger(),
                    postgresql_using="CASE WHEN seed ~ '^[0-9]+$' THEN seed::bigint ELSE 0 END",
                    existing_nullable=False, schema=SCHEMA)
    op.drop_index(op.f("ix_sortition_replacements_assembly_id"), table_name="replacements", schema=SCHEMA)
    op.drop_table("replacements", schema=SCHEMA)
    op.drop_index("ix_jobs_claimable", table_name="jobs", schema=SCHEMA)
    op.drop_index("ux_jobs_one_active_per_assembly", table_name="jobs", schema=SCHEMA)
    op.drop_index(op.f("ix_sortition_jobs_assembly_id"), table_name="jobs", schema=SCHEMA)
    op.drop_table("jobs", schema=SCHEMA)
    op.drop_table("seed_contributions", schema=SCHEMA)
    op.drop_table("freezes", schema=SCHEMA)
