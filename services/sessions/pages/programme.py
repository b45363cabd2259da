"""The programme's pages for staff (the console's menu: Programme): the assembly's programme at a
glance, and per session where it is held (venues per region, the online link, capacity), its
agenda by phase with speakers, each item's documents (a file of at most 5 MiB or a link, with its
checksum) and publishing the programme. The secretariat writes, facilitators and auditors read.
Each page has the policy of the API route beside it, writes go through the same handlers, and
every form works without JavaScript."""

from __future__ import annotations

import re
import uuid
from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions.api import session_scope
from services.sessions.api.programme import document_scope, item_scope
from services.sessions.domain import programme_form as forms
from services.sessions.domain.session_form import LOCAL, read_when_form
from services.sessions.domain.programme import DOCUMENT_KINDS, EXPERT_KINDS, ITEM_PHASES, MAX_DOCUMENT_BYTES, MAX_VENUES
from services.sessions.handlers import programme as h
from services.sessions.pages import MODE_NAMES, PHASE_NAMES, SCHEDULE_PROBLEMS, pages
from services.sessions.views import load_session
from services.sessions.views import programme as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])
STAFF = (ORGANISER, FACILITATOR, AUDITOR)

KIND_NAMES = {"expert": N_("Expert"), "stakeholder": N_("Stakeholder")}
DOCUMENT_NAMES = {"briefing": N_("Briefing"), "slides": N_("Slides"), "video": N_("Video"), "other": N_("Other")}
# (field, kind) first, then kind alone: what the page says beside a field
PROBLEMS = {
    ("title", "missing"): N_("Enter a title"),
    ("link_title", "missing"): N_("Enter a title"),
    ("file_title", "missing"): N_("Enter a title"),
    ("url", "missing"): N_("Enter the link"),
    ("name", "missing"): N_("Enter the name"),
    ("affiliation", "missing"): N_("Enter the organisation or role"),
    ("interests", "missing"): N_("Enter the declaration of interests (write none if there are none)"),
    ("wanted", "missing"): N_("Write whom, or what knowledge, you want to hear"),
    ("reason", "missing"): N_("Say why the assembly should hear them"),
    ("minutes", "number"): N_("Enter the minutes as a whole number from 1 to 720"),
    ("capacity", "number"): N_("Enter the number of seats as a whole number from 1 to 100000, or leave it empty"),
    ("position", "number"): N_("Enter the place on the agenda as a whole number from 1, or leave it empty"),
    ("phase", "choose"): N_("Choose the item's phase"),
    ("kind", "choose"): N_("Choose expert or stakeholder"),
    ("link_kind", "choose"): N_("Choose the kind of document"),
    ("file_kind", "choose"): N_("Choose the kind of document"),
    ("status", "choose"): N_("Choose accept or decline"),
    ("session_id", "choose"): N_("Choose one of the sessions"),
    ("confirm", "missing"): N_("Tick the box to confirm"),
    ("date", "date"): SCHEDULE_PROBLEMS["date"],
    ("time", "time"): SCHEDULE_PROBLEMS["time"],
    ("duration_hours", "duration"): SCHEDULE_PROBLEMS["duration"],
}
KIND_PROBLEMS = {
    "missing": N_("Fill in this field"),
    "too_long": N_("The text is too long"),
    "number": N_("Enter a whole number in the range shown"),
    "choose": N_("Choose one of the options"),
    "link": N_("Enter a web address starting with https://"),
    "link_needed": N_("An online or hybrid session needs the online meeting's link"),
    "region_missing": N_("Enter the region"),
    "venue_missing": N_("Enter the venue's name and address"),
    "region_twice": N_("Each region can have one venue per session"),
    "venue_needed": N_("A session at a venue needs at least one venue: a region and an address"),
    "file_missing": N_("Choose a file"),
    "file_empty": N_("The file is empty: choose another file"),
    "file_too_large": N_("The file is larger than 5 MiB: attach a link to it instead"),
}


