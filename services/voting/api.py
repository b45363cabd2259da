"""Voting's HTTP API: ballots, anonymous tokens (RFC 9474 blind signatures), the ballot box, the
public bulletin board, officials' paper and postal entries, the count, and the ballot page.

Who may do what (one policy per route, see shared/auth):
- organisers create ballots, open voting on them (which ends the issuing of tokens), close them,
  and sign board checkpoints;
- a member gets one blind-signed token per ballot for themselves only (`who.member_id`);
- anyone may cast a vote with a valid unused token: the token is the credential, and no
  Authorization header is needed (or wanted: the ballot box must not learn who votes);
- registrars and organisers hand out paper/postal sheets and key in and confirm paper votes;
- the board, its export, the ballot definitions and, after close, the results are public.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import uuid
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from services.voting import handlers as h
from services.voting import views as v
from services.voting.domain.errors import InvalidTokenError
from services.voting.ingest import INGEST
from services.voting.domain.tokens import VoteToken
from shared.auth import AUDITOR, MEMBER, ORGANISER, PUBLIC, REGISTRAR, Principal, allow, path_uuid
from shared.bounds import BigInt, SmallInt
from shared.openapi import errors
from shared.problems import Conflict, Forbidden, invalid
from shared.auth.sessions import SESSION_COOKIE
from shared.ui.pages import forwarded_prefix
from shared.runtime import Runtime, RuntimeDep

router = APIRouter(tags=["voting"])
ballot_box = APIRouter(tags=["voting"])  # the vote route alone: matched first (app.py, priority_routers)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
log = structlog.get_logger()

HEX_RE = r"^[0-9a-fA-F]*$"
# Rate-limit windows (the limits are settings): token requests per member and ballot; votes with
# an invalid token per client address and per ballot and token. Only invalid tokens are counted
# and refused: a valid token is never refused for what others behind the same address (a venue's
# NAT, the ingress) sent.
TOKEN_WINDOW = 600
INVALID_TRIES_PER_TOKEN = 5
INVALID_WINDOW = 60


def now() -> datetime:
    return datetime.now(timezone.utc)


# ---- scopes (the assembly of an object, for the policy) ------------------------------------


async def ballot_scope(rt: Runtime, path: dict[str, str]) -> uuid.UUID:
    ballot_id = path_uuid(path, "ballot_id")
    async with rt.transaction() as tx:  # the ballot's facts are cached: the vote path passes here
        return await v.assembly_of_ballot(tx, ballot_id)


async def official_entry_scope(rt: Runtime, path: dict[str, str]) -> uuid.UUID:
    entry_id = path_uuid(path, "entry_id")
    async with rt.transaction() as tx:
        return await v.official_scope(tx, entry_id)


def official_id(who: Principal) -> str:
    """How an official appears on the public board: a stable pseudonym, not their login."""
    return "official-" + hashlib.sha256(who.actor.encode()).hexdigest()[:16]


# ---- models -------------------------------------------------------------------------------


# Checked before Fraction() reads it: Fraction("1e-4000000") computes 10**4000000 (seconds of CPU).
FRACTION_RE = re.compile(r"^\s*(?:\d{1,12}\s*/\s*\d{1,12}|\d{1,12}(?:\.\d{1,12})?|\.\d{1,12})\s*$")


def _fraction_text(v: Any) -> str:
    if isinstance(v, float) and not math.isfinite(v) or isinstance(v, str) and not FRACTION_RE.match(v):
        raise ValueError(f"{str(v)[:40]!r} is not a fraction like '2/3', '0.7' or 0.7")
    try:
        f = Fraction(str(v).replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{v!r} is not a fraction like '2/3', '0.7' or 0.7") from None
    if not 0 <= f <= 1:
        raise ValueError(f"{v!r} must be between 0 and 1")
    return f"{f.numerator}/{f.denominator}"


class ThresholdIn(BaseModel):
    fraction: str | float = Field("1/2", description="Share of the base needed, e.g. '1/2', '2/3', 0.7, '80/100'")
    base: Literal["valid_votes", "votes_cast", "members"] = Field(
        "valid_votes", description="valid_votes (abstentions excluded), votes_cast, or members (the electorate)")
    strict: bool | None = Field(None, description="true: more than the fraction; false: at least. "
                                                  "Default: more than for 1/2 (majority), at least otherwise")

    @field_validator("fraction")
    @classmethod
    def _frac(cls, v):
        return _fraction_text(v)

    def to_domain(self) -> dict:
        strict = self.strict if self.strict is not None else self.fraction == "1/2"
        return {"fraction": self.fraction, "base": self.base, "strict": strict}


class QuorumIn(BaseModel):
    min_ballots: int = Field(0, ge=0, le=10_000_000)
    min_fraction: str | float = Field("0", description="Share of the members who must cast a ballot")

    @field_validator("min_fraction")
    @classmethod
    def _frac(cls, v):
        return _fraction_text(v)


class QuestionIn(BaseModel):
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,40}$", description="Default q1, q2, ...")
    text: str = Field(min_length=1, max_length=2000)
    type: Literal["yes_no_abstain", "agree_scale", "approval", "ranking"] = "yes_no_abstain"
    options: list[str] = Field([], max_length=50, description="approval/ranking: the options (short labels)")
    points: int | None = Field(None, ge=2, le=11, description="agree_scale: points 1..N (default 5)")
    support_from: int | None = Field(None, ge=1, le=11, description="agree_scale: points >= this count as support")
    max_approvals: int | None = Field(None, ge=1, le=50)
    threshold: ThresholdIn | None = None

    @field_validator("options")
    @classmethod
    def _opts(cls, v):
        for o in v:
            if not 1 <= len(o) <= 200:
                raise ValueError("each option must be 1-200 characters")
        return v


class RulesIn(BaseModel):
    """What every ballot states besides its questions."""

    threshold: ThresholdIn | float | str = Field(default_factory=ThresholdIn,
                                             description="Default for every question: an object, or a fraction like 0.7 or '2/3'")
    quorum: QuorumIn = Field(default_factory=QuorumIn)
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    session_id: uuid.UUID | None = Field(None, description="Members must be checked in at this session to get a "
                                                           "token; default: at any session of the assembly")

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v):
        return v if isinstance(v, ThresholdIn) else ThresholdIn(fraction=_fraction_text(v))

    def rules(self, title: str) -> dict:
        th = self.threshold if isinstance(self.threshold, ThresholdIn) else ThresholdIn(fraction=str(self.threshold))
        return {"title": title, "threshold": th.to_domain(),
                "quorum": {"min_ballots": self.quorum.min_ballots, "min_fraction": self.quorum.min_fraction},
                "opens_at": self.opens_at.isoformat() if self.opens_at else None,
                "closes_at": self.closes_at.isoformat() if self.closes_at else None}


class FinalBallotIn(RulesIn):
    title: str = Field("Final vote on the recommendations", min_length=1, max_length=200)
    list_id: uuid.UUID | None = Field(None, description="The finalised list (default: the newest)")


class BallotIn(RulesIn):
    """A trial ballot or straw poll (never the assembly's result): the final ballot is opened from
    the finalised list (POST /assemblies/{id}/final-ballot)."""

    title: str = Field(min_length=1, max_length=200)
    questions: list[QuestionIn] = Field([], max_length=500)
    recommendations: list[str] = Field([], max_length=500, description="Shorthand: one yes/no/abstain question each")

    @field_validator("recommendations")
    @classmethod
    def _recs(cls, v):
        for r in v:
            if not 1 <= len(r) <= 2000:
                raise ValueError("each recommendation must be 1-2000 characters")
        return v

    def definition(self) -> dict:
        qs: list[dict] = []
        for i, q in enumerate(self.questions, 1):
            d: dict[str, Any] = {"id": q.id or f"q{i}", "text": q.text, "type": q.type}
            if q.type in ("approval", "ranking"):
                d["options"] = q.options
            if q.type == "agree_scale":
                n = q.points or 5
                start = q.support_from if q.support_from is not None else (n // 2 + 2 if n % 2 else n // 2 + 1)
                d["points"] = list(range(1, n + 1))
                d["support_points"] = [p for p in range(1, n + 1) if p >= start]
            if q.max_approvals is not None:
                d["max_approvals"] = q.max_approvals
            if q.threshold is not None:
                d["threshold"] = q.threshold.to_domain()
            qs.append(d)
        for j, r in enumerate(self.recommendations, len(qs) + 1):
            qs.append({"id": f"q{j}", "text": r, "type": "yes_no_abstain"})
        if not qs:
            raise invalid("a ballot needs at least one question (questions or recommendations)",
                          [{"field": "questions", "problem": "empty"}])
        return {**self.rules(self.title), "questions": qs}


class TokenKeyOut(BaseModel):
    alg: str
    key_id: str
    pem: str
    n: str = Field(description="Modulus, hex (for the browser's blinding)")
    e: str = Field(description="Public exponent, hex")


class BallotOut(BaseModel):
    id: uuid.UUID
    assembly_id: uuid.UUID
    title: str
    state: Literal["issuing", "scheduled", "open", "closed"] = Field(
        description="issuing: tokens and sheets are handed out, no votes yet (an organiser opens voting); "
                    "scheduled: voting opened but opens_at not reached; open: votes are taken; closed")
    session_id: uuid.UUID | None
    kind: Literal["final", "trial"] = Field(description="final: opened from the finalised list, the assembly's "
                                                        "result; trial: a trial ballot or straw poll, never its result")
    list_id: uuid.UUID | None = None
    definition: dict[str, Any]
    token_key: TokenKeyOut
    board_id: str


class BlindedIn(BaseModel):
    blinded_msg: str = Field(min_length=2, max_length=2048, pattern=HEX_RE, description="RFC 9474 blinded message, hex")


class TokenIn(BaseModel):
    message: str = Field(min_length=2, max_length=4096, pattern=HEX_RE)
    signature: str = Field(min_length=2, max_length=2048, pattern=HEX_RE)


class VoteIn(BaseModel):
    choices: dict[str, str | SmallInt | list[str]] = Field(description="Question id -> choice ('abstain' to abstain)")
    token: TokenIn


class ReceiptOut(BaseModel):
    board_id: str
    position: int
    hash: str
    receipt: str = Field(description="POSITION:HASH, to look the vote up on the board")
    token_hash: str | None = None


class SheetIn(BaseModel):
    member_id: uuid.UUID
    kind: Literal["paper", "postal"]


class OfficialEntryIn(BaseModel):
    kind: Literal["paper", "postal"]
    sheet_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    choices: dict[str, str | SmallInt | list[str]]


class ConfirmIn(BaseModel):
    choices: dict[str, str | SmallInt | list[str]] | None = Field(
        None, description="The second official's own reading of the sheet (recommended)")


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


# ---- helpers ------------------------------------------------------------------------------


def _hex(s: str, what: str) -> bytes:
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise invalid(f"{what} must be an even number of hex digits") from None


async def _ballot_out(rt: Runtime, ballot_id: uuid.UUID) -> BallotOut:
    async with rt.transaction() as tx:
        return BallotOut(**await v.ballot_view(tx, ballot_id, now=now()))


# ---- ballots ------------------------------------------------------------------------------


@router.post("/assemblies/{assembly_id}/ballots", status_code=201, response_model=BallotOut,
             summary="Open a trial ballot or straw poll (questions, threshold, quorum, times); never the result")
async def open_ballot(assembly_id: uuid.UUID, body: BallotIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER))) -> BallotOut:
    definition = body.definition()
    key = await asyncio.to_thread(h.new_ballot_key)
    async with rt.transaction() as tx:
        ballot_id = await h.open_ballot(tx, assembly_id, definition, session_id=body.session_id,
                                        secret=rt.settings.secret_key, key=key)
    return await _ballot_out(rt, ballot_id)


@router.post("/assemblies/{assembly_id}/final-ballot", status_code=201, response_model=BallotOut,
             responses=errors(409, 422), summary="Open the final ballot from the finalised list of recommendations")
async def open_final_ballot(assembly_id: uuid.UUID, body: FinalBallotIn, rt: RuntimeDep,
                            who: Principal = Depends(allow(ORGANISER))) -> BallotOut:
    key = await asyncio.to_thread(h.new_ballot_key)
    async with rt.transaction() as tx:
        ballot_id = await h.open_final_ballot(tx, assembly_id, body.rules(body.title), list_id=body.list_id,
                                              session_id=body.session_id, secret=rt.settings.secret_key, key=key)
    return await _ballot_out(rt, ballot_id)


@router.get("/assemblies/{assembly_id}/final-lists", summary="The finalised lists of recommendations voting knows")
async def final_lists(assembly_id: uuid.UUID, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return {"lists": await v.final_lists(tx, assembly_id)}


@router.get("/assemblies/{assembly_id}/ballots", summary="The assembly's ballots")
async def list_ballots(assembly_id: uuid.UUID, rt: RuntimeDep,
                       who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        s = await v.board_summary(tx, assembly_id, secret=rt.settings.secret_key, now=now())
    return {"ballots": s["ballots"]}


@router.get("/ballots/{ballot_id}", response_model=BallotOut,
            summary="A ballot's definition and token key (public, as on the board)")
async def get_ballot(ballot_id: uuid.UUID, rt: RuntimeDep,
                     who: Principal = Depends(allow(PUBLIC))) -> BallotOut:
    return await _ballot_out(rt, ballot_id)


@router.get("/ballots/{ballot_id}/me", summary="Am I eligible, checked in, and did I get my token?")
async def my_eligibility(ballot_id: uuid.UUID, rt: RuntimeDep,
                         who: Principal = Depends(allow(MEMBER, scope=ballot_scope))) -> dict:
    async with rt.transaction() as tx:
        info = await v.ballot_info(tx, ballot_id)
        return await v.eligibility(tx, info, who.member_id)


@router.post("/ballots/{ballot_id}/tokens", summary="Get my one blind-signed voting token (RFC 9474)",
             responses=errors(429))
async def issue_token(ballot_id: uuid.UUID, body: BlindedIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(MEMBER, scope=ballot_scope))) -> dict:
    if who.member_id is None:
        raise Forbidden("only a member's own token can get a voting token")
    await rt.limiter.hit("voting_token_request", f"{ballot_id}:{who.member_id}", limit=rt.settings.voting_token_requests_per_member,
                         window=TOKEN_WINDOW)
    blinded = _hex(body.blinded_msg, "blinded_msg")
    async with rt.transaction() as tx:
        sig = await h.issue_token(tx, ballot_id, who.member_id, blinded, secret=rt.settings.secret_key, now=now())
    return {"blind_sig": sig.hex()}


@ballot_box.post("/ballots/{ballot_id}/votes", status_code=201, response_model=ReceiptOut, responses=errors(429),
             summary="Cast a vote with a token (no login: the token is the credential)")
async def cast(ballot_id: uuid.UUID, body: VoteIn, request: Request,
               who: Principal = Depends(allow(PUBLIC))) -> Response:
    rt: Runtime = request.app.state.rt  # what get_runtime gives, without solving one more dependency per vote
    token = VoteToken(_hex(body.token.message, "token.message"), _hex(body.token.signature, "token.signature"))
    try:
        r, token_hash = await rt.use(INGEST).cast(ballot_id, body.choices, token, now=now())
    except InvalidTokenError:
        # Counted in Valkey (all API processes) after the token was checked, so honest votes cost
        # no round trip and are never refused for someone else's failures.
        address = request.client.host if request.client else "unknown"
        await rt.limiter.hit("invalid_vote_token", address, limit=rt.settings.voting_invalid_tokens_per_address,
                             window=INVALID_WINDOW)
        await rt.limiter.hit("invalid_vote_token", f"{ballot_id}:{body.token.message}", limit=INVALID_TRIES_PER_TOKEN,
                             window=INVALID_WINDOW)
        raise
    # Built by hand (the hot path): the fields of ReceiptOut, without a second validation. Every
    # value is an int, hex or the board id ("assembly-" and a UUID): nothing to escape.
    return Response(f'{{"board_id":"{r.board_id}","position":{r.position},"hash":"{r.hash}",'
                    f'"receipt":"{r.code}","token_hash":"{token_hash}"}}', status_code=201,
                    media_type="application/json")


@router.post("/ballots/{ballot_id}/open", summary="End the issuing of tokens and sheets, and open voting")
async def open_voting(ballot_id: uuid.UUID, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER, scope=ballot_scope))) -> dict:
    """Until this call members get their tokens (and officials hand out sheets) and no vote is
    taken; after it votes are taken and no token or sheet is issued (409 `issuance_closed`). So
    the database cannot link who got a token to what was voted (docs/voting.md)."""
    async with rt.transaction() as tx:
        issued = await h.open_voting(tx, ballot_id, now=now())
    return {**(await _ballot_out(rt, ballot_id)).model_dump(mode="json"), "issued": issued}


async def _flush(rt: Runtime, ballot_id: uuid.UUID) -> None:
    """Votes this process holds in its buffer for the ballot's board go on it before a close."""
    async with rt.transaction() as tx:
        assembly_id = await v.assembly_of_ballot(tx, ballot_id)
    await rt.use(INGEST).flush(assembly_id)


@router.post("/ballots/{ballot_id}/close", summary="Close the ballot and tally; results become public")
async def close(ballot_id: uuid.UUID, rt: RuntimeDep,
                who: Principal = Depends(allow(ORGANISER, scope=ballot_scope))) -> dict:
    await _flush(rt, ballot_id)
    async with rt.transaction() as tx:
        return await h.close_ballot(tx, ballot_id, secret=rt.settings.secret_key, now=now())


@router.get("/ballots/{ballot_id}/results", summary="Results (hidden from everyone until the ballot closes)")
async def results(ballot_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(PUBLIC))) -> dict:
    await _flush(rt, ballot_id)
    t = now()
    async with rt.transaction() as tx:
        await h.close_if_due(tx, ballot_id, secret=rt.settings.secret_key, now=t)
    async with rt.transaction() as tx:
        return await v.results(tx, ballot_id, now=t)


