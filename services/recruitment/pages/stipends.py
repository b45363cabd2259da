"""Places and stipends as pages: a member confirms or declines their place, reads their stipend
statement and claims travel or childcare with a receipt (from the portal); the secretariat sets
the rates and registrars approve claims (two different people), open receipts and export payments.
Amounts are øre inside and kroner per locale on the page (docs/stipends.md)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.recruitment.api.stipends import claim_scope, payment_response
from services.recruitment.domain.letter_details import kroner_text, parse_kroner
from services.recruitment.domain.stipends import KINDS, MAX_ORE, MAX_RECEIPT_BYTES, Rates
from services.recruitment.handlers import stipends as h
from services.recruitment.pages import _form, pages
from services.recruitment.views import stipends as v
from shared.auth import AUDITOR, MEMBER, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError, not_found
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

KIND_NAMES = {"travel": N_("Travel"), "childcare": N_("Childcare")}
STATUS_NAMES = {"present": N_("Present"), "absent": N_("Absent"), "pending": N_("Awaiting approval"),
                "approved": N_("Approved"), "rejected": N_("Rejected")}
PROBLEMS = {
    "answer": N_("Choose whether you take your place"),
    "confirm": N_("Tick the box to confirm that you decline your place"),
    "place_declined": N_("You have declined your place, and it goes to someone else"),
    "place_confirmed": N_("You have already confirmed your place"),
    "not_a_member": N_("You are not on this assembly's panel (any more)"),
    "session": N_("Choose the session the expense was for"),
    "kind": N_("Choose what you claim for"),
    "amount": N_("Enter the amount in kroner, for example 123,50"),
    "receipt": N_("Choose the receipt: a PDF, JPEG or PNG file of at most 5 MB"),
    "claim_kind": N_("Choose what you claim for"),
    "claim_not_paid": N_("This assembly does not pay this kind of expense"),
    "claim_amount": N_("Enter the amount in kroner, for example 123,50"),
    "claim_above_cap": N_("The amount is more than the assembly pays for this per session"),
    "claim_not_present": N_("You can only claim for a session you were checked in at"),
    "claim_duplicate": N_("You have already claimed this for the session"),
    "claim_receipt": N_("Choose the receipt: a PDF, JPEG or PNG file of at most 5 MB"),
    "rate": N_("Enter an amount in kroner from 0 to 100.000, for example 1.500 or 1500,50"),
    "reason": N_("Say why the claim is rejected (at most 500 characters)"),
    "claim_decided": N_("This claim has already been decided"),
    "same_approver": N_("You have already approved this claim: a second, different person must approve it"),
    "nothing_due": N_("Nothing is due: every earned amount has been paid"),
    "attendance_incomplete": N_("The attendance of a held session is still arriving. Try again in a moment"),
    "confirm_export": N_("Tick the box to confirm that the payment goes to the payment system"),
}


def _problems(request: Request, found: dict[str, str]) -> tuple[dict, list]:
    _ = pages.gettext(request)
    by_field = {field: _(PROBLEMS[key]) for field, key in found.items()}
    return by_field, [{"field": f, "message": m} for f, m in by_field.items()]


def _kr(request: Request):
    lang = pages.locale(request)
    return lambda ore: kroner_text(int(ore or 0), lang)


# ---- the member: my place ----------------------------------------------------------------------


async def _place_page(rt: Runtime, request: Request, who: Principal, assembly_id: uuid.UUID, *, form=None,
                      problems=None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        place = await v.place(tx, who.member_id)
        active = await v.is_active_member(tx, assembly_id, who.member_id)
    by_field, errors_ = _problems(request, problems or {})
    _ = pages.gettext(request)
    return pages.render(request, "place.html", {
        "assembly_id": assembly_id, "place": place, "active": active, "form": form or {}, "by_field": by_field,
        "errors": errors_, "options": [("confirmed", _("Yes, I take my place on the panel")),
                                       ("declined", _("No, I decline my place"))]}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/place", summary="A member's place: confirm or decline it (HTML)",
            responses=errors(404))
async def place_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    return await _place_page(rt, request, who, assembly_id)


@router.post("/assemblies/{assembly_id}/place", summary="Confirm or decline my place (HTML form)",
             responses=errors(403, 404, 422))
async def place_answer(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    form = _form(await request.form())
    answer = form.get("answer")
    if answer not in ("confirmed", "declined"):
        return await _place_page(rt, request, who, assembly_id, form=form, problems={"answer": "answer"}, status=422)
    if answer == "declined" and form.get("confirm") != "true":
        return await _place_page(rt, request, who, assembly_id, form=form, problems={"confirm": "confirm"},
                                 status=422)
    try:
        async with rt.transaction() as tx:
            await h.answer(tx, assembly_id, who.member_id, answer)
    except DomainError as exc:
        status = 403 if exc.code == "not_a_member" else 409
        return await _place_page(rt, request, who, assembly_id, form=form, problems={"answer": exc.code},
                                 status=status)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/place"))


# ---- the member: my stipend (statement and claims) ----------------------------------------------


async def _stipend_page(rt: Runtime, request: Request, who: Principal, assembly_id: uuid.UUID, *, form=None,
                        problems=None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        state = await v.book(tx, assembly_id, who.member_id)
        claims = await v.claims(tx, assembly_id, who.member_id)
    book = state["books"][str(who.member_id)]
    sessions = {str(s["session_id"]): s for s in state["sessions"]}
    attended = [s for s in state["sessions"] if any(
        x.kind == "session" and x.ref == str(s["session_id"]) and x.status == "present" for x in book.lines)]
    by_field, errors_ = _problems(request, problems or {})
    _ = pages.gettext(request)
    rates = state["rates"]
    return pages.render(request, "stipend.html", {
        "assembly_id": assembly_id, "book": book, "sessions": sessions, "claims": claims, "attended": attended,
        "rates": rates, "kinds": [(k, _(KIND_NAMES[k])) for k in KINDS if rates.cap(k)],
        "kind_names": KIND_NAMES, "status_names": STATUS_NAMES, "kr": _kr(request), "form": form or {},
        "by_field": by_field, "errors": errors_, "sent": request.query_params.get("sent") == "1"},
        who=who, status=status)


@router.get("/assemblies/{assembly_id}/stipend", summary="A member's stipend statement and claims (HTML)",
            responses=errors(404))
async def stipend_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    return await _stipend_page(rt, request, who, assembly_id)


@router.post("/assemblies/{assembly_id}/stipend/claims", summary="Claim an expense with its receipt (HTML form)",
             responses=errors(404, 413, 422))
async def stipend_claim(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    raw = await request.form()
    form = _form(raw)
    problems: dict[str, str] = {}
    try:
        session_id = uuid.UUID(form.get("session", ""))
    except ValueError:
        session_id = None
        problems["session"] = "session"
    if form.get("kind") not in KINDS:
        problems["kind"] = "kind"
    amount = parse_kroner(form.get("amount") or "")
    if amount is None or not 0 < amount <= MAX_ORE:
        problems["amount"] = "amount"
    upload = raw.get("receipt")
    receipt = b""
    if upload is None or isinstance(upload, str) or not upload.filename:
        problems["receipt"] = "receipt"
    else:
        receipt = await upload.read(MAX_RECEIPT_BYTES + 1)
    if problems:
        return await _stipend_page(rt, request, who, assembly_id, form=form, problems=problems, status=422)
    try:
        async with rt.transaction() as tx:
            await h.submit_claim(tx, assembly_id, who.member_id, session_id=session_id, kind=form["kind"],
                                 amount_ore=amount, receipt=receipt)
    except DomainError as exc:
        field = {"claim_kind": "kind", "claim_not_paid": "kind", "claim_amount": "amount",
                 "claim_above_cap": "amount", "claim_receipt": "receipt"}.get(exc.code, "session")
        key = exc.code if exc.code in PROBLEMS else "session"
        return await _stipend_page(rt, request, who, assembly_id, form=form, problems={field: key},
                                   status=422 if exc.kind == "invalid_input" else 409)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/stipend?sent=1"))


# ---- staff: rates, claims to approve, payments --------------------------------------------------


async def _stipends_page(rt: Runtime, request: Request, who: Principal, assembly_id: uuid.UUID, *, form=None,
                         problems=None, status: int = 200, note: str | None = None) -> Response:
    async with rt.transaction() as tx:
        state = await v.book(tx, assembly_id)
        claims = await v.claims(tx, assembly_id)
        payments = await v.payments(tx, assembly_id)
        rates_set = await v.rates_set(tx, assembly_id)
    roles = who.roles_in(assembly_id) | who.global_roles
    books = sorted(state["books"].values(), key=lambda b: b.member_id)
    rates = state["rates"]
    kr = _kr(request)
    by_field, errors_ = _problems(request, problems or {})
    plain = {k: "" if v is None else kroner_text(v).removesuffix(" kr.") for k, v in
             {"session": rates.session_ore, "travel": rates.travel_cap_ore, "childcare": rates.childcare_cap_ore}.items()}
    return pages.render(request, "stipends.html", {
        "assembly_id": assembly_id, "rates": rates, "rates_set": rates_set, "books": books, "state": state,
        "claims": claims, "pending": [c for c in claims if c["status"] == "pending"], "payments": payments,
        "kr": kr, "kind_names": KIND_NAMES, "status_names": STATUS_NAMES, "form": form or plain,
        "by_field": by_field, "errors": errors_, "note": note, "me": who.actor,
        "is_organiser": ORGANISER in roles, "is_registrar": REGISTRAR in roles,
        "totals": {"earned": sum(b.earned_ore for b in books), "paid": sum(b.paid_ore for b in books),
                   "due": sum(b.due_ore for b in books)}}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/stipend-ledger",
            summary="Stipends: the rates, every member's ledger, claims to approve, payments (HTML)",
            responses=errors(404))
async def stipends_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    return await _stipends_page(rt, request, who, assembly_id)


@router.post("/assemblies/{assembly_id}/stipend-ledger/rates", summary="Set the rates (HTML form)",
             responses=errors(404, 422))
async def stipends_rates(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = _form(await request.form())
    values, problems = {}, {}
    for field in ("session", "travel", "childcare"):
        raw = (form.get(field) or "").strip()
        ore = parse_kroner(raw) if raw else 0
        if ore is None or ore > MAX_ORE:
            problems[field] = "rate"
        values[field] = ore
    if problems:
        return await _stipends_page(rt, request, who, assembly_id, form=form, problems=problems, status=422)
    async with rt.transaction() as tx:
        await h.set_rates(tx, assembly_id, Rates(values["session"], values["travel"], values["childcare"]))
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/stipend-ledger"))


@router.post("/claims/{claim_id}/decision", summary="Approve or reject a claim (HTML form)",
             responses=errors(404, 422))
async def claim_decision(claim_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(REGISTRAR, scope=claim_scope, page=True))) -> Response:
    form = _form(await request.form())
    async with rt.transaction() as tx:
        assembly_id = await v.claim_assembly(tx, claim_id)
    reason = (form.get("reason") or "").strip()
    try:
        async with rt.transaction() as tx:
            if form.get("action") == "reject":
                if not 0 < len(reason) <= 500:
                    return await _stipends_page(rt, request, who, assembly_id, problems={f"reason-{claim_id}": "reason"},
                                                status=422)
                await h.reject_claim(tx, claim_id, who.actor, reason)
            else:
                await h.approve_claim(tx, claim_id, who.actor)
    except DomainError as exc:
        return await _stipends_page(rt, request, who, assembly_id, status=409,
                                    problems={f"claim-{claim_id}": exc.code if exc.code in PROBLEMS else "claim_decided"})
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/stipend-ledger#claims"))


@router.get("/claims/{claim_id}/receipt/view", summary="A claim's receipt, for the registrar (the file)",
            response_class=Response, responses=errors(404))
async def claim_receipt(claim_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(REGISTRAR, scope=claim_scope, page=True))) -> Response:
    async with rt.transaction() as tx:
        data, media = await v.receipt(tx, claim_id)
    return Response(data, media_type=media, headers={"content-disposition": "inline", "cache-control": "no-store",
                                                     "x-content-type-options": "nosniff"})


@router.post("/assemblies/{assembly_id}/stipend-ledger/payments.csv",
             summary="Pay what is due: the payment file for the agency's payment system (HTML form; CSV)",
             responses=errors(404))
async def stipends_export(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    form = _form(await request.form())
    if form.get("confirm") != "true":
        return await _stipends_page(rt, request, who, assembly_id, problems={"export": "confirm_export"},
                                    status=422)
    try:
        async with rt.transaction() as tx:
            payment, text = await h.export_payment(tx, assembly_id, who.actor)
    except DomainError as exc:
        return await _stipends_page(rt, request, who, assembly_id, status=409,
                                    problems={"export": exc.code if exc.code in PROBLEMS else "nothing_due"})
    response = payment_response(text, payment["number"], status=200)
    pages.finish(request, response)
    return response


@router.get("/assemblies/{assembly_id}/stipend-ledger/payment.csv", summary="A payment's file again (CSV)",
            response_class=Response, responses=errors(404))
async def stipends_payment_file(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                                number: int = Query(1, ge=1, le=1_000_000),
                                who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    async with rt.transaction() as tx:
        found = [p for p in await v.payments(tx, assembly_id) if p["number"] == number]
        if not found:
            raise not_found("payment")
        text = await h.payment_file(tx, found[0]["id"], number)
    return payment_response(text, number)
