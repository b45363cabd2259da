"""Sortition's tables (schema `sortition`): the pseudonymous pool, its frozen snapshot, the seed
contributions, the draw jobs, the panels drawn from the pool and the replacements."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.audit import audit_table
from shared.db import delivery_tables

metadata = sa.MetaData(schema="sortition")
outbox, inbox = delivery_tables(metadata)
audit = audit_table(metadata)

assemblies = sa.Table(
    "assemblies",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("panel_size", sa.Integer, nullable=False),
    sa.Column("strata", JSONB, nullable=False),
    sa.Column("regions", JSONB),  # [{"code", "name", "population"}]: names for the pages (null before 0006)
)

pool = sa.Table(
    "pool",
    metadata,
    sa.Column("respondent_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("features", JSONB, nullable=False),
    sa.Column("household", sa.Text),
    sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
)

# The pool as it was frozen for the draw: the exact engine input (pseudonymous ids, answers,
# household labels), the draw's fixed parameters, and the hashes published in pool-frozen.
freezes = sa.Table(
    "freezes",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("pool_hash", sa.Text, nullable=False),
    sa.Column("quotas_hash", sa.Text, nullable=False),
    sa.Column("pool_size", sa.Integer, nullable=False),
    sa.Column("panel_size", sa.Integer, nullable=False),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("engine", sa.Text, nullable=False),
    sa.Column("lottery_size", sa.Integer, nullable=False),
    sa.Column("reserves", sa.Integer, nullable=False),
    sa.Column("beacon", sa.Text),  # the beacon (source and round) whose value enters the seed
    sa.Column("people", JSONB, nullable=False),  # [{"id", "features", "household"}] in pool order
    sa.Column("quotas", JSONB, nullable=False),  # [{"category", "value", "min", "max"}]
    sa.Column("frozen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    # volunteers of the frozen pool who withdrew before the first seed reveal: [{"id", "reason"}],
    # fixed at that reveal (before anyone can know the seed) and left out of the draw
    sa.Column("excluded", JSONB),
    sa.Column("excluded_at", sa.DateTime(timezone=True)),
)

seed_contributions = sa.Table(
    "seed_contributions",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("commitment", sa.Text, nullable=False),
    sa.Column("value", sa.Text),  # revealed after the freeze
    sa.Column("committed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("revealed_at", sa.DateTime(timezone=True)),
)

# Background jobs (draws and replacements): the state lives here, so a job outlives the process
# that ran it. A worker claims a pending job (or a running one whose heartbeat went stale) with
# FOR UPDATE SKIP LOCKED; at most one job per assembly is pending or running.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),  # draw | replacement
    sa.Column("status", sa.Text, nullable=False),  # pending | running | succeeded | failed
    sa.Column("params", JSONB, nullable=False),
    sa.Column("progress", sa.Float, nullable=False, server_default=sa.text("0")),
    sa.Column("message", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("worker", sa.Text),
    sa.Column("result", JSONB),
    sa.Column("requested_by", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Index("ux_jobs_one_active_per_assembly", "assembly_id", unique=True,
             postgresql_where=sa.text("status IN ('pending', 'running')")),
    sa.Index("ix_jobs_claimable", "created_at", postgresql_where=sa.text("status IN ('pending', 'running')")),
)

panels = sa.Table(
    "panels",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("seed", sa.Text, nullable=False),  # hex seed of the verifiable draw
    sa.Column("pool_size", sa.Integer, nullable=False),
    sa.Column("members", JSONB, nullable=False),  # the panel now (after replacements)
    sa.Column("reserves", JSONB, nullable=False),  # the ordered reserve list not yet used
    sa.Column("min_probability", sa.Float),
    sa.Column("transcript", JSONB),  # the published transcript of the draw
    sa.Column("transcript_hash", sa.Text),
    sa.Column("fairness", JSONB),  # the fairness report
    # the LEXIMIN result with its certificate of optimality, for `borgerting sortition certify`
    # (null: no certificate, e.g. another algorithm, or drawn before migration 0007)
    sa.Column("certificate", JSONB),
    # alternates chosen for drop-outs after the draw (domain/alternates.py, `alternates_record`): ids,
    # drop-out rates, seed, the simulation; the ids became the reserve list (null: none chosen)
    sa.Column("alternates", JSONB),
    sa.Column("job_id", UUID(as_uuid=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

replacements = sa.Table(
    "replacements",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("panel_id", UUID(as_uuid=True), nullable=False),
    sa.Column("job_id", UUID(as_uuid=True)),
    sa.Column("dropped", JSONB, nullable=False),
    sa.Column("added", JSONB, nullable=False),
    sa.Column("record", JSONB, nullable=False),  # seed, lottery index and size, candidates, probabilities
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("number", sa.Integer),  # 1, 2, ... per assembly (null: made before replacement transcripts)
    sa.Column("transcript", JSONB),  # the public replacement transcript (pseudonymous ids only)
    sa.Column("transcript_hash", sa.Text),
    sa.Index("ux_replacements_assembly_number", "assembly_id", "number", unique=True),
)

# Fresh randomness for each replacement (docs/sortition.md, "Fresh randomness per replacement"):
# the value for replacement n is made before its drop-outs are known (replacement 1's when the
# draw is requested, n+1's when n is requested), its commitment published (the draw's transcript,
# GET .../replacements/commitment, replacement n's next_commitment); the value stays here, secret,
# until replacement n reveals it in its transcript.
replacement_randomness = sa.Table(
    "replacement_randomness",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("commitment", sa.Text, nullable=False),  # sha256 hex of value: public
    sa.Column("value", sa.Text, nullable=False),  # secret until replacement `number` reveals it
    sa.Column("committed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("revealed_at", sa.DateTime(timezone=True)),
)

# Replacement requests that reached sortition from other services: sessions' drop-out rule
# (replacement-requested) and a member declining their place in the portal (place-declined). Each
# is started at once when it can be; one that cannot (another job under way, ...) stays open on the
# replacements page for the secretariat, with the refusal's code.
replacement_requests = sa.Table(
    "replacement_requests",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),  # the event's id: a redelivery is one request
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False),  # "sessions" (drop-out rule) | "portal" (place declined)
    sa.Column("session_id", UUID(as_uuid=True)),  # sessions: the session whose close applied the rule
    sa.Column("missed_in_a_row", sa.Integer),
    sa.Column("members", JSONB, nullable=False),  # pseudonymous ids, as the event gave them
    sa.Column("job_id", UUID(as_uuid=True)),  # the replacement job started for it (null: none could start)
    sa.Column("refusal", sa.Text),  # why none could start: the domain error's code
    sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)
