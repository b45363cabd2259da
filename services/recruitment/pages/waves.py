"""Recruitment's page for the waves after the first batch: reminders, the targeted second wave with
its computation, returned letters, and the quotas re-checked."""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.api.invitations import letter_pack_response
from services.recruitment.api.waves import MAX_RETURNS_BYTES
from services.recruitment.domain.replies import count_features
from services.recruitment.domain.waves import DEFAULT_POOL_FACTOR, DEFAULT_REPLY_RATE, quota_checks
from services.recruitment.handlers import waves as h
from services.recruitment.pages import _form, forget_once, pages, use_once
from services.recruitment.printing import LANGUAGES
from services.recruitment.views import invitations as invitations_reads
from services.recruitment.views import registration as registration_reads
from services.recruitment.views import waves as waves_reads
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import Conflict, InvalidInput
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_

router = APIRouter(tags=["pages"])


# ---- waves: reminders, the targeted second wave, returned letters, the quotas re-checked --------

WAVE_PROBLEMS = {
    "once": N_("This form was already used. Reload the page to send another batch"),
    "confirm": N_("Tick the box to confirm that the letters go to print"),
    "factor": N_("Enter the pool factor as a number from 1 to 100"),
    "rate": N_("Enter the expected reply rate as a percentage above 0 and at most 100"),
    "no_gap": N_("The pool already holds what the quotas need in every region, or the register has nobody left "
                 "there: there is no second wave to send"),
    "nobody_to_remind": N_("Everyone invited has replied, had a reminder, or their letter came back"),
    "no_file": N_("Choose the file of returned letters (CSV)"),
    "not_utf8": N_("The file is not UTF-8 text. Save it as CSV UTF-8 and try again"),
    "missing_column": N_("The file needs a letter_id column, and may have a reason column"),
    "bad_id": N_("Line %(line)s: not a letter id, nor the reference printed on a letter"),
    "no_rows": N_("The file has no letters in it"),
}


def _number(raw: str | None, default: float, low: float, high: float) -> float | None:
    raw = (raw or "").strip().replace(",", ".")
    if not raw:
        return default
    try:
        x = float(raw)
    except ValueError:
        return None
    return x if low <= x <= high else None


async def _waves_page(rt: Runtime, request: Request, who: Principal, assembly_id: uuid.UUID, *,
                      form: dict | None = None, problems: list[tuple[str, str, dict]] = (),
                      returned: dict | None = None, status: int = 200) -> Response:
    _ = pages.gettext(request)
    form = form or {}
    factor = _number(form.get("factor"), DEFAULT_POOL_FACTOR, 1, 100)
    rate_pct = _number(form.get("rate"), DEFAULT_REPLY_RATE * 100, 0.01, 100)
    problems = list(problems)
    if factor is None:
        problems.append(("factor", "factor", {}))
    if rate_pct is None:
        problems.append(("rate", "rate", {}))
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        counts = await waves_reads.wave_counts(tx, assembly_id)
        reasons = await waves_reads.returned_reasons(tx, assembly_id)
        features = await registration_reads.registered_features(tx, assembly_id)
        rows, rate = await h.plan_second_wave(tx, assembly_id, factor or DEFAULT_POOL_FACTOR,
                                              (rate_pct or DEFAULT_REPLY_RATE * 100) / 100)
        batches = [b for b in await invitations_reads.invitation_batches(tx, assembly_id) if b["kind"] != "invitation"]
    checks = quota_checks(assembly.strata, count_features(features))
    by_field: dict[str, str] = {}
    for field, kind, values in problems:
        by_field.setdefault(field, _(WAVE_PROBLEMS[kind], **values))
    return pages.render(request, "waves.html", {
        "assembly": assembly, "counts": counts, "reasons": reasons, "rows": rows, "rate": rate,
        "factor": factor or DEFAULT_POOL_FACTOR, "rate_pct": rate_pct or DEFAULT_REPLY_RATE * 100,
        "total_letters": sum(r.letters for r in rows), "checks": checks, "short": [c for c in checks if c.short],
        "registered": len(features), "batches": batches, "returned_now": returned, "form": form,
        "by_field": by_field, "errors": [{"field": f, "message": m} for f, m in by_field.items()],
        "can_send": REGISTRAR in who.roles_in(assembly_id), "once": secrets.token_urlsafe(16)},
        who=who, status=status)