def problems_of(request: Request, found) -> list[dict]:
    """Problems (field, kind) as the error summary and the fields show them."""
    _ = pages.gettext(request)
    out = []
    for field, kind in found:
        base = re.sub(r"(-[0-9a-f-]{36}|_\d+)$", "", field)
        out.append({"field": field, "message": _(PROBLEMS.get((base, kind)) or KIND_PROBLEMS.get(kind, "missing"))})
    return out


def names(request: Request) -> dict:
    """The words for phases, modes, kinds of people and of documents, in the reader's language."""
    _ = pages.gettext(request)
    phases, kinds = {k: _(x) for k, x in PHASE_NAMES.items()}, {k: _(x) for k, x in KIND_NAMES.items()}
    documents = {k: _(x) for k, x in DOCUMENT_NAMES.items()}
    return {"phases": phases, "modes": {k: _(x) for k, x in MODE_NAMES.items()}, "kinds": kinds,
            "document_kinds": documents, "max_mib": MAX_DOCUMENT_BYTES // 2**20,
            "phase_choices": [(x, phases[x]) for x in ITEM_PHASES],
            "document_choices": [(x, documents[x]) for x in DOCUMENT_KINDS],
            "kind_choices": [(x, kinds[x]) for x in EXPERT_KINDS]}


async def form_of(request: Request) -> dict:
    return {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}


def is_organiser(who: Principal, assembly_id: uuid.UUID) -> bool:
    return ORGANISER in who.roles_in(assembly_id) or bool(who.global_roles)


# ---- the assembly's programme ------------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/programme", summary="The assembly's programme: sessions, agendas (HTML)",
            responses=errors(404))
async def programme_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(*STAFF, page=True))) -> Response:
    async with rt.transaction() as tx:
        sessions = await v.assembly_programme(tx, assembly_id)
        experts = await v.experts(tx, assembly_id)
        requests = await v.witness_requests(tx, assembly_id)
    return pages.render(request, "programme.html", {
        "assembly_id": assembly_id, "sessions": sessions, "hours": v.programme_hours(sessions),
        "experts": experts, "open_requests": sum(1 for r in requests if r["status"] == "open"),
        "requests": len(requests), "can_edit": is_organiser(who, assembly_id), **names(request)}, who=who)


# ---- one session's programme -------------------------------------------------------------------


def _setting_form(prog: dict) -> dict:
    local = prog["starts_at"].astimezone(LOCAL)
    form = {"online_url": prog["online_url"] or "", "capacity": "" if prog["capacity"] is None else str(prog["capacity"]),
            "date": local.date().isoformat(), "time": local.strftime("%H:%M"),
            "duration_hours": f"{prog['duration_hours']:g}"}
    for i, x in enumerate(prog["venues"]):
        form[f"region_{i}"], form[f"venue_{i}"] = x["region"], x["venue"]
    return form


async def _session_page(request: Request, rt, who: Principal, session_id: uuid.UUID, *, form: dict | None = None,
                        errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        prog = await v.session_programme(tx, session_id)
        experts = await v.experts(tx, prog["assembly_id"])
        regions = await v.known_regions(tx, prog["assembly_id"])
    request.state.assembly_id = prog["assembly_id"]  # the assembly's menu
    errors_ = errors_ or []
    form = {**_setting_form(prog), **(form or {})}
    rows = min(MAX_VENUES, max(len(prog["venues"]) + 2, 3))
    return pages.render(request, "programme_session.html", {
        "prog": prog, "experts": experts, "regions": regions, "form": form, "rows": rows, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused,
        "ticked": set(getattr(request.state, "ticked", ())),
        "minutes": sum(i["minutes"] for i in prog["items"]),
        "can_edit": is_organiser(who, prog["assembly_id"]) and not prog["held"], "done": request.query_params.get("done"),
        **names(request)}, who=who, status=refused["status"] if refused else status)


@router.get("/sessions/{session_id}/programme", summary="A session's programme: where, agenda, documents (HTML)",
            responses=errors(404))
async def session_page(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(*STAFF, scope=session_scope, page=True))) -> Response:
    return await _session_page(request, rt, who, session_id)


