"""The recommendations workspace's pages, for members (from their portal) and staff (from the
console's menu): the drafts of the assembly and a form to start one, a draft with its current text,
its versions and their diff, amendments (members propose, the secretariat accepts or rejects),
minority statements, a revision or merge for staff, and the secretariat's freezing of the final
list (after a confirmation). Each page has the policy of the API route beside it; writes go
through the same handlers, and every form works without JavaScript."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions.api.drafts import READERS, amendment_scope, draft_scope
from services.sessions.domain import drafts as dom
from services.sessions.handlers import drafts as h
from services.sessions.pages import pages
from services.sessions.views import drafts as v
from shared.auth import FACILITATOR, MEMBER, ORGANISER, Principal, allow
from shared.markdown import render
from shared.openapi import errors
from shared.problems import DomainError
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

PROBLEMS = {
    ("group", "missing"): N_("Enter the table or working group"),
    ("title", "missing"): N_("Enter a title"),
    ("merge_title", "missing"): N_("Enter a title"),
    ("text", "missing"): N_("Write the recommendation's text"),
    ("merge_text", "missing"): N_("Write the recommendation's text"),
    ("amendment_text", "missing"): N_("Write the text as it should read"),
    ("statement", "missing"): N_("Write the minority statement"),
    ("reason", "missing"): N_("Say why the text should change"),
    ("drafts", "missing"): N_("Choose at least one recommendation for the final list"),
    ("confirm", "missing"): N_("Tick the box to confirm"),
    ("others", "missing"): N_("Choose the drafts to merge into this one"),
}
TOO_LONG = N_("The text is too long")
CHOOSE_DECISION = N_("Choose accept or reject")
CAUSES = {"drafted": N_("First draft"), "amendment": N_("Amendment accepted"), "edit": N_("Revised"),
          "merge": N_("Merged")}
STATUSES = {"pending": N_("Waiting for the secretariat"), "accepted": N_("Accepted"), "rejected": N_("Rejected")}


def _problems(request: Request, found) -> list[dict]:
    _ = pages.gettext(request)
    return [{"field": f, "message": _(PROBLEMS.get((f, k), TOO_LONG))} for f, k in found]


async def _form(request: Request) -> dict:
    return {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}


def _roles(who: Principal, assembly_id: uuid.UUID) -> set[str]:
    return {ORGANISER, FACILITATOR} if who.global_roles else who.roles_in(assembly_id)


# ---- the assembly's drafts ---------------------------------------------------------------------


async def _list_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                     errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        drafts = await v.list_drafts(tx, assembly_id)
        final = await v.final_list(tx, assembly_id)
    roles, errors_ = _roles(who, assembly_id), errors_ or []
    return pages.render(request, "drafts.html", {
        "assembly_id": assembly_id, "drafts": drafts, "final": final, "form": form or {}, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused,
        "can_draft": final is None and bool(roles & {ORGANISER, FACILITATOR, MEMBER}),
        "can_finalise": final is None and ORGANISER in roles, "done": request.query_params.get("done"),
        "markdown": render}, who=who, status=refused["status"] if refused else status)


@router.get("/assemblies/{assembly_id}/recommendations", summary="The recommendations workspace (HTML)",
            responses=errors(404))
async def drafts_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(*READERS, page=True))) -> Response:
    return await _list_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/recommendations", summary="Start a draft (HTML form)",
             responses=errors(409, 422))
async def create_draft(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(ORGANISER, FACILITATOR, MEMBER, page=True))) -> Response:
    form = await _form(request)
    fields = {k: form.get(k, "") for k in ("group", "title", "text", "rationale")}
    found = dom.problems_of(fields, required=("group", "title", "text"))
    if found:
        return await _list_page(request, rt, who, assembly_id, form=form, errors_=_problems(request, found),
                                status=422)
    try:
        async with rt.transaction() as tx:
            draft_id = await h.create_draft(tx, assembly_id, **fields, actor=who.actor)
    except DomainError as exc:
        return await _list_page(request, rt, who, assembly_id, form=form, refused=pages.refusal(request, exc))
    return pages.redirect(request, service_url(request, f"/recommendations/{draft_id}?done=drafted"))


# ---- one draft ---------------------------------------------------------------------------------


async def _draft_page(request: Request, rt, who: Principal, draft_id: uuid.UUID, *, form: dict | None = None,
                      errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        d = await v.draft_detail(tx, draft_id)
        others = [x for x in await v.list_drafts(tx, d["assembly_id"]) if x["status"] == "open" and x["id"] != d["id"]]
    request.state.assembly_id = d["assembly_id"]  # the assembly's menu
    roles, errors_ = _roles(who, d["assembly_id"]), errors_ or []
    _ = pages.gettext(request)
    writable = d["status"] == "open" and not d["frozen"]
    return pages.render(request, "draft.html", {
        "d": d, "c": d["current"], "others": others, "form": form or {}, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused, "markdown": render,
        "causes": {k: _(x) for k, x in CAUSES.items()}, "statuses": {k: _(x) for k, x in STATUSES.items()},
        "can_propose": writable and bool(roles & {ORGANISER, FACILITATOR, MEMBER}),
        "can_revise": writable and bool(roles & {ORGANISER, FACILITATOR}),
        "can_decide": writable and ORGANISER in roles, "can_merge": writable and ORGANISER in roles and bool(others),
        "done": request.query_params.get("done")}, who=who, status=refused["status"] if refused else status)


@router.get("/recommendations/{draft_id}", summary="A draft: text, versions and diff, amendments (HTML)",
            responses=errors(404))
async def draft_page(draft_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(*READERS, scope=draft_scope, page=True))) -> Response:
    return await _draft_page(request, rt, who, draft_id)


async def _write(request: Request, rt, who: Principal, draft_id: uuid.UUID, form: dict, found, write,
                 done: str) -> Response:
    """Run `write(tx)` unless the form has problems; the draft's page again with them, or refused."""
    if found:
        return await _draft_page(request, rt, who, draft_id, form=form, errors_=_problems(request, found), status=422)
    try:
        async with rt.transaction() as tx:
            await write(tx)
    except DomainError as exc:
        return await _draft_page(request, rt, who, draft_id, form=form, refused=pages.refusal(request, exc))
    return pages.redirect(request, service_url(request, f"/recommendations/{draft_id}?done={done}"))