@router.get("/assemblies/{assembly_id}/waves",
            summary="Waves: reminders, the targeted second wave (its computation), returned letters, the quotas "
                    "re-checked (HTML)", responses=errors(404))
async def waves_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(REGISTRAR, ORGANISER, AUDITOR, page=True))) -> Response:
    return await _waves_page(rt, request, who, assembly_id, form=dict(request.query_params))


@router.post("/assemblies/{assembly_id}/waves",
             summary="Send reminders or the targeted second wave (the letters as ZIP), or book returned letters "
                     "(HTML form)", responses=errors(404, 409, 413, 422))
async def waves_send(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    raw = await request.form()
    form = _form(raw)
    action = form.get("action")
    if action == "returned":
        upload = raw.get("returns")
        if upload is None or isinstance(upload, str) or not upload.filename:
            return await _waves_page(rt, request, who, assembly_id, problems=[("returns", "no_file", {})], status=422)
        data = await upload.read(MAX_RETURNS_BYTES + 1)
        try:
            text = data[:MAX_RETURNS_BYTES].decode("utf-8-sig")
        except UnicodeDecodeError:
            return await _waves_page(rt, request, who, assembly_id, problems=[("returns", "not_utf8", {})], status=422)
        try:
            async with rt.transaction() as tx:
                booked = await h.mark_returned(tx, assembly_id, text)
        except InvalidInput as exc:
            found = [("returns", d["kind"], {"line": d["line"]}) for d in exc.details if "kind" in d]
            return await _waves_page(rt, request, who, assembly_id, problems=found[:1], status=422)
        return await _waves_page(rt, request, who, assembly_id, returned=booked)
    factor = _number(form.get("factor"), DEFAULT_POOL_FACTOR, 1, 100)
    rate_pct = _number(form.get("rate"), DEFAULT_REPLY_RATE * 100, 0.01, 100)
    if form.get("confirm") != "true":
        return await _waves_page(rt, request, who, assembly_id, form=form,
                                 problems=[(f"confirm_{action}", "confirm", {})], status=422)
    if factor is None or rate_pct is None:
        return await _waves_page(rt, request, who, assembly_id, form=form, status=422)
    if not await use_once(rt, form.get("once", "")):
        return await _waves_page(rt, request, who, assembly_id, problems=[(f"confirm_{action}", "once", {})],
                                 status=409)
    lang = form.get("language") if form.get("language") in LANGUAGES else "da"
    channel = "digital-post" if form.get("channel") == "digital-post" else "print"
    try:
        async with rt.transaction() as tx:
            if action == "wave":
                batch_id, _per_region, letters, _rows, _rate = await h.send_second_wave(
                    tx, assembly_id, factor, None, rate_pct / 100)
                kind = "invitation"
            else:
                batch_id, letters = await h.send_reminders(tx, assembly_id)
                kind = "reminder"
            assembly = await v.load_assembly(tx, assembly_id)
    except Conflict as exc:
        await forget_once(rt, form.get("once", ""))
        known = exc.code if exc.code in WAVE_PROBLEMS else "no_gap"
        return await _waves_page(rt, request, who, assembly_id, form=form,
                                 problems=[(f"confirm_{action}", known, {})], status=409)
    response = await letter_pack_response(request, rt, batch_id, assembly, letters, lang=lang, channel=channel,
                                          kind=kind)
    pages.finish(request, response)
    return response