async def write_or_show(request: Request, rt, page, form: dict, found, write, done_path: str) -> Response:
    """Run `write(tx)` unless the form has problems; else `page(...)` again with them (or with the
    refusal); after the write, the browser goes to `done_path`."""
    if found:
        return await page(form=form, errors_=problems_of(request, found), status=422)
    try:
        async with rt.transaction() as tx:
            await write(tx)
    except DomainError as exc:
        return await page(form=form, refused=pages.refusal(request, exc))
    return pages.redirect(request, service_url(request, done_path))


def _write(request: Request, rt, who: Principal, session_id: uuid.UUID, form: dict, found, write, done: str):
    page = partial(_session_page, request, rt, who, session_id)
    return write_or_show(request, rt, page, form, found, write, f"/sessions/{session_id}/programme?done={done}")


@router.post("/sessions/{session_id}/programme/setting", summary="Where a session is held (HTML form)",
             responses=errors(404, 409, 422))
async def setting(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  who: Principal = Depends(allow(ORGANISER, scope=session_scope, page=True))) -> Response:
    form = await form_of(request)
    async with rt.transaction() as tx:
        s = await load_session(tx, session_id)
    values, found = forms.read_setting_form(form, s.mode)
    return await _write(request, rt, who, session_id, form, found,
                        lambda tx: h.set_setting(tx, session_id, **values), "setting")


@router.post("/sessions/{session_id}/programme/when", summary="When a session is held: date, time, duration (HTML form)",
             responses=errors(404, 409, 422))
async def when(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
               who: Principal = Depends(allow(ORGANISER, scope=session_scope, page=True))) -> Response:
    form = await form_of(request)
    values, found = read_when_form(form)
    return await _write(request, rt, who, session_id, form, found,
                        lambda tx: h.reschedule(tx, session_id, **values), "when")


@router.post("/sessions/{session_id}/programme/items", summary="Add an item to the agenda (HTML form)",
             responses=errors(404, 409, 422))
async def add_item(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, scope=session_scope, page=True))) -> Response:
    raw = await request.form()
    form = {k: str(x) for k, x in raw.items() if k not in ("csrf_token", "speakers")}
    values, found = forms.read_item_form(form)
    async with rt.transaction() as tx:
        s = await load_session(tx, session_id)
        speakers = forms.read_speakers(raw.getlist("speakers"), await v.expert_ids(tx, s.assembly_id))
    request.state.ticked = speakers
    return await _write(request, rt, who, session_id, form, found,
                        lambda tx: h.add_item(tx, session_id, speaker_ids=speakers, **values), "item")


@router.post("/sessions/{session_id}/programme/publish", summary="Publish the session's programme (HTML form)",
             responses=errors(404, 409))
async def publish(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  who: Principal = Depends(allow(ORGANISER, scope=session_scope, page=True))) -> Response:
    return await _write(request, rt, who, session_id, {}, [], lambda tx: h.publish(tx, session_id), "published")


# ---- one agenda item: change it, its documents, remove it ----------------------------------------