# ---- paper and postal ---------------------------------------------------------------------


@router.post("/ballots/{ballot_id}/sheets", status_code=201,
             summary="Hand a member a paper ballot sheet, or send a postal one (then no online token)")
async def issue_sheet(ballot_id: uuid.UUID, body: SheetIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(REGISTRAR, ORGANISER, scope=ballot_scope))) -> dict:
    async with rt.transaction() as tx:
        await h.issue_sheet(tx, ballot_id, body.member_id, body.kind, now=now())
        counts = await v.issued_counts(tx, ballot_id)
    return {"issued": counts}


@router.post("/ballots/{ballot_id}/official-entries", status_code=201,
             summary="Key in a paper or postal vote (counts only once a second official confirms it)")
async def enter_official(ballot_id: uuid.UUID, body: OfficialEntryIn, rt: RuntimeDep,
                         who: Principal = Depends(allow(REGISTRAR, ORGANISER, scope=ballot_scope))) -> dict:
    async with rt.transaction() as tx:
        entry_id = await h.enter_official(tx, ballot_id, kind=body.kind, sheet_id=body.sheet_id, choices=body.choices,
                                          official=official_id(who), now=now())
    return {"id": entry_id, "status": "pending"}


@router.get("/ballots/{ballot_id}/official-entries", summary="Officials' entries (status only, no choices)")
async def list_official(ballot_id: uuid.UUID, rt: RuntimeDep,
                        who: Principal = Depends(allow(REGISTRAR, ORGANISER, AUDITOR, scope=ballot_scope))) -> dict:
    async with rt.transaction() as tx:
        return {"entries": await v.official_entries(tx, ballot_id)}


