"""Versioned event contracts (payloads). A breaking change is a new class with version + 1.

JSON Schemas and one example per event are committed under shared/events/schemas/ and checked
by tests/contract (regenerate with `python -m shared.events.export`). No personal data: ids are
pseudonymous, features are the stratification answers only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- recruitment -------------------------------------------------------------------------


class RegionV1(Contract):
    code: str
    name: str
    population: int = Field(ge=0)


class QuotaV1(Contract):
    value: str
    min: int = Field(ge=0)
    max: int = Field(ge=0)


class StratumV1(Contract):
    category: str
    quotas: list[QuotaV1]


class AssemblyCreatedV1(Contract):
    assembly_id: uuid.UUID
    name: str
    panel_size: int = Field(ge=1)
    regions: list[RegionV1]
    strata: list[StratumV1] = Field(description="Panel quotas per category value (region is a category too)")


class InvitationsSentV1(Contract):
    assembly_id: uuid.UUID
    batch_id: uuid.UUID
    count: int = Field(ge=0)
    per_region: dict[str, int] = Field(description="Letters per region code")


class RespondentRegisteredV1(Contract):
    assembly_id: uuid.UUID
    respondent_id: uuid.UUID = Field(description="Pseudonymous id; the identity stays in recruitment")
    region: str
    features: dict[str, str] = Field(description="Stratification answers, category -> value")
    household: str | None = Field(None, description="Opaque household key (hash), for one-per-household")


class RespondentWithdrewV1(Contract):
    assembly_id: uuid.UUID
    respondent_id: uuid.UUID


class PlaceDeclinedV1(Contract):
    """A drawn member declined their place on the panel (from the portal): sortition replaces them."""
    assembly_id: uuid.UUID
    member_id: uuid.UUID = Field(description="The member's pseudonymous id (the respondent's)")


# ---- sortition ---------------------------------------------------------------------------


class SeedCommitmentV1(Contract):
    name: str = Field(description="Who contributes to the seed (a party or office, not a person's name)")
    commitment: str = Field(description="sha256 hex of the secret value, published before the pool froze")


class PoolFrozenV1(Contract):
    assembly_id: uuid.UUID
    pool_hash: str = Field(description="sha256 of the frozen pool (pseudonymous ids, answers, household labels)")
    quotas_hash: str = Field(description="sha256 of the panel size and every quota")
    pool_size: int = Field(ge=0)
    panel_size: int = Field(ge=1)
    algorithm: str = Field(description="Selection algorithm fixed at the freeze, e.g. leximin")
    engine: str = Field(description="Engine name and version")
    lottery_size: int = Field(ge=1, description="Panels in the uniform lottery the draw picks one from")
    reserves: int = Field(ge=0, description="Length of the ordered reserve list")
    beacon: str | None = Field(None, description="Public randomness beacon (source and round) whose value enters the seed")
    commitments: list[SeedCommitmentV1] = Field(description="Seed contributions committed before the freeze")


class PanelDrawnV1(Contract):
    assembly_id: uuid.UUID
    panel_id: uuid.UUID
    algorithm: str
    members: list[uuid.UUID]
    reserves: list[uuid.UUID] = []
    pool_size: int = Field(ge=0)
    min_probability: float | None = None
    transcript_hash: str | None = None


class ReplacementDrawnV1(Contract):
    assembly_id: uuid.UUID
    panel_id: uuid.UUID
    dropped: list[uuid.UUID]
    added: list[uuid.UUID]


# ---- sessions ----------------------------------------------------------------------------

Phase = Literal["learning", "hearing", "values", "vision", "recommendations", "voting", "other"]


class SessionScheduledV1(Contract):
    assembly_id: uuid.UUID
    session_id: uuid.UUID
    title: str
    starts_at: datetime
    mode: Literal["physical", "digital", "hybrid"]
    phase: Phase
    duration_hours: float = Field(gt=0)


class VenueV2(Contract):
    region: str = Field(min_length=1, max_length=100)
    venue: str = Field(min_length=1, max_length=300)  # a public place: name and address


class SpeakerV2(Contract):
    """An expert or a stakeholder: a public figure heard by the assembly, never a member."""
    expert_id: uuid.UUID
    name: str
    affiliation: str
    kind: Literal["expert", "stakeholder"]


class DocumentRefV2(Contract):
    document_id: uuid.UUID
    title: str
    kind: Literal["briefing", "slides", "video", "other"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # of the uploaded bytes, or of a link's text


class AgendaItemV2(Contract):
    item_id: uuid.UUID
    position: int = Field(ge=1)
    phase: Phase
    title: str
    minutes: int = Field(gt=0)
    speakers: list[SpeakerV2] = []
    documents: list[DocumentRefV2] = []


class SessionScheduledV2(Contract):
    """v1 plus where (venues per region; whether there is an online link, never the link itself),
    the capacity and the agenda. Published again, with the next `revision`, each time the
    secretariat publishes a change to the session's programme: a consumer keeps the highest."""
    assembly_id: uuid.UUID
    session_id: uuid.UUID
    revision: int = Field(ge=1)
    title: str
    starts_at: datetime
    mode: Literal["physical", "digital", "hybrid"]
    phase: Phase
    duration_hours: float = Field(gt=0)
    venues: list[VenueV2] = []
    online: bool = False
    capacity: int | None = Field(default=None, gt=0)
    items: list[AgendaItemV2] = []


