"""Voting's pages: the assembly's ballots for the secretariat (create a ballot with its questions
and threshold, open voting — which ends the issuing of tokens and sheets —, watch the turnout
without any result while it is open, close and count, the results), officials' paper and postal
votes (hand out a sheet, key one in, a second official confirms or rejects), and the public
bulletin board (its key, head, signed checkpoints, the results of closed ballots, a receipt
look-up, the signed export and the command that verifies it).

Writes go through the handlers the API uses; a refusal of the domain is shown on the page in the
chosen language with the service's own words beside it."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from services.voting import handlers as h
from services.voting import views as v
from services.voting.api import BallotIn, FinalBallotIn, QuorumIn, ThresholdIn, _flush, official_id
from shared.auth import AUDITOR, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError, NotFound
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, Formats, Pages, service_url
from shared.ui.commands import download_command
from shared.ui.pages import forwarded_prefix
from shared.ui.signin import public_base

pages = Pages("voting", Path(__file__).parent / "templates")
router = APIRouter(tags=["pages"])

STATES = {"issuing": N_("Handing out tokens"), "scheduled": N_("Opens later"), "open": N_("Voting is open"),
          "closed": N_("Closed")}
STATE_TAGS = {"issuing": "todo", "scheduled": "todo", "open": "current", "closed": "done"}
BASES = {"valid_votes": N_("of the valid votes (abstentions not counted)"), "votes_cast": N_("of the votes cast"),
         "members": N_("of all members of the panel")}
FRACTIONS = {"1/2": N_("More than half"), "2/3": N_("At least two thirds"), "3/4": N_("At least three quarters")}
CHOICES = {"yes": N_("Yes"), "no": N_("No"), "abstain": N_("Abstain")}
BASES_SHORT = {"valid_votes": N_("of the valid votes"), "votes_cast": N_("of the votes cast"),
               "members": N_("of the members")}


def threshold_text(request: Request):
    """A threshold in words ("at least 2/3 of the valid votes"), for the templates."""
    _ = pages.gettext(request)

    def text(th: dict | None) -> str:
        if not th:
            return "–"
        op = _("more than %(share)s", share=th["fraction"]) if th.get("strict") else _("at least %(share)s",
                                                                                        share=th["fraction"])
        return f"{op} {_(BASES_SHORT.get(th.get('base'), th.get('base', '')))}"

    return text


def ordered_counts(counts: dict) -> list[tuple[str, int]]:
    """Yes, no, abstain first (in that order), then the rest as counted."""
    known = [(k, counts[k]) for k in CHOICES if k in counts]
    return known + [(k, n) for k, n in counts.items() if k not in CHOICES]
ENTRY_STATES = {"pending": N_("Waiting for a second official"), "confirmed": N_("Confirmed: on the board"),
                "rejected": N_("Rejected")}
BALLOT_KINDS = {"final": N_("Final"), "trial": N_("Trial")}
PROBLEMS = {
    "ballot_kind": N_("Choose the final ballot or a trial ballot"),
    "title": N_("Enter a title of 1-200 characters"),
    "recommendations": N_("Enter at least one recommendation, one per line (each at most 2,000 characters)"),
    "fraction": N_("Choose the share needed"),
    "fraction_other": N_("Enter the share as a fraction such as 7/10 or 0.7"),
    "session_id": N_("Choose the session members must be checked in at"),
    "base": N_("Choose what the share is counted of"),
    "min_fraction": N_("Enter the quorum as a share such as 1/2 or 0.6, or leave it empty"),
    "confirm": N_("Tick the box to confirm"),
    "member_id": N_("Enter the member's number (as on the panel list)"),
    "kind": N_("Choose paper or postal"),
    "sheet_id": N_("Enter the sheet's number: 1-64 letters, digits, dots, dashes, colons or underscores"),
    "choices": N_("Choose an answer for every question"),
    "reason": N_("Say why the entry is rejected (1-500 characters)"),
}


def now() -> datetime:
    return datetime.now(timezone.utc)


def _problems(request: Request, fields) -> list[dict]:
    _ = pages.gettext(request)
    return [{"field": f, "message": _(PROBLEMS[f])} for f in fields]


def _decimal(raw: str) -> str:
    """A share as typed: Danish writes 0,7 where the API reads 0.7."""
    return raw.strip().replace(",", ".")


def roles_here(who: Principal, assembly_id: uuid.UUID) -> set[str]:
    return {ORGANISER, REGISTRAR} if who.global_roles else who.roles_in(assembly_id)


async def _form(request: Request) -> dict:
    return {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}


# ---- the assembly's ballots ---------------------------------------------------------------------


async def _ballots_page(request: Request, rt: Runtime, who: Principal, assembly_id: uuid.UUID, *,
                        errors_: list | None = None, refused: dict | None = None, form: dict | None = None,
                        status: int = 200) -> Response:
    async with rt.transaction() as tx:
        ballots = await v.assembly_ballots(tx, assembly_id, now=now())
        sessions = await v.assembly_sessions(tx, assembly_id)
        final_list = next((x for x in await v.final_lists(tx, assembly_id) if x["ballot_id"] is None), None)
    errors_ = errors_ or []
    _ = pages.gettext(request)
    fmt = Formats(pages.locale(request))
    session_options = [("", _("At any session of the assembly"))] + [
        (str(x["session_id"]), f"{x['title']}, {fmt.datetime(x['starts_at'])}" if x["title"] else str(x["session_id"]))
        for x in sessions]
    kinds = [("trial", _("A trial ballot or straw poll: never the assembly's result"))]
    if final_list is not None:
        kinds.insert(0, ("final", pages.ngettext(request)(
            "The final ballot: the %(n)s recommendation of the list frozen on %(when)s",
            "The final ballot: the %(n)s recommendations of the list frozen on %(when)s",
            len(final_list["recommendations"]), when=fmt.datetime(final_list["finalised_at"]))))
    return pages.render(request, "ballots.html", {
        "ballots": ballots, "states": STATES, "state_tags": STATE_TAGS, "assembly_id": assembly_id,
        "kinds": kinds, "final_list": final_list, "kind_names": BALLOT_KINDS,
        "organiser": ORGANISER in roles_here(who, assembly_id), "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused, "form": form or {},
        "fractions": [(k, _(t)) for k, t in FRACTIONS.items()] + [("other", _("Another share"))],
        "bases": [(k, _(t)) for k, t in BASES.items()], "session_options": session_options, "sessions": sessions},
        who=who, status=refused["status"] if refused else status)


@router.get("/assemblies/{assembly_id}/voting", summary="The assembly's ballots (HTML)", responses=errors(404))
async def ballots_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    return await _ballots_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/voting", summary="Create a ballot (HTML form)", responses=errors(404, 409, 422))
async def create_ballot(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    form.setdefault("ballot_kind", "trial")
    final = form["ballot_kind"] == "final"  # from the finalised list: title and questions are given
    title = form.get("title", "").strip()
    recommendations = [line.strip() for line in form.get("recommendations", "").splitlines() if line.strip()]
    fraction, base = form.get("fraction", ""), form.get("base", "")
    strict = fraction == "1/2"  # more than half; at least the other shares
    if fraction == "other":
        try:
            fraction, strict = ThresholdIn(fraction=_decimal(form.get("fraction_other", "")) or "x").fraction, False
        except ValidationError:
            fraction = None
    try:
        session_id = uuid.UUID(form["session_id"]) if form.get("session_id") else None
    except ValueError:
        session_id = False
    try:
        list_id = uuid.UUID(form["list_id"]) if final else None
    except (KeyError, ValueError):
        list_id = False
    bad = [f for f, ok in (("ballot_kind", form.get("ballot_kind") in BALLOT_KINDS and list_id is not False),
                           ("title", final and len(title) <= 200 or 1 <= len(title) <= 200),
                           ("recommendations", final or recommendations and all(len(r) <= 2000 for r in recommendations)
                            and len(recommendations) <= 500),
                           ("fraction", fraction in FRACTIONS or (form.get("fraction") == "other" and fraction)),
                           ("base", base in BASES), ("session_id", session_id is not False)) if not ok]
    if form.get("fraction") == "other" and not fraction:
        bad[bad.index("fraction")] = "fraction_other"
    quorum = None
    try:
        quorum = QuorumIn(min_fraction=_decimal(form.get("min_fraction", "")) or "0")
    except ValidationError:
        bad.append("min_fraction")
    if bad:
        return await _ballots_page(request, rt, who, assembly_id, errors_=_problems(request, bad), form=form, status=422)
    threshold = ThresholdIn(fraction=fraction, base=base, strict=strict)
    key = await asyncio.to_thread(h.new_ballot_key)
    try:
        async with rt.transaction() as tx:
            if final:
                rules = FinalBallotIn(quorum=quorum, threshold=threshold, **({"title": title} if title else {}))
                ballot_id = await h.open_final_ballot(tx, assembly_id, rules.rules(rules.title), list_id=list_id,
                                                      session_id=session_id, secret=rt.settings.secret_key, key=key)
            else:
                body = BallotIn(title=title, recommendations=recommendations, quorum=quorum, threshold=threshold)
                ballot_id = await h.open_ballot(tx, assembly_id, body.definition(), session_id=session_id,
                                                secret=rt.settings.secret_key, key=key)
    except DomainError as exc:
        return await _ballots_page(request, rt, who, assembly_id, refused=pages.refusal(request, exc), form=form)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/voting/ballots/{ballot_id}"))


# ---- one ballot: turnout, open, close, results, officials' entries --------------------------------


async def _ballot(rt: Runtime, assembly_id: uuid.UUID, ballot_id: uuid.UUID):
    async with rt.transaction() as tx:
        b = await v.ballot_view(tx, ballot_id, now=now())
        if b["assembly_id"] != assembly_id:
            raise NotFound("ballot not found")
        return b


async def _ballot_page(request: Request, rt: Runtime, who: Principal, assembly_id: uuid.UUID, ballot_id: uuid.UUID, *,
                       errors_: list | None = None, refused: dict | None = None, form: dict | None = None,
                       status: int = 200) -> Response:
    b = await _ballot(rt, assembly_id, ballot_id)
    async with rt.transaction() as tx:
        turnout = await v.turnout(tx, ballot_id)
        result = (await v.load_ballot(tx, ballot_id)).result
        entries = await v.official_entries(tx, ballot_id)
        checkin = next((x for x in await v.assembly_sessions(tx, assembly_id) if x["session_id"] == b["session_id"]),
                       None) if b["session_id"] else None
    errors_ = errors_ or []
    roles = roles_here(who, assembly_id)
    # Updating itself is the reader's choice (?watch=1): a page that reloaded under a form being
    # filled in (a paper sheet keyed in) would lose what was typed (WCAG 2.2.1).
    running = b["state"] in ("issuing", "scheduled", "open")
    watching = running and request.query_params.get("watch") == "1" and not errors_ and not refused
    here = service_url(request, f"/assemblies/{assembly_id}/voting/ballots/{ballot_id}")
    return pages.render(request, "ballot_staff.html", {
        "b": b, "d": b["definition"], "turnout": turnout, "result": result if b["state"] == "closed" else None,
        "entries": entries, "checkin": checkin, "states": STATES, "state_tags": STATE_TAGS, "entry_states": ENTRY_STATES,
        "choices": CHOICES, "bases": BASES, "assembly_id": assembly_id, "organiser": ORGANISER in roles,
        "threshold_text": threshold_text(request), "ordered_counts": ordered_counts,
        "official": bool(roles & {ORGANISER, REGISTRAR}), "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused, "form": form or {},
        "watching": watching, "running": running, "watch_url": here + "?watch=1", "still_url": here,
        "board_url": service_url(request, f"/assemblies/{assembly_id}/voting/board")},
        who=who, status=refused["status"] if refused else status, headers={"refresh": "15"} if watching else None)


def _back(request: Request, assembly_id: uuid.UUID, ballot_id: uuid.UUID) -> Response:
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/voting/ballots/{ballot_id}"))


@router.get("/assemblies/{assembly_id}/voting/ballots/{ballot_id}", summary="A ballot for the staff: turnout, "
            "open, close, results, paper and postal votes (HTML)", responses=errors(404))
async def ballot_page(assembly_id: uuid.UUID, ballot_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    return await _ballot_page(request, rt, who, assembly_id, ballot_id)


async def _act(request: Request, rt: Runtime, who: Principal, assembly_id: uuid.UUID, ballot_id: uuid.UUID,
               form: dict, write) -> Response:
    await _ballot(rt, assembly_id, ballot_id)
    try:
        async with rt.transaction() as tx:
            await write(tx)
    except DomainError as exc:
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, refused=pages.refusal(request, exc), form=form)
    return _back(request, assembly_id, ballot_id)


@router.post("/assemblies/{assembly_id}/voting/ballots/{ballot_id}/open", summary="Open voting (HTML form)",
             responses=errors(404, 409, 422))
async def open_form(assembly_id: uuid.UUID, ballot_id: uuid.UUID, rt: RuntimeDep, request: Request,
                    who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    if form.get("confirm") != "true":
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, errors_=_problems(request, ["confirm"]),
                                  form=form, status=422)
    return await _act(request, rt, who, assembly_id, ballot_id, form, lambda tx: h.open_voting(tx, ballot_id, now=now()))


@router.post("/assemblies/{assembly_id}/voting/ballots/{ballot_id}/close", summary="Close and count (HTML form)",
             responses=errors(404, 409, 422))
async def close_form(assembly_id: uuid.UUID, ballot_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    if form.get("confirm") != "true":
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, errors_=_problems(request, ["confirm"]),
                                  form=form, status=422)
    await _ballot(rt, assembly_id, ballot_id)
    await _flush(rt, ballot_id)  # the votes this process still holds go on the board first
    return await _act(request, rt, who, assembly_id, ballot_id, form, lambda tx: h.close_ballot(
        tx, ballot_id, secret=rt.settings.secret_key, now=now()))


@router.post("/assemblies/{assembly_id}/voting/ballots/{ballot_id}/sheets",
             summary="Hand out a paper sheet or send a postal one (HTML form)", responses=errors(404, 409, 422))
async def sheet_form(assembly_id: uuid.UUID, ballot_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, REGISTRAR, page=True))) -> Response:
    form = await _form(request)
    kind = form.get("sheet_kind", "")
    try:
        member_id = uuid.UUID(form.get("member_id", "").strip())
    except ValueError:
        member_id = None
    bad = [f for f, ok in (("member_id", member_id is not None), ("kind", kind in ("paper", "postal"))) if not ok]
    if bad:
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, errors_=_problems(request, bad), form=form,
                                  status=422)
    return await _act(request, rt, who, assembly_id, ballot_id, form,
                      lambda tx: h.issue_sheet(tx, ballot_id, member_id, kind, now=now()))


SHEET_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@router.post("/assemblies/{assembly_id}/voting/ballots/{ballot_id}/entries",
             summary="Key in a paper or postal vote (HTML form)", responses=errors(404, 409, 422))
async def entry_form(assembly_id: uuid.UUID, ballot_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, REGISTRAR, page=True))) -> Response:
    form = await _form(request)
    b = await _ballot(rt, assembly_id, ballot_id)
    questions = [q for q in b["definition"]["questions"] if q["type"] == "yes_no_abstain"]
    kind, sheet_id = form.get("entry_kind", ""), form.get("sheet_id", "").strip()
    choices = {q["id"]: form.get(f"choice_{q['id']}", "") for q in questions}
    bad = [f for f, ok in (("kind", kind in ("paper", "postal")), ("sheet_id", SHEET_RE.match(sheet_id)),
                           ("choices", len(questions) == len(b["definition"]["questions"])
                            and all(c in CHOICES for c in choices.values()))) if not ok]
    if bad:
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, errors_=_problems(request, bad), form=form,
                                  status=422)
    return await _act(request, rt, who, assembly_id, ballot_id, form, lambda tx: h.enter_official(
        tx, ballot_id, kind=kind, sheet_id=sheet_id, choices=choices, official=official_id(who), now=now()))


async def _entry_ballot(rt: Runtime, assembly_id: uuid.UUID, entry_id: uuid.UUID) -> uuid.UUID:
    async with rt.transaction() as tx:
        row = await v.load_official(tx, entry_id)
        if await v.assembly_of_ballot(tx, row.ballot_id) != assembly_id:
            raise NotFound("official entry not found")
        return row.ballot_id


@router.post("/assemblies/{assembly_id}/voting/entries/{entry_id}/confirm",
             summary="A second official confirms a paper or postal vote (HTML form)", responses=errors(404, 409))
async def confirm_entry(assembly_id: uuid.UUID, entry_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(ORGANISER, REGISTRAR, page=True))) -> Response:
    ballot_id = await _entry_ballot(rt, assembly_id, entry_id)
    try:
        async with rt.transaction() as tx:
            _receipt, refused = await h.confirm_official(tx, entry_id, official=official_id(who), choices=None,
                                                         secret=rt.settings.secret_key, now=now())
        if refused is not None:
            raise refused
    except DomainError as exc:
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, refused=pages.refusal(request, exc))
    return _back(request, assembly_id, ballot_id)


@router.post("/assemblies/{assembly_id}/voting/entries/{entry_id}/reject",
             summary="Reject a wrong paper or postal entry (HTML form)", responses=errors(404, 409, 422))
async def reject_entry(assembly_id: uuid.UUID, entry_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(ORGANISER, REGISTRAR, page=True))) -> Response:
    ballot_id = await _entry_ballot(rt, assembly_id, entry_id)
    form = await _form(request)
    reason = form.get("reason", "").strip()
    if not 1 <= len(reason) <= 500:
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, errors_=_problems(request, ["reason"]),
                                  form=form, status=422)
    try:
        async with rt.transaction() as tx:
            await h.reject_official(tx, entry_id, official=official_id(who), reason=reason, now=now())
    except DomainError as exc:
        return await _ballot_page(request, rt, who, assembly_id, ballot_id, refused=pages.refusal(request, exc))
    return _back(request, assembly_id, ballot_id)


# ---- the public bulletin board ------------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/voting/board", summary="The public bulletin board (HTML)", responses=errors(404))
async def board_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request, position: str | None = None,
                     hash: str | None = None, who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    t = now()
    async with rt.transaction() as tx:
        board = await v.board_summary(tx, assembly_id, secret=rt.settings.secret_key, now=t)
        results = {}
        for b in board["ballots"]:
            if b["state"] == "closed":
                results[b["id"]] = (await v.load_ballot(tx, uuid.UUID(b["id"]))).result
        definitions = {b["id"]: (await v.load_ballot(tx, uuid.UUID(b["id"]))).definition for b in board["ballots"]}
        lookup, lookup_error = None, None
        if position:
            _ = pages.gettext(request)
            if not position.strip().isdigit() or len(position.strip()) > 18:
                lookup_error = _("Enter the position from your receipt: the number before the colon")
            else:
                try:
                    lookup = await v.board_entry(tx, assembly_id, position=int(position.strip()), now=t)
                except DomainError:
                    lookup_error = _("There is no entry at that position on this board")
                if lookup and hash and hash.strip().lower() != lookup["hash"]:
                    lookup_error, lookup = _("The entry at that position has another hash than your receipt"), None
    base = public_base(request) + forwarded_prefix(request) + f"/assemblies/{assembly_id}/voting/board"
    verify = (download_command(f"{base}/export.json", "board.json") + "\n"
              f"borgerting voting verify board.json --fingerprint {board['board_key']['fingerprint']}")
    any_open = any(b["state"] != "closed" for b in board["ballots"])
    return pages.render(request, "board.html", {
        "board": board, "results": results, "definitions": definitions, "states": STATES, "state_tags": STATE_TAGS,
        "choices": CHOICES, "threshold_text": threshold_text(request), "ordered_counts": ordered_counts,
        "lookup": lookup, "lookup_error": lookup_error, "position": position or "",
        "hash": hash or "", "verify": verify, "any_open": any_open, "assembly_id": assembly_id},
        who=who, status=422 if lookup_error else 200)


@router.get("/assemblies/{assembly_id}/voting/board/export.json", summary="The signed board (public download)",
            responses=errors(404, 409))
async def board_export(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        doc = await v.export_board(tx, assembly_id, secret=rt.settings.secret_key, now=now())
    return JSONResponse(doc, headers={"content-disposition": f'attachment; filename="board-{assembly_id}.json"'})