async def _item_page(request: Request, rt, who: Principal, item_id: uuid.UUID, *, form: dict | None = None,
                     errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        item = await v.load_item(tx, item_id)
        prog = await v.session_programme(tx, item.session_id)
        experts = await v.experts(tx, item.assembly_id)
    request.state.assembly_id = item.assembly_id
    this = next(i for i in prog["items"] if i["id"] == item_id)
    errors_ = errors_ or []
    defaults = {"phase": this["phase"], "title": this["title"], "minutes": str(this["minutes"]),
                "description": this["description"], "position": str(this["position"])}
    ticked = getattr(request.state, "ticked", None)
    return pages.render(request, "programme_item.html", {
        "prog": prog, "item": this, "experts": experts, "form": {**defaults, **(form or {})}, "errors": errors_,
        "ticked": set(ticked) if ticked is not None else {x["id"] for x in this["speakers"]},
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused, "can_edit": not prog["held"], "done": request.query_params.get("done"),
        **names(request)}, who=who, status=refused["status"] if refused else status)


@router.get("/agenda-items/{item_id}/edit", summary="Change an agenda item and its documents (HTML)",
            responses=errors(404))
async def item_page(item_id: uuid.UUID, rt: RuntimeDep, request: Request,
                    who: Principal = Depends(allow(ORGANISER, scope=item_scope, page=True))) -> Response:
    return await _item_page(request, rt, who, item_id)


def _item_write(request: Request, rt, who: Principal, item_id: uuid.UUID, form: dict, found, write, done: str):
    page = partial(_item_page, request, rt, who, item_id)
    return write_or_show(request, rt, page, form, found, write, f"/agenda-items/{item_id}/edit?done={done}")


@router.post("/agenda-items/{item_id}/edit", summary="Change an agenda item (HTML form)",
             responses=errors(404, 409, 422))
async def change_item(item_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, scope=item_scope, page=True))) -> Response:
    raw = await request.form()
    form = {k: str(x) for k, x in raw.items() if k not in ("csrf_token", "speakers")}
    values, found = forms.read_item_form(form, with_position=True)
    async with rt.transaction() as tx:
        item = await v.load_item(tx, item_id)
        speakers = forms.read_speakers(raw.getlist("speakers"), await v.expert_ids(tx, item.assembly_id))
    request.state.ticked = speakers
    return await _item_write(request, rt, who, item_id, form, found,
                             lambda tx: h.update_item(tx, item_id, speaker_ids=speakers, **values), "changed")


@router.post("/agenda-items/{item_id}/links", summary="Attach a link to an agenda item (HTML form)",
             responses=errors(404, 409, 422))
async def add_link(item_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, scope=item_scope, page=True))) -> Response:
    form = await form_of(request)
    values, found = forms.read_link_form(form)
    return await _item_write(request, rt, who, item_id, form, found,
                             lambda tx: h.add_document(tx, item_id, **values), "document")


@router.post("/agenda-items/{item_id}/upload", summary="Attach a file to an agenda item (HTML form, multipart)",
             responses=errors(404, 409, 413, 422))
async def upload(item_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(ORGANISER, scope=item_scope, page=True))) -> Response:
    raw = await request.form()
    form = {k: str(x) for k, x in raw.items() if k not in ("csrf_token", "file")}
    file = raw.get("file")
    filename = getattr(file, "filename", None) if not isinstance(file, str) else None
    content = await file.read(MAX_DOCUMENT_BYTES + 1) if filename else b""
    values, found = forms.read_upload_form(form, filename, len(content))
    status = 413 if ("file", "file_too_large") in found else 422
    if found:
        return await _item_page(request, rt, who, item_id, form=form, errors_=problems_of(request, found),
                                status=status)
    return await _item_write(request, rt, who, item_id, form, [], lambda tx: h.add_document(
        tx, item_id, filename=filename, content=content, **values), "document")


@router.post("/documents/{document_id}/remove", summary="Remove a document from its item (HTML form)",
             responses=errors(404, 409))
async def remove_document(document_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(ORGANISER, scope=document_scope, page=True))) -> Response:
    async with rt.transaction() as tx:
        d = await v.load_document(tx, document_id)
    return await _item_write(request, rt, who, d.item_id, {}, [], lambda tx: h.delete_document(tx, document_id),
                             "document_removed")


@router.post("/agenda-items/{item_id}/remove", summary="Remove an agenda item after a confirmation (HTML form)",
             responses=errors(404, 409, 422))
async def remove_item(item_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, scope=item_scope, page=True))) -> Response:
    form = await form_of(request)
    if form.get("confirm") != "true":
        return await _item_page(request, rt, who, item_id, errors_=problems_of(request, [("confirm", "missing")]),
                                status=422)
    try:
        async with rt.transaction() as tx:
            session_id = await h.delete_item(tx, item_id)
    except DomainError as exc:
        return await _item_page(request, rt, who, item_id, refused=pages.refusal(request, exc))
    return pages.redirect(request, service_url(request, f"/sessions/{session_id}/programme?done=removed"))