class AttendanceRecordedV1(Contract):
    assembly_id: uuid.UUID
    session_id: uuid.UUID
    member_id: uuid.UUID
    present: bool


class SessionHeldV1(Contract):
    assembly_id: uuid.UUID
    session_id: uuid.UUID
    present: int = Field(ge=0)
    absent: int = Field(ge=0)
    duration_hours: float = Field(gt=0)


class MemberCheckedInV1(Contract):
    """A member arrived at a session: at the door by their personal code, online by themselves, on
    the facilitator's sheet, or by a staff correction. Each mark (present or absent, corrections
    too) is also an attendance-recorded event, which stays the record of who was there."""
    assembly_id: uuid.UUID
    session_id: uuid.UUID
    member_id: uuid.UUID
    how: Literal["code", "online", "sheet", "correction"]
    at: datetime


class ReplacementRequestedV1(Contract):
    """Sessions' drop-out rule: these members missed `missed_in_a_row` held sessions in a row (the
    assembly's rule) when `session_id` was closed. Sortition lists them for the secretariat, who
    confirms by drawing their replacement (or not)."""
    assembly_id: uuid.UUID
    session_id: uuid.UUID
    members: list[uuid.UUID] = Field(min_length=1)
    missed_in_a_row: int = Field(ge=1)


# ---- sessions: the recommendations workspace (issue 16) --------------------------------
# A recommendation's text is the assembly's public work, not personal data: the final list carries
# each text, its rationale and the minority statements in full (reporting prints them beside the
# support each got), and every text's SHA-256. No member ids: a draft belongs to a table or working
# group, an amendment or minority statement to the assembly (sessions alone knows who proposed it).
# The hash is sha256 of the UTF-8 bytes of the Markdown source as stored (NFC, LF line ends,
# stripped), so anyone holding the published text can recompute it.


class RecommendationDraftedV1(Contract):
    assembly_id: uuid.UUID
    draft_id: uuid.UUID = Field(description="The recommendation's id from its first draft to the final list")
    group: str = Field(description="The table or working group that drafted it, e.g. 'Table 3'")
    title: str
    version: int = Field(ge=1)
    text_sha256: str = Field(description="sha256 hex of the Markdown text as stored")


class RecommendationAmendedV1(Contract):
    assembly_id: uuid.UUID
    draft_id: uuid.UUID
    title: str
    version: int = Field(ge=2, description="The new version")
    text_sha256: str
    cause: Literal["amendment", "edit", "merge"] = Field(
        description="amendment: a member's amendment the secretariat accepted; edit: the drafting group's own "
                    "revision; merge: another draft merged into this one")
    amendment_id: uuid.UUID | None = None
    merged_from: list[uuid.UUID] = Field([], description="merge: the drafts merged into this one (kept, with their history)")


# A session's table plan as published to facilitators and members: who sits at which table in each
# round, by pseudonymous member id only. Needs that placed a member (language, accessibility) are
# never in it; the figures say how well the plan mixes the tables (docs/tables.md).


class TablePlanPublishedV1(Contract):
    assembly_id: uuid.UUID
    session_id: uuid.UUID
    plan_id: uuid.UUID
    version: int = Field(ge=1, description="Counts the session's re-plans up from 1")
    rounds: list[list[list[uuid.UUID]]] = Field(
        min_length=1, description="rounds[r][t]: the pseudonymous member ids at table t+1 in round r+1")
    unique_pairs: int = Field(ge=0, description="Pairs of members who meet at least once")
    repeats: int = Field(ge=0, description="Repeat meetings: the sum over pairs of (times met - 1)")
    mean_deviation: float = Field(ge=0, description="Mean over tables of the mean over strata of the L1 distance "
                                                    "between the table's category shares and the panel's")
    worst_deviation: float = Field(ge=0)


