"""Recruitment's public pages for citizens: the registration form (on the shared design system: no
answer pre-selected, human labels in Danish and English, errors in the chosen language) and
withdrawing a registration with the letter's code."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.api import count_refusal, limit_public
from services.recruitment.api.registration import receipt_reference
from services.recruitment.domain.answers import questionnaire
from services.recruitment.domain.codes import CodeRefused, UsedCode, code_hash, normalise
from services.recruitment.domain.consent import CURRENT as CONSENT_VERSION
from services.recruitment.domain.consent import consent_text
from services.recruitment.domain.registration_form import form_problems
from services.recruitment.handlers import registration as h
from services.recruitment.pages import pages
from services.recruitment.views import registration as registration_reads
from shared.auth import PUBLIC, Principal, allow
from shared.openapi import errors
from shared.problems import Conflict
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, label

router = APIRouter(tags=["pages"])

PROBLEMS = {
    ("code", "missing"): N_("Enter the code from your letter"),
    ("code", "malformed"): N_("The code has 20 letters and digits, as printed in your letter"),
    ("code", "unknown"): N_("The code is not recognised. Check it against your letter"),
    ("code", "used"): N_("This code has already been used to register"),
    ("consent", "missing"): N_("Tick the box to say you agree, or you cannot take part"),
    ("q", "missing"): N_("Choose an answer: %(question)s"),
    ("q", "unknown"): N_("Choose one of the answers offered: %(question)s"),
}


async def _assembly(rt: Runtime, assembly_id: uuid.UUID | None):
    if assembly_id is None:
        return None
    async with rt.transaction() as tx:
        return await v.load_assembly(tx, assembly_id)


def _questions(request: Request, assembly) -> list[dict]:
    """The strata questions with their labels in the page's language: [{name, legend, options}]."""
    _ = pages.gettext(request)
    questions = questionnaire(assembly.strata) if assembly is not None else {}
    return [{"name": f"q_{category}", "legend": label(_, category),
             "options": [(value, label(_, category, value, None, assembly.strata, pages.locale(request)))
                         for value in values]} for category, values in questions.items()]


def _registration(request: Request, who: Principal, assembly, *, form: dict | None = None,
                  problems: list[tuple[str, str]] = (), status: int = 200):
    _ = pages.gettext(request)
    labelled = _questions(request, assembly)
    by_field = {}
    for field, problem in problems:
        if field.startswith("q_"):
            text = _(PROBLEMS[("q", problem)], question=label(_, field[2:]))
        else:
            text = _(PROBLEMS[(field, problem)])
        by_field.setdefault(field, text)
    errors_ = [{"field": f, "message": m} for f, m in by_field.items()]
    return pages.render(request, "register.html", {
        "assembly": assembly, "questions": labelled, "form": form or {}, "errors": errors_, "by_field": by_field,
        "consent": consent_text(CONSENT_VERSION, pages.locale(request)), "consent_version": CONSENT_VERSION,
    }, who=who, status=status)