@router.post("/recommendations/{draft_id}/amendments", summary="Propose an amendment (HTML form)",
             responses=errors(404, 409, 422))
async def propose(draft_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  who: Principal = Depends(allow(MEMBER, ORGANISER, FACILITATOR, scope=draft_scope, page=True))) -> Response:
    form = await _form(request)
    text, reason = form.get("amendment_text", ""), form.get("reason", "")
    found = [("amendment_text" if f == "text" else f, k)
             for f, k in dom.problems_of({"text": text, "reason": reason}, required=("text", "reason"))]
    return await _write(request, rt, who, draft_id, form, found, lambda tx: h.propose_amendment(
        tx, draft_id, text=text, reason=reason, actor=who.actor), "proposed")


@router.post("/recommendations/{draft_id}/minority-statements", summary="Attach a minority statement (HTML form)",
             responses=errors(404, 409, 422))
async def add_statement(draft_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(MEMBER, ORGANISER, FACILITATOR, scope=draft_scope,
                                                       page=True))) -> Response:
    form = await _form(request)
    text = form.get("statement", "")
    found = [("statement", k) for _f, k in dom.problems_of({"text": text}, required=("text",))]
    return await _write(request, rt, who, draft_id, form, found,
                        lambda tx: h.add_minority_statement(tx, draft_id, text=text, actor=who.actor), "statement")


@router.post("/recommendations/{draft_id}/revise", summary="Revise a draft: a new version (HTML form)",
             responses=errors(404, 409, 422))
async def revise(draft_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=draft_scope, page=True))) -> Response:
    form = await _form(request)
    fields = {k: form.get(k, "") for k in ("title", "text", "rationale")}
    found = dom.problems_of(fields, required=("title", "text"))
    return await _write(request, rt, who, draft_id, form, found, lambda tx: h.revise(tx, draft_id, **fields), "revised")