class MinorityStatementV1(Contract):
    statement_id: uuid.UUID
    text: str = Field(description="Markdown; the statement of the members who disagree (no names)")


class FinalRecommendationV1(Contract):
    recommendation_id: uuid.UUID = Field(description="The draft's id")
    position: int = Field(ge=1, description="Place on the final list (and on the final ballot)")
    title: str
    version: int = Field(ge=1, description="The version that was frozen")
    text: str = Field(description="Markdown source as stored")
    text_sha256: str = Field(description="sha256 hex of `text` (UTF-8)")
    rationale: str = Field(description="Markdown; why the assembly recommends it")
    minority_statements: list[MinorityStatementV1] = []


class RecommendationsFinalisedV1(Contract):
    assembly_id: uuid.UUID
    list_id: uuid.UUID
    finalised_at: datetime
    list_sha256: str = Field(description="sha256 hex of the text hashes in list order, one per line (LF)")
    recommendations: list[FinalRecommendationV1] = Field(min_length=1)


# ---- voting ------------------------------------------------------------------------------
# v2 (issue 4): secret ballots with blind-signature tokens and a public bulletin board. v1 (a
# skeleton with one yes/no choice per event) is retired: nothing produces or consumes it.

Choice = str | int | list[str]


class ThresholdV2(Contract):
    fraction: str = Field(description="Exact fraction, e.g. '2/3' or '7/10'")
    base: Literal["valid_votes", "votes_cast", "members"]
    strict: bool = Field(description="true: more than the fraction; false: at least")


class BallotQuestionV2(Contract):
    question_id: str = Field(description="Id of the question on its ballot, e.g. 'q1'")
    text: str
    type: Literal["yes_no_abstain", "agree_scale", "approval", "ranking"]
    recommendation: bool = Field(description="A question on one recommendation (yes/no or agree scale)")
    options: list[str] = []
    points: list[int] = []
    support_points: list[int] = []


class BallotOpenedV2(Contract):
    assembly_id: uuid.UUID
    ballot_id: uuid.UUID
    title: str
    members: int = Field(ge=1, description="Eligible members when the ballot opened")
    threshold: ThresholdV2
    quorum_min_ballots: int = Field(ge=0)
    quorum_min_fraction: str
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    questions: list[BallotQuestionV2]


class BallotOpenedV3(BallotOpenedV2):
    """v2 plus the bulletin board and its key's fingerprint, published outside the board so that a
    verifier can pin the key (a board re-signed with another key is then refused)."""

    board_id: str = Field(description="The assembly's bulletin board, e.g. assembly-<uuid>")
    board_key_fingerprint: str = Field(description="sha256 hex of the board's raw Ed25519 public key")
    token_key_id: str = Field(description="sha256 hex of the ballot's token key (SPKI DER)")


class VoteCastV2(Contract):
    assembly_id: uuid.UUID
    ballot_id: uuid.UUID
    position: int = Field(ge=1, description="Position of the vote on the assembly's bulletin board")
    entry_hash: str = Field(description="Hash of the board entry (the voter's receipt)")
    kind: Literal["online", "paper", "postal"]
    token_hash: str | None = Field(description="sha256 of the anonymous token (online votes); never a member id")
    choices: dict[str, Choice] = Field(description="Question id -> choice")


class BallotClosedV2(Contract):
    assembly_id: uuid.UUID
    ballot_id: uuid.UUID
    closed_at: datetime
    ballots_cast: int = Field(ge=0)
    issued: dict[str, int] = Field(description="Tokens (online) and ballot sheets (paper, postal) issued")
    board_position: int = Field(ge=0, description="Head of the bulletin board when the ballot closed")
    board_hash: str


class QuestionResultV2(Contract):
    question_id: str
    text: str
    type: Literal["yes_no_abstain", "agree_scale", "approval", "ranking"]
    recommendation: bool
    counts: dict[str, int] = Field(description="Per choice (yes/no, scale point), approvals or Borda points; with abstain")
    cast: int = Field(ge=0)
    valid: int = Field(ge=0)
    support: int | None = Field(None, description="yes/no and scale: votes counting as support")
    base: int | None = Field(None, description="What the threshold is a fraction of")
    support_share: str | None = Field(None, description="support / base as an exact fraction")
    threshold: str | None = None
    passed: bool | None = Field(None, description="yes/no and scale; false when the quorum was not met")
    passed_options: list[str] | None = Field(None, description="approval: options reaching the threshold")
    order: list[list[str]] | None = Field(None, description="ranking: groups of options, most Borda points first")