@router.get("/register", summary="Registration page (HTML)", responses=errors(404))
async def register_page(rt: RuntimeDep, request: Request, assembly: uuid.UUID | None = None,
                        who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return _registration(request, who, await _assembly(rt, assembly))


@router.post("/register", summary="Registration form (HTML)", responses=errors(404, 429))
async def register_form(rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    form = {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}
    try:
        assembly_id = uuid.UUID(form.get("assembly", ""))
    except ValueError:
        assembly_id = None
    if assembly_id is None:
        # first step without the letter's link: the code says which assembly's questions to ask
        problems = [p for p in form_problems({}, form) if p[0] == "code"]
        if problems:
            return _registration(request, who, None, form=form, problems=problems, status=422)
        ip = await limit_public(rt, request, form["code"], per_code=rt.settings.register_attempts_per_code)
        async with rt.transaction() as tx:
            assembly_id = await registration_reads.assembly_of_code(tx, code_hash(normalise(form["code"])))
        if assembly_id is None:
            await count_refusal(rt, ip)
            return _registration(request, who, None, form=form, problems=[("code", "unknown")], status=404)
        return _registration(request, who, await _assembly(rt, assembly_id), form={"code": form["code"]})
    assembly = await _assembly(rt, assembly_id)
    questions = questionnaire(assembly.strata)
    problems = form_problems(questions, form)
    if problems:
        return _registration(request, who, assembly, form=form, problems=problems, status=422)
    ip = await limit_public(rt, request, form["code"], per_code=rt.settings.register_attempts_per_code)
    answers = {c: form[f"q_{c}"] for c in questions}
    try:
        async with rt.transaction() as tx:
            receipt = await h.register(tx, code=form["code"], consent=True, answers=answers, contact=None,
                                       secret=rt.settings.secret_key, consent_version=CONSENT_VERSION,
                                       lang=pages.locale(request))
    except CodeRefused as exc:
        await count_refusal(rt, ip)
        problem = ("code", "used" if isinstance(exc, UsedCode) else "unknown")
        return _registration(request, who, assembly, form=form, problems=[problem],
                             status=409 if problem[1] == "used" else 404)
    lang = pages.locale(request)
    answered = [(q["legend"], next(text for value, text in q["options"] if value == answers[q["name"][2:]]))
                for q in _questions(request, assembly)]
    return pages.render(request, "register_done.html", {
        "assembly": assembly, "reference": receipt_reference(receipt["respondent_id"]),
        "registered_at": receipt["registered_at"], "consent_version": receipt["consent_version"],
        "consent": consent_text(receipt["consent_version"], lang), "answered": answered}, who=who, status=201)


# ---- a registered citizen withdraws with the letter's code ---------------------------------------

WITHDRAW_PROBLEMS = {
    "code_missing": N_("Enter the code from your letter"),
    "code_malformed": N_("The code has 20 letters and digits, as printed in your letter"),
    "confirm": N_("Tick the box to confirm that you want to withdraw"),
    "unknown": N_("The code is not recognised. Check it against your letter"),
    "not_registered": N_("Nobody has registered with this code, so there is nothing to withdraw"),
    "already_withdrawn": N_("This registration has already been withdrawn"),
}


def _withdraw_page(request: Request, who: Principal, *, code: str = "", problems: dict | None = None,
                   status: int = 200) -> Response:
    _ = pages.gettext(request)
    problems = problems or {}
    by_field = {field: _(WITHDRAW_PROBLEMS[key]) for field, key in problems.items()}
    return pages.render(request, "withdraw.html", {
        "code": code, "by_field": by_field, "errors": [{"field": f, "message": m} for f, m in by_field.items()],
    }, who=who, status=status)


@router.get("/withdraw", summary="Withdraw a registration: the form (HTML)")
async def withdraw_page(request: Request, who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return _withdraw_page(request, who)


@router.post("/withdraw", summary="Withdraw a registration (HTML form)", responses=errors(404, 429))
async def withdraw_form(rt: RuntimeDep, request: Request, who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    form = await request.form()
    code = str(form.get("code", "")).strip()
    problems = {}
    if not code:
        problems["code"] = "code_missing"
    elif normalise(code) is None:
        problems["code"] = "code_malformed"
    if form.get("confirm") != "true":
        problems["confirm"] = "confirm"
    if problems:
        return _withdraw_page(request, who, code=code, problems=problems, status=422)
    ip = await limit_public(rt, request, code, per_code=rt.settings.register_attempts_per_code)
    try:
        async with rt.transaction() as tx:
            receipt = await h.withdraw(tx, code=code)
    except CodeRefused:
        await count_refusal(rt, ip)
        return _withdraw_page(request, who, code=code, problems={"code": "unknown"}, status=404)
    except Conflict as exc:
        known = exc.code if exc.code in WITHDRAW_PROBLEMS else "already_withdrawn"
        return _withdraw_page(request, who, code=code, problems={"code": known}, status=409)
    return pages.render(request, "withdraw_done.html", {"reference": receipt_reference(receipt["respondent_id"]),
                                                         "withdrawn_at": receipt["withdrawn_at"]}, who=who)