@router.post("/recommendations/{draft_id}/merge", summary="Merge other drafts into this one (HTML form)",
             responses=errors(404, 409, 422))
async def merge(draft_id: uuid.UUID, rt: RuntimeDep, request: Request,
                who: Principal = Depends(allow(ORGANISER, scope=draft_scope, page=True))) -> Response:
    raw = await request.form()
    form = {k: str(x) for k, x in raw.items() if k not in ("csrf_token", "others")}
    others = []
    for x in raw.getlist("others"):
        try:
            others.append(uuid.UUID(str(x)))
        except ValueError:
            pass
    fields = {"title": form.get("merge_title", ""), "text": form.get("merge_text", ""),
              "rationale": form.get("merge_rationale", "")}
    found = [("merge_" + f, k) for f, k in dom.problems_of(fields, required=("title", "text"))]
    found += [("others", "missing")] if not others else []
    return await _write(request, rt, who, draft_id, form, found,
                        lambda tx: h.merge(tx, draft_id, others=others, **fields), "merged")


@router.post("/amendments/{amendment_id}/decide", summary="Accept or reject an amendment (HTML form)",
             responses=errors(404, 409, 422))
async def decide(amendment_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(ORGANISER, scope=amendment_scope, page=True))) -> Response:
    form = await _form(request)
    async with rt.transaction() as tx:
        a = await v.load_amendment(tx, amendment_id)
    accept = form.get("decision") == "accept"
    if form.get("decision") not in ("accept", "reject"):
        return await _draft_page(request, rt, who, a.draft_id, status=422, errors_=[
            {"field": f"decision-{amendment_id}", "message": pages.gettext(request)(CHOOSE_DECISION)}])
    return await _write(request, rt, who, a.draft_id, form, [], lambda tx: h.decide_amendment(
        tx, amendment_id, accept=accept, note=form.get("note") or None), "accepted" if accept else "rejected")


# ---- the final list ------------------------------------------------------------------------------


async def _final_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                      errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        drafts = [x for x in await v.list_drafts(tx, assembly_id) if x["status"] == "open"]
        final = await v.final_list(tx, assembly_id)
    errors_ = errors_ or []
    return pages.render(request, "final_list.html", {
        "assembly_id": assembly_id, "drafts": drafts, "final": final, "form": form, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused, "markdown": render,
        "organiser_here": ORGANISER in _roles(who, assembly_id)}, who=who, status=refused["status"] if refused else status)


@router.get("/assemblies/{assembly_id}/recommendations/final-list", responses=errors(404),
            summary="Freeze the final list: choose and order the recommendations, or see the frozen list (HTML)")
async def final_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(*READERS, page=True))) -> Response:
    return await _final_page(request, rt, who, assembly_id)


def read_final_form(form, open_ids: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The chosen drafts in the order of their numbers (ties: the list's order), and problems."""
    chosen = []
    for i, draft_id in enumerate(open_ids):
        if form.get(f"include-{draft_id}") == "true":
            raw = (form.get(f"position-{draft_id}") or "").strip()
            chosen.append((int(raw) if raw.isdigit() else 10_000 + i, i, draft_id))
    found = [] if chosen else [("drafts", "missing")]
    if form.get("confirm") != "true":
        found.append(("confirm", "missing"))
    return [x[2] for x in sorted(chosen)], found


@router.post("/assemblies/{assembly_id}/recommendations/final-list", summary="Freeze the final list (HTML form)",
             responses=errors(404, 409, 422))
async def finalise(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    async with rt.transaction() as tx:
        open_ids = [str(x["id"]) for x in await v.list_drafts(tx, assembly_id) if x["status"] == "open"]
    order, found = read_final_form(form, open_ids)
    if found:
        return await _final_page(request, rt, who, assembly_id, form=form, errors_=_problems(request, found),
                                 status=422)
    try:
        async with rt.transaction() as tx:
            await h.finalise(tx, assembly_id, [uuid.UUID(x) for x in order])
    except DomainError as exc:
        return await _final_page(request, rt, who, assembly_id, form=form, refused=pages.refusal(request, exc))
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/recommendations?done=finalised"))