@router.post("/official-entries/{entry_id}/confirm", summary="A second official confirms: the vote goes on the board")
async def confirm_official(rt: RuntimeDep, entry_id: uuid.UUID, body: ConfirmIn | None = None,
                           who: Principal = Depends(allow(REGISTRAR, ORGANISER, scope=official_entry_scope))) -> dict:
    async with rt.transaction() as tx:
        receipt, refused = await h.confirm_official(tx, entry_id, official=official_id(who),
                                                    choices=body.choices if body else None,
                                                    secret=rt.settings.secret_key, now=now())
    if refused is not None:
        raise refused
    return {"status": "confirmed", "position": receipt.position, "hash": receipt.hash, "receipt": receipt.code}


@router.post("/official-entries/{entry_id}/reject", summary="Reject a wrong entry (never counted)")
async def reject_official(entry_id: uuid.UUID, body: RejectIn, rt: RuntimeDep,
                          who: Principal = Depends(allow(REGISTRAR, ORGANISER, scope=official_entry_scope))) -> dict:
    async with rt.transaction() as tx:
        await h.reject_official(tx, entry_id, official=official_id(who), reason=body.reason, now=now())
    return {"status": "rejected"}


# ---- the public bulletin board -------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/board", summary="The board's head, key, signed checkpoints and ballots")
async def board(assembly_id: uuid.UUID, rt: RuntimeDep,
                who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        return await v.board_summary(tx, assembly_id, secret=rt.settings.secret_key, now=now())


@router.get("/assemblies/{assembly_id}/board/entries/{position}",
            summary="Look a vote up by its receipt's position (choices shown once its ballot closed)")
async def board_entry(assembly_id: uuid.UUID, position: BigInt, rt: RuntimeDep,
                      hash: str | None = Query(None, max_length=64, description="The receipt's hash, to compare"),
                      who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        e = await v.board_entry(tx, assembly_id, position=position, now=now())
    if hash is not None and hash.lower() != e["hash"]:
        raise Conflict(f"entry {position} has another hash than your receipt", code="receipt_mismatch")
    return e


@router.get("/assemblies/{assembly_id}/board/tokens/{token_hash}", summary="Look a vote up by its token hash")
async def board_token(assembly_id: uuid.UUID, token_hash: str, rt: RuntimeDep,
                      who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        return await v.board_entry(tx, assembly_id, token_hash=token_hash.lower(), now=now())


@router.post("/assemblies/{assembly_id}/board/checkpoints", status_code=201, summary="Sign a checkpoint of the head now")
async def checkpoint(assembly_id: uuid.UUID, rt: RuntimeDep,
                     who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await h.checkpoint_now(tx, assembly_id, secret=rt.settings.secret_key, now=now())


@router.get("/assemblies/{assembly_id}/board/export",
            summary="The whole board as one signed file (for `borgerting voting verify`)")
async def export(assembly_id: uuid.UUID, rt: RuntimeDep,
                 who: Principal = Depends(allow(PUBLIC))) -> JSONResponse:
    async with rt.transaction() as tx:
        doc = await v.export_board(tx, assembly_id, secret=rt.settings.secret_key, now=now())
    return JSONResponse(doc, headers={"content-disposition": f'attachment; filename="board-{assembly_id}.json"'})


# ---- the ballot page ----------------------------------------------------------------------


@router.get("/ballots/{ballot_id}/page", response_class=HTMLResponse, tags=["public"],
            summary="The ballot page for members (Danish and English, phone-friendly)")
async def ballot_page(rt: RuntimeDep, request: Request, ballot_id: uuid.UUID, lang: Literal["da", "en"] = "da", who: Principal = Depends(allow(PUBLIC))) -> HTMLResponse:
    b = await _ballot_out(rt, ballot_id)
    # A member signed in to the portal (shared/ui) gets the page with their access token, so that
    # the script asks for the voting token without anything to paste; behind the one origin the
    # script's calls carry the page's prefix.
    session = await rt.web_sessions.load(request.cookies.get(SESSION_COOKIE))
    access = None
    if session is not None and session.kind == "member" and (MEMBER, str(b.assembly_id)) in session.grants:
        access = session.access_token
    return templates.TemplateResponse(request, "ballot.html", {"ballot": b.model_dump(mode="json"), "lang": lang,
                                                               "access": access, "base": forwarded_prefix(request)},
                                      headers={"cache-control": "no-store"})
