"""Reporting's read models (schema `reporting`), built only from events. Facts are stored one row
per fact, and the figures are computed from them, so the order events arrive in does not matter."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.audit import audit_heads_table, audit_table
from shared.db import delivery_tables

metadata = sa.MetaData(schema="reporting")
outbox, inbox = delivery_tables(metadata)
audit = audit_table(metadata)
audit_heads = audit_heads_table(metadata)  # every service's trail, anchored in the report

assemblies = sa.Table(
    "assemblies",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("panel_size", sa.Integer, nullable=False),
    sa.Column("regions", JSONB, nullable=False),
    sa.Column("strata", JSONB, nullable=False),
)

invitation_batches = sa.Table(
    "invitation_batches",
    metadata,
    sa.Column("batch_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("per_region", JSONB, nullable=False),
)

respondents = sa.Table(
    "respondents",
    metadata,
    sa.Column("respondent_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("features", JSONB, nullable=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
)

panels = sa.Table(
    "panels",
    metadata,
    sa.Column("panel_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("pool_size", sa.Integer, nullable=False),
    sa.Column("min_probability", sa.Float),
    sa.Column("transcript_hash", sa.Text),
)

panel_members = sa.Table(
    "panel_members",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("role", sa.Text, nullable=False),  # member | reserve | replaced
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("title", sa.Text),
    sa.Column("phase", sa.Text),
    sa.Column("mode", sa.Text),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    sa.Column("duration_hours", sa.Float),
    sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("present", sa.Integer),
    sa.Column("absent", sa.Integer),
    # from session-scheduled v2: the highest revision of the programme seen, and its agenda
    # ([{phase, title, minutes, speakers: [{expert_id, name, affiliation, kind}]}]; public people only)
    sa.Column("programme_revision", sa.Integer),
    sa.Column("agenda", JSONB),
    # the event whose schedule the row holds (session-scheduled v1 or v2, the latest by time then id)
    sa.Column("scheduled_at", sa.DateTime(timezone=True)),
    sa.Column("scheduled_by", UUID(as_uuid=True)),
)

# Voting (v2 events). Choices arrive with each vote-cast event, but nothing is counted from them
# while a ballot is open: support per recommendation comes from results-tallied, after close.
ballots = sa.Table(
    "ballots",
    metadata,
    sa.Column("ballot_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("threshold", sa.Text, nullable=False),  # e.g. ">= 7/10 of valid_votes"
    sa.Column("members", sa.Integer, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("ballots_cast", sa.Integer),  # from results-tallied
    sa.Column("quorum_met", sa.Boolean),
    # final | trial (ballot-opened v4, results-tallied v3); v2/v3 openings and v2 tallies are from
    # before ballots were marked and count as final (as they did then). NULL: not known yet, and a
    # ballot of unknown kind is never counted as the result.
    sa.Column("kind", sa.Text),
    sa.Column("list_id", UUID(as_uuid=True)),
)

questions = sa.Table(
    "questions",
    metadata,
    sa.Column("ballot_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("question_id", sa.Text, primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("recommendation", sa.Boolean, nullable=False),
    # filled by results-tallied
    sa.Column("counts", JSONB),
    sa.Column("support", sa.Integer),
    sa.Column("base", sa.Integer),
    sa.Column("threshold", sa.Text),
    sa.Column("passed", sa.Boolean),
    sa.Column("outcome", JSONB),  # approval: passed options; ranking: order
    sa.Column("recommendation_id", UUID(as_uuid=True)),  # final ballot: the recommendation put to the vote
)

# From sessions.recommendations-finalised.v1: the final list with each text in full, its hash, the
# rationale and the minority statements (the report prints them beside the support each got).
final_recommendations = sa.Table(
    "final_recommendations",
    metadata,
    sa.Column("list_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("recommendation_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_sha256", sa.Text, nullable=False),
    sa.Column("rationale", sa.Text, nullable=False),
    sa.Column("minority_statements", JSONB, nullable=False),  # [{statement_id, text}]
)

votes = sa.Table(
    "votes",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),  # on the assembly's bulletin board
    sa.Column("ballot_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("token_hash", sa.Text),
    sa.Column("choices", JSONB, nullable=False),
)

# The assembly's bulletin board and its key's fingerprint (ballot-opened v3), published in the
# report so that `borgerting voting verify --report` can pin the key.
boards = sa.Table(
    "boards",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("board_id", sa.Text, nullable=False),
    sa.Column("board_key_fingerprint", sa.Text, nullable=False),
)

# The pool as sortition froze it for the draw (pool-frozen): the parameters fixed before the seeds
# were revealed and the seed commitments, published in the report.
pool_freezes = sa.Table(
    "pool_freezes",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("pool_hash", sa.Text, nullable=False),
    sa.Column("quotas_hash", sa.Text, nullable=False),
    sa.Column("pool_size", sa.Integer, nullable=False),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("engine", sa.Text, nullable=False),
    sa.Column("lottery_size", sa.Integer, nullable=False),
    sa.Column("reserves", sa.Integer, nullable=False),
    sa.Column("beacon", sa.Text),
    sa.Column("commitments", JSONB, nullable=False),  # [{name, commitment}]
)

# One row per replacement-drawn event (its envelope id): how many dropped out and came in, when.
replacements = sa.Table(
    "replacements",
    metadata,
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dropped", sa.Integer, nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
)

# The published report: one row per version, never updated or deleted (a trigger refuses both,
# migration 0005). Each holds the documents exactly as they were hashed, the figures they were
# made from (for the next version's "what changed") and what changed since the version before.
report_versions = sa.Table(
    "report_versions",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("report_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),  # why a correction was published
    sa.Column("figures", JSONB, nullable=False),
    sa.Column("changes", JSONB, nullable=False),  # [{figure, before, after}] against version - 1
    sa.Column("html_da", sa.Text),
    sa.Column("html_en", sa.Text),
    sa.Column("pdf_da", sa.LargeBinary),
    sa.Column("pdf_en", sa.LargeBinary),
    sa.Column("hashes", JSONB, nullable=False),  # document name (da.html, ...) -> sha256 hex
)

# The authority's responses to the recommendations and the updates on carrying them out, one row
# per recorded entry (recommendation-response-recorded); a later entry never replaces an earlier one.
responses = sa.Table(
    "responses",
    metadata,
    sa.Column("response_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("ballot_id", UUID(as_uuid=True), nullable=False),
    sa.Column("question_id", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("implementation", sa.Text),
    sa.Column("reasoning", sa.Text, nullable=False),
    sa.Column("responsible_body", sa.Text, nullable=False),
    sa.Column("answered_on", sa.Date, nullable=False),
    sa.Column("deadline", sa.Date),
    sa.Column("links", JSONB, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# ---- the members' evaluation surveys (issue 14; docs/evaluation.md) -------------------------
# Not built from events: the answers are reporting's own data, and a rebuild of the read models
# leaves these three tables alone. Who answered and what was answered are kept apart: the
# answers carry no member id and no time, only a random key, and are re-written in random order
# when the survey closes (so that neither their physical order nor their transaction ids pair
# them with the row that says who answered).
surveys = sa.Table(
    "surveys",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("stage", sa.Text, primary_key=True),  # start | middle | end
    sa.Column("state", sa.Text, nullable=False),  # open | closed
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
)

survey_respondents = sa.Table(  # who has answered (so no one answers twice): no answers, no time
    "survey_respondents",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("stage", sa.Text, primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
)

survey_answers = sa.Table(  # what was answered: no member id, no time
    "survey_answers",
    metadata,
    sa.Column("answer_id", UUID(as_uuid=True), primary_key=True),  # random, new at every shuffle
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("answers", JSONB, nullable=False),  # question id -> 1..5 or text
    sa.Index("ix_survey_answers_assembly_stage", "assembly_id", "stage"),
)

# Check-ins per session and member (attendance-recorded), for the secretariat's live view.
checkins = sa.Table(
    "checkins",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("present", sa.Boolean, nullable=False),
)


# Reporting's own data, not built from events: a rebuild of the read models keeps these (the
# outgoing events, the audit trail, the published report's versions and the surveys' answers).
OWN = frozenset({"outbox", "audit", "report_versions", "surveys", "survey_respondents", "survey_answers"})


def read_models() -> list[sa.Table]:
    """The tables built only from events, which a rebuild empties and fills again (the inbox too:
    its rows say which events the read models hold)."""
    return [t for t in metadata.sorted_tables if t.name not in OWN]