class ResultsTalliedV2(Contract):
    assembly_id: uuid.UUID
    ballot_id: uuid.UUID
    ballots_cast: int = Field(ge=0)
    members: int = Field(ge=1)
    quorum_met: bool
    questions: list[QuestionResultV2]


class BallotRecommendationV1(Contract):
    question_id: str
    recommendation_id: uuid.UUID
    text_sha256: str


class BallotOpenedV4(BallotOpenedV3):
    """v3 plus the ballot's kind (issue 16): only a final ballot, opened from the secretariat's
    finalised list, counts as the assembly's result; a trial ballot or straw poll never does."""

    kind: Literal["final", "trial"]
    list_id: uuid.UUID | None = Field(None, description="final: the finalised list (recommendations-finalised) it was opened from")
    recommendations: list[BallotRecommendationV1] = Field(
        [], description="final: which recommendation (and text hash) each question puts to the vote")


class ResultsTalliedV3(ResultsTalliedV2):
    """v2 plus the ballot's kind, so that a consumer seeing the count before the opening (another
    topic) never takes a trial's count for the assembly's result."""

    kind: Literal["final", "trial"]


# ---- reporting ---------------------------------------------------------------------------


class ReportPublishedV1(Contract):
    assembly_id: uuid.UUID
    report_id: uuid.UUID
    sha256: str = Field(description="Hash of the published HTML report")


class ReportPublishedV2(Contract):
    """v1 plus versions: each publication is a new, immutable version of the report in Danish and
    English, HTML and PDF, and a correction names the version it corrects."""

    assembly_id: uuid.UUID
    report_id: uuid.UUID
    version: int = Field(ge=1, description="1 for the first publication, +1 for each correction")
    corrects: int | None = Field(None, ge=1, description="The version this one corrects (None for the first)")
    documents: dict[str, str] = Field(description="Document name (da.html, en.html, da.pdf, en.pdf) -> sha256 hex")


class RecommendationResponseRecordedV1(Contract):
    """The authority's answer to one recommendation, or a later update of how it is carried out,
    as the secretariat recorded it (public texts only; no personal data)."""

    assembly_id: uuid.UUID
    response_id: uuid.UUID
    ballot_id: uuid.UUID = Field(description="The ballot the recommendation was voted on")
    question_id: str = Field(description="The recommendation's question on that ballot")
    response: Literal["accepted", "partly", "rejected", "under_consideration"]
    implementation: Literal["not_started", "in_progress", "implemented", "abandoned"] | None = None
    reasoning: str = Field(description="The authority's reasoning, as published")
    responsible_body: str = Field(description="Who answers for carrying it out (an office, not a person)")
    answered_on: date = Field(description="The date of the authority's answer or update")
    deadline: date | None = None
    links: list[str] = Field([], description="Public documents (decisions, bills, plans)")


# ---- every service: audit trail heads -----------------------------------------------------
# Each service publishes the head of an assembly's audit trail whenever it appends to it, so
# that the head is kept outside the service (reporting puts the heads in the report, voting signs
# them into its board's checkpoints): a trail rewritten later no longer reaches the published head.


class AuditHeadV1(Contract):
    assembly_id: uuid.UUID
    service: Literal["recruitment", "sortition", "sessions", "voting", "reporting"]
    seq: int = Field(ge=1, description="Sequence number of the trail's last entry")
    hash: str = Field(description="Hash of that entry (the trail's head)")


class RecruitmentAuditHeadV1(AuditHeadV1):
    pass


class SortitionAuditHeadV1(AuditHeadV1):
    pass


class SessionsAuditHeadV1(AuditHeadV1):
    pass


class VotingAuditHeadV1(AuditHeadV1):
    pass


class ReportingAuditHeadV1(AuditHeadV1):
    pass


AUDIT_HEADS: dict[str, type[AuditHeadV1]] = {
    "recruitment": RecruitmentAuditHeadV1, "sortition": SortitionAuditHeadV1, "sessions": SessionsAuditHeadV1,
    "voting": VotingAuditHeadV1, "reporting": ReportingAuditHeadV1}


# ---- the catalogue -----------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    source: str
    type: str
    version: int
    model: type[Contract]
    description: str

    @property
    def topic(self) -> str:
        return f"{self.source}.{self.type}.v{self.version}"


