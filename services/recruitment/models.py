"""Recruitment's tables (schema `recruitment`). The only place personal data lives."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.audit import audit_table
from shared.db import delivery_tables
from shared.projections import panel_membership_table

metadata = sa.MetaData(schema="recruitment")
outbox, inbox = delivery_tables(metadata)
audit = audit_table(metadata)

assemblies = sa.Table(
    "assemblies",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("panel_size", sa.Integer, nullable=False),
    sa.Column("regions", JSONB, nullable=False),
    sa.Column("strata", JSONB, nullable=False),
    # What the invitation letters say about the assembly (services/recruitment/printing).
    sa.Column("commissioner", sa.Text),
    sa.Column("remit", sa.Text),
    sa.Column("remit_en", sa.Text),
    sa.Column("session_dates", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),  # ISO dates
    sa.Column("stipend_ore", sa.BigInteger),  # per session day, in øre
    sa.Column("reply_by", sa.Date),
    # Expected reply rates per stratum ({category: {value: rate}}) for the invitation sample's
    # oversampling (domain/sampling.py).
    sa.Column("reply_rates", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

# The population-register extract. Name, address, register id and contact details are in the
# identity vault (identities, and their keys in the key store); person_key is a keyed hash of the register id.
register_entries = sa.Table(
    "register_entries",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), sa.ForeignKey("assemblies.id"), nullable=False, index=True),
    sa.Column("person_key", sa.String(64), nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("age_band", sa.Text),  # where the extract has them: strata of the invitation sample
    sa.Column("gender", sa.Text),
    sa.Column("invited", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("assembly_id", "person_key", name="uq_register_person"),
)

invitation_batches = sa.Table(
    "invitation_batches",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), sa.ForeignKey("assemblies.id"), nullable=False, index=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("per_region", JSONB, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False, server_default="invitation"),  # invitation | reminder | targeted
    sa.Column("plan", JSONB),  # a targeted wave's computation per stratum, as shown on screen
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), sa.ForeignKey("assemblies.id"), nullable=False, index=True),
    sa.Column("batch_id", UUID(as_uuid=True), sa.ForeignKey("invitation_batches.id"), nullable=False),
    sa.Column("register_entry_id", sa.BigInteger, sa.ForeignKey("register_entries.id"), nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    # A reminder letter carries a second code for the same invitation (the first still works).
    sa.Column("reminder_code_hash", sa.String(64)),
    sa.Column("reminded_at", sa.DateTime(timezone=True)),
    # A letter the post or Digital Post returned as undeliverable.
    sa.Column("undeliverable_at", sa.DateTime(timezone=True)),
    sa.Column("undeliverable_reason", sa.Text),
    sa.UniqueConstraint("reminder_code_hash", name="uq_invitations_reminder_code_hash"),
)

respondents = sa.Table(
    "respondents",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),  # pseudonymous id used everywhere else
    sa.Column("assembly_id", UUID(as_uuid=True), sa.ForeignKey("assemblies.id"), nullable=False, index=True),
    sa.Column("invitation_id", UUID(as_uuid=True), sa.ForeignKey("invitations.id"), nullable=False, unique=True),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("features", JSONB, nullable=False),
    sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
    # the consent agreed to (domain/consent.py): its version, language and the SHA-256 of its words
    sa.Column("consent_version", sa.Text),
    sa.Column("consent_lang", sa.Text),
    sa.Column("consent_sha256", sa.Text),
    sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    # the questionnaire's version the person answered (None: before questionnaires had versions)
    # and their answers to its optional attitude questions ({key: value}; not sent to other services)
    sa.Column("questionnaire_version", sa.Integer),
    sa.Column("attitudes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
)

# The registration questionnaire per assembly (domain/questionnaire.py), one row per saved version;
# the newest is the one asked. Versions are kept: each registration names the one it answered.
questionnaires = sa.Table(
    "questionnaires",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), sa.ForeignKey("assemblies.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

# The panel as sortition drew it (from panel-drawn / replacement-drawn), to send selection letters.
members = panel_membership_table(metadata, "members")

# A member's login code (printed in the selection letter; stored only as a hash). Exchanged at
# POST /member-login for a member token.
member_codes = sa.Table(
    "member_codes",
    metadata,
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("code_hash", sa.Text, nullable=False, unique=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True)),
)


# ---- the identity vault (services/recruitment/vault.py, docs/privacy.md) ----------------------

# Each person's name, address, register id and contact details: AES-GCM under the person's own data
# key (nonce || ciphertext). Kept after an erasure: without its data key it is noise.
identities = sa.Table(
    "identities",
    metadata,
    sa.Column("entry_id", sa.BigInteger, sa.ForeignKey("register_entries.id"), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("erased_at", sa.DateTime(timezone=True)),
    sa.Column("erasure", sa.Text),  # why: unselected | handover | request
)

# The wrapped data keys are not here: they are in the key store, a database of its own outside this
# database's backups (services/recruitment/keystore.py), so that deleting one erases its identity in
# every backup of this database too.

# When an assembly's panel was drawn and its report handed over (from sortition's and reporting's
# events): the retention schedule's start dates.
privacy_dates = sa.Table(
    "privacy_dates",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("drawn_at", sa.DateTime(timezone=True)),
    sa.Column("handed_over_at", sa.DateTime(timezone=True)),
)

# ---- places and stipends (services/recruitment/handlers/stipends.py; docs/stipends.md) -------

# A drawn member's answer to their place (confirmed | declined), from the portal.
places = sa.Table(
    "places",
    metadata,
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
)

# What an assembly pays, in øre: per session attended, and the most per session for each claim.
stipend_rates = sa.Table(
    "stipend_rates",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("session_ore", sa.BigInteger, nullable=False),
    sa.Column("travel_cap_ore", sa.BigInteger, nullable=False),
    sa.Column("childcare_cap_ore", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

# Sessions and attendance as sessions' events tell them (the ledger's source).
stipend_sessions = sa.Table(
    "stipend_sessions",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("title", sa.Text),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    sa.Column("held_at", sa.DateTime(timezone=True)),  # attendance is final: the session pays
    sa.Column("rate_ore", sa.BigInteger),  # the session rate when it was held
    sa.Column("present", sa.Integer),  # members present, as sessions counted them at the hold
)

stipend_attendance = sa.Table(
    "stipend_attendance",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("present", sa.Boolean, nullable=False),
)

# A member's travel or childcare claim with its receipt; approved by two different staff.
stipend_claims = sa.Table(
    "stipend_claims",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("session_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount_ore", sa.BigInteger, nullable=False),
    sa.Column("receipt", sa.LargeBinary, nullable=False),
    sa.Column("receipt_type", sa.Text, nullable=False),
    sa.Column("receipt_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("approvals", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),  # staff actors
    sa.Column("decided_by", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("submitted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
)

# Payment exports and what each paid (a line is paid once: the unique key).
stipend_payments = sa.Table(
    "stipend_payments",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("payees", sa.Integer, nullable=False),
    sa.Column("total_ore", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.UniqueConstraint("assembly_id", "number", name="uq_stipend_payments_number"),
)

stipend_paid = sa.Table(
    "stipend_paid",
    metadata,
    sa.Column("payment_id", UUID(as_uuid=True), sa.ForeignKey("stipend_payments.id"), nullable=False, index=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # session | travel | childcare
    sa.Column("ref", sa.Text, nullable=False),  # the session's or the claim's id
    sa.Column("amount_ore", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("member_id", "kind", "ref", name="pk_stipend_paid"),
)
