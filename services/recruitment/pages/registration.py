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
from services.recruitment.domain.codes import CodeRefused, UsedCode, code_hash, normalise
from services.recruitment.domain.consent import CURRENT as CONSENT_VERSION
from services.recruitment.domain.consent import consent_text
from services.recruitment.domain.contact import contact_problems
from services.recruitment.domain.questionnaire import MAX_NEED, answer_problems, stratum_options
from services.recruitment.domain.registration_form import form_problems
from services.recruitment.handlers import registration as h
from services.recruitment.pages import pages
from services.recruitment.views import questionnaire as qv
from services.recruitment.views import registration as registration_reads
from shared.auth import PUBLIC, Principal, allow
from shared.openapi import errors
from shared.problems import Conflict, InvalidInput
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
    ("a", "unknown"): N_("Choose one of the answers offered, or none: %(question)s"),
    ("need", "too_long"): N_("Write at most %(n)s characters: %(question)s"),
    ("email", "malformed"): N_("Enter an e-mail address like navn@eksempel.dk, or leave it empty"),
    ("phone", "malformed"): N_("Enter a phone number of digits, for example 12 34 56 78, or leave it empty"),
}
NEED_QUESTIONS = {
    "language": N_("Do you need an interpreter, sign language or another language than Danish?"),
    "accessibility": N_("Do you need anything to take part, for example step-free access or a hearing loop?"),
    "diet": N_("Do you follow a diet we should know about for the meals?"),
    "childcare": N_("Would you need childcare on the days of the assembly?"),
}


async def _assembly(rt: Runtime, assembly_id: uuid.UUID | None) -> tuple[object, dict | None]:
    """The assembly and its questionnaire in use (None, None without an assembly)."""
    if assembly_id is None:
        return None, None
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        return assembly, (await qv.current(tx, assembly_id, assembly.strata))[1]


def _text(texts: dict, lang: str, fallback: str) -> str:
    return texts.get(lang) or fallback


def _questions(request: Request, assembly, config: dict | None) -> dict:
    """The questionnaire in the page's language: strata questions [{name, legend, options}] with
    "prefer not to say" last where offered, attitude questions (optional) and needs."""
    if assembly is None or config is None:
        return {"strata": [], "attitudes": [], "needs": [], "contact": False}
    _, lang = pages.gettext(request), pages.locale(request)
    strata = [{"name": f"q_{q['category']}", "legend": _text(q["label"], lang, label(_, q["category"])),
               "options": [(value, label(_, q["category"], value, None, assembly.strata, lang))
                           for value in stratum_options(assembly.strata, q)]} for q in config["strata"]]
    attitudes = [{"name": f"a_{a['key']}", "legend": a["label"][lang],
                  "options": [(o["value"], o["label"][lang]) for o in a["options"]]} for a in config["attitudes"]]
    needs = [{"name": f"need_{n}", "legend": _(NEED_QUESTIONS[n])} for n in config["needs"]]
    return {"strata": strata, "attitudes": attitudes, "needs": needs, "contact": config["contact"]}


def _registration(request: Request, who: Principal, assembly, config: dict | None = None, *,
                  form: dict | None = None, problems: list[tuple[str, str]] = (), status: int = 200):
    _ = pages.gettext(request)
    asked = _questions(request, assembly, config)
    legends = {q["name"]: q["legend"] for part in ("strata", "attitudes", "needs") for q in asked[part]}
    by_field = {}
    for field, problem in problems:
        kind = field.split("_", 1)[0] if field.startswith(("q_", "a_", "need_")) else field
        by_field.setdefault(field, _(PROBLEMS[(kind, problem)], question=legends.get(field, ""), n=MAX_NEED))
    errors_ = [{"field": f, "message": m} for f, m in by_field.items()]
    return pages.render(request, "register.html", {
        "assembly": assembly, "questions": asked["strata"], "attitudes": asked["attitudes"], "needs": asked["needs"],
        "ask_contact": asked["contact"], "form": form or {}, "errors": errors_, "by_field": by_field,
        "consent": consent_text(CONSENT_VERSION, pages.locale(request)), "consent_version": CONSENT_VERSION,
    }, who=who, status=status)