CATALOGUE: list[EventSpec] = [
    EventSpec("recruitment", "assembly-created", 1, AssemblyCreatedV1, "An assembly with its regions, panel size and quotas"),
    EventSpec("recruitment", "invitations-sent", 1, InvitationsSentV1, "A batch of invitation letters with single-use codes"),
    EventSpec("recruitment", "respondent-registered", 1, RespondentRegisteredV1, "An invited citizen registered (pseudonymous)"),
    EventSpec("recruitment", "respondent-withdrew", 1, RespondentWithdrewV1, "A respondent withdrew from the pool"),
    EventSpec("recruitment", "place-declined", 1, PlaceDeclinedV1,
              "A drawn member declined their place from the portal: a replacement is requested"),
    EventSpec("sortition", "pool-frozen", 1, PoolFrozenV1, "The pool was frozen for the draw (hashes, size; no personal data)"),
    EventSpec("sortition", "panel-drawn", 1, PanelDrawnV1, "The panel (and reserves) drawn from the pool"),
    EventSpec("sortition", "replacement-drawn", 1, ReplacementDrawnV1, "Drop-outs replaced so that quotas still hold"),
    EventSpec("sessions", "session-scheduled", 1, SessionScheduledV1, "A session was put on the agenda"),
    EventSpec("sessions", "session-scheduled", 2, SessionScheduledV2,
              "A session's programme was published: v1 plus venues, capacity and the agenda (speakers, documents)"),
    EventSpec("sessions", "attendance-recorded", 1, AttendanceRecordedV1, "A member's attendance at a session"),
    EventSpec("sessions", "session-held", 1, SessionHeldV1, "A session took place (attendance closed)"),
    EventSpec("sessions", "member-checked-in", 1, MemberCheckedInV1,
              "A member checked in at a session (by personal code, online, on the sheet or by a correction)"),
    EventSpec("sessions", "replacement-requested", 1, ReplacementRequestedV1,
              "Members who missed the assembly's number of sessions in a row: a replacement for the secretariat to confirm"),
    EventSpec("sessions", "recommendation-drafted", 1, RecommendationDraftedV1,
              "A table or working group started a draft recommendation (title, text hash)"),
    EventSpec("sessions", "recommendation-amended", 1, RecommendationAmendedV1,
              "A draft recommendation got a new version (accepted amendment, revision or merge)"),
    EventSpec("sessions", "recommendations-finalised", 1, RecommendationsFinalisedV1,
              "The secretariat froze the final list: each recommendation's text, hash, rationale, minority statements"),
    EventSpec("sessions", "table-plan-published", 1, TablePlanPublishedV1,
              "A session's table plan: the member ids at each table in each round, and how well it mixes them"),
    EventSpec("voting", "ballot-opened", 2, BallotOpenedV2, "A ballot opened: its questions, threshold, quorum and times"),
    EventSpec("voting", "ballot-opened", 3, BallotOpenedV3,
              "A ballot opened: its questions, threshold, quorum, times, board and board key fingerprint"),
    EventSpec("voting", "vote-cast", 2, VoteCastV2, "A vote went on the bulletin board (token hash and choices; no member id)"),
    EventSpec("voting", "ballot-closed", 2, BallotClosedV2, "A ballot closed: ballots cast, tokens and sheets issued, board head"),
    EventSpec("voting", "ballot-opened", 4, BallotOpenedV4,
              "A ballot opened: v3 plus its kind (final or trial) and, for a final ballot, the list it puts to the vote"),
    EventSpec("voting", "results-tallied", 2, ResultsTalliedV2, "The count after close: support per recommendation"),
    EventSpec("voting", "results-tallied", 3, ResultsTalliedV3, "The count after close, with the ballot's kind (final or trial)"),
    EventSpec("reporting", "report-published", 1, ReportPublishedV1, "The handover report was published"),
    EventSpec("reporting", "report-published", 2, ReportPublishedV2,
              "A version of the handover report was published (da/en, HTML/PDF, with their hashes)"),
    EventSpec("reporting", "recommendation-response-recorded", 1, RecommendationResponseRecordedV1,
              "The authority's response to a recommendation (or an update on carrying it out) was recorded"),
    *(EventSpec(svc, "audit-head", 1, model, f"The head of {svc}'s audit trail of an assembly (after each entry)")
      for svc, model in AUDIT_HEADS.items()),
]

_BY_MODEL = {s.model: s for s in CATALOGUE}
_BY_TYPE = {(s.type, s.version): s for s in CATALOGUE}
_BY_TOPIC = {s.topic: s for s in CATALOGUE}


def spec_for_model(model: type[BaseModel]) -> EventSpec:
    return _BY_MODEL[model]


def spec_for_type(type_: str, version: int) -> EventSpec | None:
    return _BY_TYPE.get((type_, version))


def spec_for_topic(topic: str) -> EventSpec | None:
    return _BY_TOPIC.get(topic)


def topics(*models: type[Contract]) -> list[str]:
    return [spec_for_model(m).topic for m in models]