@router.get("/register", summary="Registration page (HTML)", responses=errors(404))
async def register_page(rt: RuntimeDep, request: Request, assembly: uuid.UUID | None = None,
                        who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return _registration(request, who, *await _assembly(rt, assembly))


def _problems(assembly, config: dict, form: dict[str, str]) -> tuple[list[tuple[str, str]], dict]:
    """The form's problems in its order (code, the questions, contact, consent) and what it
    answers: {answers, attitudes, needs, email, phone}."""
    answers = {q["category"]: form.get(f"q_{q['category']}", "") for q in config["strata"]}
    attitudes = {a["key"]: form.get(f"a_{a['key']}", "") for a in config["attitudes"]}
    needs = {n: form.get(f"need_{n}", "").strip() for n in config["needs"]}
    email, phone = (form.get("email", "").strip(), form.get("phone", "").strip()) if config["contact"] else ("", "")
    code_and_consent = form_problems({}, form)
    problems = [p for p in code_and_consent if p[0] == "code"]
    problems += answer_problems(assembly.strata, config, answers, attitudes, needs)
    problems += contact_problems(email, phone)
    problems += [p for p in code_and_consent if p[0] == "consent"]
    return problems, {"answers": answers, "attitudes": attitudes, "needs": needs, "email": email, "phone": phone}


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
        return _registration(request, who, *await _assembly(rt, assembly_id), form={"code": form["code"]})
    assembly, config = await _assembly(rt, assembly_id)
    problems, given = _problems(assembly, config, form)
    if problems:
        return _registration(request, who, assembly, config, form=form, problems=problems, status=422)
    ip = await limit_public(rt, request, form["code"], per_code=rt.settings.register_attempts_per_code)
    try:
        async with rt.transaction() as tx:
            receipt = await h.register(tx, code=form["code"], consent=True, answers=given["answers"],
                                       email=given["email"], phone=given["phone"], secret=rt.settings.secret_key,
                                       consent_version=CONSENT_VERSION, lang=pages.locale(request),
                                       attitudes=given["attitudes"], needs=given["needs"])
    except CodeRefused as exc:
        await count_refusal(rt, ip)
        problem = ("code", "used" if isinstance(exc, UsedCode) else "unknown")
        return _registration(request, who, assembly, config, form=form, problems=[problem],
                             status=409 if problem[1] == "used" else 404)
    except InvalidInput:  # the questionnaire changed between the page and the answer: ask again
        assembly, config = await _assembly(rt, assembly_id)
        return _registration(request, who, assembly, config, form=form,
                             problems=_problems(assembly, config, form)[0] or [("code", "unknown")], status=422)
    lang = pages.locale(request)
    asked = _questions(request, assembly, config)
    answered = [(q["legend"], next(text for value, text in q["options"] if value == given["answers"][q["name"][2:]]))
                for q in asked["strata"]]
    answered += [(q["legend"], next(text for value, text in q["options"] if value == given["attitudes"][q["name"][2:]]))
                 for q in asked["attitudes"] if given["attitudes"].get(q["name"][2:])]
    return pages.render(request, "register_done.html", {
        "assembly": assembly, "reference": receipt_reference(receipt["respondent_id"]),
        "registered_at": receipt["registered_at"], "consent_version": receipt["consent_version"],
        "consent": consent_text(receipt["consent_version"], lang), "answered": answered,
        "needs_noted": [q["legend"] for q in asked["needs"] if given["needs"].get(q["name"][5:])],
        "contact_given": bool(given["email"] or given["phone"]), "questionnaire_version": receipt["questionnaire_version"]},
        who=who, status=201)


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
