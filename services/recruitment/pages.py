"""Recruitment's pages: the public registration form (rebuilt on the shared design system: no
answer pre-selected, human labels in Danish and English, errors in the chosen language), the
panel members' sign-in with the code of their selection letter, and the staff's screens: the
assemblies (operator), an assembly's recruitment, the register import, invitation batches,
registrations per stratum against the quotas (chart and CSV) and the selection letters."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import handlers as h
from services.recruitment import views as v
from services.recruitment.api import MAX_EXTRACT_BYTES, count_refusal, extract_text, receipt_reference, letter_pack_response, limit_public
from services.recruitment.domain.answers import questionnaire
from services.recruitment.domain.consent import CURRENT as CONSENT_VERSION
from services.recruitment.domain.consent import consent_text
from services.recruitment.domain.assembly_form import MAX_QUOTA_ROWS, MAX_REGION_ROWS, read_assembly_form
from services.recruitment.domain.assembly_form import rows as form_rows
from services.recruitment.domain.letter_details import missing_details, read_letter_form
from services.recruitment.printing import LANGUAGES
from services.recruitment.domain.codes import CodeRefused, UsedCode, code_hash, normalise
from services.recruitment.domain.registration_form import form_problems
from services.recruitment.domain.replies import count_features, stratum_report
from services.recruitment.domain.sample import margins
from shared.auth import AUDITOR, FACILITATOR, OPERATOR, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.auth.keys import mint_member_token
from shared.auth.sessions import SESSION_COOKIE, cookie_options

from shared.openapi import errors
from shared.problems import Conflict, InvalidInput

from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, Pages, label, service_url
from shared.ui.pages import safe_next

pages = Pages("recruitment", Path(__file__).parent / "templates")
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
            assembly_id = await v.assembly_of_code(tx, code_hash(normalise(form["code"])))
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


# ---- panel members sign in with the code of their selection letter ---------------------------


@router.get("/member/signin", summary="Panel members' sign-in page (HTML)")
async def member_signin_page(request: Request, next: str | None = None,
                             who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return pages.render(request, "member_signin.html", {"next": safe_next(next) or "", "error": None}, who=who)


@router.post("/member/signin", summary="Panel members' sign-in (HTML form)", responses=errors(404, 429))
async def member_signin(rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    form = await request.form()
    code, nxt = str(form.get("code", "")).strip(), safe_next(str(form.get("next", "")))
    _ = pages.gettext(request)

    def refuse(message: str, status: int) -> Response:
        return pages.render(request, "member_signin.html", {"next": nxt or "", "error": _(message)}, who=who,
                            status=status)

    if normalise(code) is None:
        return refuse(N_("The code has 20 letters and digits, as printed in your selection letter"), 422)
    s = rt.settings
    ip = await limit_public(rt, request, code, per_code=s.member_login_attempts_per_code)
    try:
        async with rt.transaction() as tx:
            assembly_id, member_id = await h.member_login(tx, code=code)
    except CodeRefused:
        await count_refusal(rt, ip)
        return refuse(N_("The code is not recognised. Check it against your selection letter"), 404)
    token = mint_member_token(s.secret_key, issuer=s.auth_member_issuer, audience=s.auth_audience,
                              assembly_id=assembly_id, member_id=member_id, minutes=s.member_token_minutes)
    principal = await request.app.state.auth.verify(token)
    old = getattr(request.state, "web_session", None)
    await rt.web_sessions.destroy(old.sid if old else None)
    session = await rt.web_sessions.create(principal, token, "member")
    response = pages.redirect(request, nxt or service_url(request, f"/assemblies/{assembly_id}/portal", "reporting"))
    response.set_cookie(SESSION_COOKIE, session.sid, **cookie_options(s.env == "production"))
    return response


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


# ---- the staff's screens: assemblies, the register, invitations, replies, member letters -------
#
# Each is a page with the same policy as the API route it stands beside; writes go through the
# same handlers as the API, reads through the views. Files with personal data (invitation and
# selection letters) leave only as the answer to the registrar's POST: the codes in them exist in
# clear nowhere else.

ASSEMBLY_PROBLEMS = {
    "name_missing": N_("Enter the assembly's name"),
    "name_too_long": N_("The name can have at most 200 characters"),
    "panel_size": N_("Enter the panel size as a whole number from 1 to 5000"),
    "region_code": N_("Region %(row)s: the code may use letters, digits, - and _ (at most 32)"),
    "region_name": N_("Region %(row)s: enter the region's name"),
    "region_population": N_("Region %(row)s: enter the population as a whole number above 0"),
    "no_regions": N_("Enter at least one region"),
    "quota_category": N_("Quota %(row)s: choose a category"),
    "quota_value": N_("Quota %(row)s: enter the value's code"),
    "quota_min": N_("Quota %(row)s: enter the minimum as a whole number, 0 or more"),
    "quota_max": N_("Quota %(row)s: enter the maximum as a whole number, 0 or more"),
    "quota_name": N_("Quota %(row)s: a name can have at most 100 characters"),
    "no_quotas": N_("Enter at least one quota"),
    "duplicate_region": N_("Two regions have the same code"),
    "duplicate_category": N_("The category %(category)s appears twice"),
    "duplicate_value": N_("%(category)s: a value is listed twice"),
    "min_above_max": N_("%(category)s, %(value)s: the minimum %(min)s is above the maximum %(max)s"),
    "minimums_too_high": N_("%(category)s: the minimums add up to %(sum)s, more than the panel size %(panel_size)s"),
    "maximums_too_low": N_("%(category)s: the maximums add up to %(sum)s, less than the panel size %(panel_size)s"),
    "region_values": N_("The quotas per region must list exactly the regions' codes"),
}
REGISTER_PROBLEMS = {
    "missing_columns": N_("The file lacks the columns: %(value)s. The first line must be: person_id,name,address,region"),
    "empty_field": N_("Line %(line)s: a field is empty; every row needs person_id, name, address and region"),
    "unknown_region": N_("Line %(line)s: the region %(value)s is not one of the assembly's regions (%(regions)s)"),
    "bad_value": N_("Line %(line)s: the %(value)s column takes a code of letters, digits, +, - or _ (at most 32 characters), for example 18-29 or female"),
    "duplicate_person": N_("Line %(line)s: the same person_id appears twice in the file"),
    "no_rows": N_("The file has no people in it"),
    "not_utf8": N_("The file is not UTF-8 text. Save it as CSV UTF-8 and try again"),
    "no_file": N_("Choose the register extract file (CSV)"),
    "too_large": N_("The file is larger than %(mib)s MiB; split it into parts"),
    "already_imported": N_("Some people in this file were already imported for this assembly. Nothing was imported"),
}
LETTER_PROBLEMS = {
    "too_long": N_("At most %(n)s characters"),
    "date": N_("%(value)s is not a date; write it as 6.3.2027 or 2027-03-06"),
    "too_many_dates": N_("At most %(n)s dates"),
    "stipend": N_("Enter the stipend in kroner, for example 1.500 or 1500,50"),
    "reply_after_sessions": N_("The reply-by date must come before the first session"),
}


def letter_problems(request: Request, problems) -> tuple[dict, list[dict]]:
    """The letter form's problems in the reader's language: (by field, the error summary's list)."""
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    for field, kind, values in problems:
        by_field.setdefault(field, _(LETTER_PROBLEMS[kind], **values))
    return by_field, [{"field": f, "message": m} for f, m in by_field.items()]


QUOTA_CATEGORIES = ("gender", "age", "education", "region", "employment", "origin", "housing", "urbanity", "income")
REPLY_STATUS = {"short": N_("Too few to fill the quota"), "low": N_("Below the quota's share"), "ok": N_("On track")}


def _form(raw) -> dict[str, str]:
    return {k: str(x) for k, x in raw.items() if k != "csrf_token" and isinstance(x, str)}


@router.get("/console/assemblies", summary="All assemblies, for the operator (HTML)")
async def assemblies_page(rt: RuntimeDep, request: Request, created: uuid.UUID | None = None,
                          who: Principal = Depends(allow(OPERATOR, page=True))) -> Response:
    async with rt.transaction() as tx:
        rows = await v.all_assemblies(tx)
    new = next((a for a in rows if a["id"] == created), None)
    return pages.render(request, "assemblies.html", {"assemblies": rows, "created": new}, who=who)


def _assembly_form(request: Request, who: Principal, form: dict, *, region_rows: int, quota_rows: int,
                   problems=(), letter_problems=(), status: int = 200) -> Response:
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    errors_: list[dict] = []
    for field, kind, values in letter_problems:
        message = _(LETTER_PROBLEMS[kind], **values)
        by_field.setdefault(field, message)
        errors_.append({"field": field, "message": message})
    for field, kind, values in problems:
        shown = dict(values)
        if "category" in values:
            shown["category"] = label(_, values["category"])
            if "value" in values:
                shown["value"] = label(_, values["category"], values["value"])
        message = _(ASSEMBLY_PROBLEMS[kind], **shown)
        by_field.setdefault(field, message)
        errors_.append({"field": field, "message": message})
    categories = [(c, label(_, c)) for c in QUOTA_CATEGORIES]
    return pages.render(request, "assembly_form.html", {
        "form": form, "region_rows": region_rows, "quota_rows": quota_rows, "errors": errors_, "by_field": by_field,
        "categories": categories}, who=who, status=status)


@router.get("/console/assemblies/new", summary="Create an assembly: the form (HTML)")
async def new_assembly_page(request: Request, who: Principal = Depends(allow(OPERATOR, page=True))) -> Response:
    return _assembly_form(request, who, {}, region_rows=5, quota_rows=8)


@router.post("/console/assemblies/new", summary="Create an assembly (HTML form)", responses=errors(422))
async def new_assembly(rt: RuntimeDep, request: Request, who: Principal = Depends(allow(OPERATOR, page=True))) -> Response:
    form = _form(await request.form())
    n_regions = form_rows(form, "region_rows", MAX_REGION_ROWS, 1)
    n_quotas = form_rows(form, "quota_rows", MAX_QUOTA_ROWS, 1)
    action = form.get("action", "save")
    if action in ("more_regions", "more_quotas"):  # "add rows", without a script
        return _assembly_form(request, who, form, region_rows=min(n_regions + 3 * (action == "more_regions"), MAX_REGION_ROWS),
                              quota_rows=min(n_quotas + 4 * (action == "more_quotas"), MAX_QUOTA_ROWS))
    read = read_assembly_form(form, n_regions, n_quotas)
    details, letter_issues = read_letter_form(form)
    if read.problems or letter_issues:
        return _assembly_form(request, who, form, region_rows=n_regions, quota_rows=n_quotas, problems=read.problems,
                              letter_problems=letter_issues, status=422)
    async with rt.transaction() as tx:
        assembly_id = await h.create_assembly(tx, **read.body, **details)
    return pages.redirect(request, service_url(request, f"/console/assemblies?created={assembly_id}"))


async def _overview(rt: Runtime, assembly_id: uuid.UUID) -> dict:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        register = await v.register_counts(tx, assembly_id)
        stats = await v.stats(tx, assembly_id)
        batches = await v.invitation_batches(tx, assembly_id)
        letters = await v.letter_counts(tx, assembly_id)
    return {"assembly": assembly, "register": register, "stats": stats, "batches": batches, "letters": letters,
            "imported": sum(r["imported"] for r in register.values()),
            "invited": sum(r["invited"] for r in register.values())}


@router.get("/assemblies/{assembly_id}/recruitment", summary="An assembly's recruitment: set-up and progress (HTML)",
            responses=errors(404))
async def recruitment_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR, page=True))) -> Response:
    data = await _overview(rt, assembly_id)
    roles = who.roles_in(assembly_id)
    return pages.render(request, "recruitment.html", {**data, "roles": roles}, who=who)


def _import_page(request: Request, who: Principal, data: dict, *, problems=(), imported: int | None = None,
                 status: int = 200) -> Response:
    _ = pages.gettext(request)
    regions = ", ".join(r["code"] for r in data["assembly"].regions)
    report = [_(REGISTER_PROBLEMS[p["kind"]], line=p.get("line"), value=p.get("value", ""), regions=regions,
                mib=MAX_EXTRACT_BYTES // 2**20) for p in problems]
    return pages.render(request, "register_import.html", {**data, "report": report, "imported_now": imported},
                        who=who, status=status)


@router.get("/assemblies/{assembly_id}/register-import", summary="Import the register extract: the form (HTML)",
            responses=errors(404))
async def register_import_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                               who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    return _import_page(request, who, await _overview(rt, assembly_id))


@router.post("/assemblies/{assembly_id}/register-import", summary="Import the register extract (HTML form, file upload)",
             status_code=201, responses=errors(404, 409, 413, 422))
async def register_import(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    data = await _overview(rt, assembly_id)
    upload = (await request.form()).get("extract")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _import_page(request, who, data, problems=[{"kind": "no_file"}], status=422)
    upload.file.seek(0, 2)
    if upload.file.tell() > MAX_EXTRACT_BYTES:  # the upload streamed to a temporary file: its size, not its text
        return _import_page(request, who, data, problems=[{"kind": "too_large"}], status=413)
    upload.file.seek(0)
    try:
        async with rt.transaction() as tx:
            n = await h.import_register(tx, assembly_id, extract_text(upload.file))
    except UnicodeDecodeError:
        return _import_page(request, who, data, problems=[{"kind": "not_utf8"}], status=422)
    except InvalidInput as exc:
        return _import_page(request, who, data, problems=[d for d in exc.details if "kind" in d], status=422)
    except Conflict:
        return _import_page(request, who, data, problems=[{"kind": "already_imported"}], status=409)
    return _import_page(request, who, await _overview(rt, assembly_id), imported=n, status=201)


DIMENSION_NAMES = {"region": N_("Region"), "age_band": N_("Age"), "gender": N_("Gender")}
LETTER_DETAIL_NAMES = {"commissioner": N_("the commissioner"), "remit": N_("the remit"),
                       "session_dates": N_("the session dates"), "stipend_ore": N_("the stipend"),
                       "reply_by": N_("the date to reply by")}
INVITE_PROBLEMS = {
    "once": N_("This form was already used to send a batch. Reload the page to send another"),
    "count": N_("Enter the number of letters as a whole number above 0"),
    "too_many": N_("Only %(n)s people in the register extract are not yet invited; send at most that many"),
    "confirm": N_("Tick the box to confirm that the letters go to print"),
}


async def _sample_preview(rt: Runtime, assembly_id: uuid.UUID, data: dict, asked: str | None) -> dict:
    """The invitation sample's plan per stratum for the letters asked (`?plan=N`; else up to 10,000
    of those not yet invited): letters, expected reply rate and expected pool per value."""
    left = data["imported"] - data["invited"]
    count = int(asked) if asked and asked.isdigit() and 0 < len(asked) < 8 else min(left, 10_000)
    count = min(count, left)
    if count <= 0:
        return {"plan_count": 0, "plan": {}}
    async with rt.transaction() as tx:
        strata, rates = await v.sample_plan(tx, assembly_id, count, assembly=data["assembly"])
    population = sum(s.population for s in strata) or 1
    return {"plan_count": count, "plan": margins(strata), "plan_population": population,
            "plan_expected": sum(s.expected for s in strata), "plan_rates": rates}


def _invitations_page(request: Request, who: Principal, data: dict, assembly_id: uuid.UUID, *,
                      form: dict | None = None, problem: tuple[str, str, dict] | None = None,
                      status: int = 200) -> Response:
    _ = pages.gettext(request)
    by_field = {problem[0]: _(INVITE_PROBLEMS[problem[1]], **problem[2])} if problem else {}
    missing = missing_details(data["assembly"]._mapping)
    return pages.render(request, "invitations.html", {
        **data, "form": form or {}, "by_field": by_field, "errors": [{"field": f, "message": m} for f, m in by_field.items()],
        "missing": [_(LETTER_DETAIL_NAMES[f]) for f in missing], "dimension_names": DIMENSION_NAMES,
        "can_send": REGISTRAR in who.roles_in(assembly_id), "once": secrets.token_urlsafe(16)}, who=who, status=status)


async def use_once(rt: Runtime, token: str) -> bool:
    """A form that must not act twice (a double click, the back button after a download): its
    one-time token is taken in Valkey for a day; False if it was taken before."""
    if not 10 <= len(token) <= 64:
        return False
    return bool(await rt.redis.set(f"borgerting:recruitment:form-once:{token}", "1", nx=True, ex=86400))


async def forget_once(rt: Runtime, token: str) -> None:
    """Give a form's one-time token back (nothing was sent)."""
    await rt.redis.delete(f"borgerting:recruitment:form-once:{token}")


@router.get("/assemblies/{assembly_id}/invitations", summary="Invitation batches (HTML)", responses=errors(404))
async def invitations_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(REGISTRAR, ORGANISER, AUDITOR, page=True))) -> Response:
    data = await _overview(rt, assembly_id)
    data.update(await _sample_preview(rt, assembly_id, data, request.query_params.get("plan")))
    return _invitations_page(request, who, data, assembly_id)


@router.post("/assemblies/{assembly_id}/invitations",
             summary="Send an invitation batch: the letters for the print house as CSV (HTML form)",
             responses=errors(404, 422))
async def invitations_send(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    form = _form(await request.form())
    data = await _overview(rt, assembly_id)
    raw = form.get("count", "").strip()
    count = int(raw) if raw.isdigit() and 0 < len(raw) < 8 else 0
    left = data["imported"] - data["invited"]
    problem = None
    if count <= 0:
        problem = ("count", "count", {})
    elif count > left:
        problem = ("count", "too_many", {"n": left})
    elif form.get("confirm") != "true":
        problem = ("confirm", "confirm", {})
    lang = form.get("language") if form.get("language") in LANGUAGES else "da"
    channel = "digital-post" if form.get("channel") == "digital-post" else "print"
    if problem:
        data.update(await _sample_preview(rt, assembly_id, data, str(count) if count > 0 else None))
        return _invitations_page(request, who, data, assembly_id, form=form, problem=problem, status=422)
    if not await use_once(rt, form.get("once", "")):
        data.update(await _sample_preview(rt, assembly_id, data, None))
        return _invitations_page(request, who, data, assembly_id, problem=("count", "once", {}), status=409)
    try:
        async with rt.transaction() as tx:
            batch_id, _per_region, letters = await h.send_invitations(tx, assembly_id, count, None)
    except Exception:
        await forget_once(rt, form.get("once", ""))  # nothing was sent
        raise
    response = await letter_pack_response(request, rt, batch_id, data["assembly"], letters, lang=lang, channel=channel)
    pages.finish(request, response)
    return response


async def _replies(rt: Runtime, assembly_id: uuid.UUID) -> tuple:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        features = await v.registered_features(tx, assembly_id)
        stats = await v.stats(tx, assembly_id)
    report = stratum_report(assembly.strata, assembly.panel_size, count_features(features), len(features))
    return assembly, report, stats


@router.get("/assemblies/{assembly_id}/replies", summary="Registrations per stratum against the quotas (HTML)",
            responses=errors(404))
async def replies_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    assembly, report, stats = await _replies(rt, assembly_id)
    return pages.render(request, "replies.html", {"assembly": assembly, "report": report, "stats": stats,
                                                  "status_names": REPLY_STATUS}, who=who)


@router.get("/assemblies/{assembly_id}/replies.csv", summary="Registrations per stratum against the quotas (CSV)",
            responses=errors(404))
async def replies_csv(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    assembly, report, _stats = await _replies(rt, assembly_id)
    _ = pages.gettext(request)
    header = [_("Category"), _("Value"), _("Code"), _("Registrations"), _("Share of registrations"),
              _("Quota minimum"), _("Quota maximum"), _("Status")]
    lang = pages.locale(request)
    body = [[label(_, c), label(_, c, r.value, assembly.regions, assembly.strata, lang), r.value, r.registrations, f"{r.share:.4f}",
             r.quota_min, r.quota_max, _(REPLY_STATUS[r.status])] for c, rs in report for r in rs]
    return pages.csv(request, f"registrations-{assembly_id}.csv", header, body)


@router.get("/assemblies/{assembly_id}/letters", summary="Selection letters for the panel members (HTML)",
            responses=errors(404))
async def letters_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        members = await v.member_letters(tx, assembly_id)
    waiting = sum(1 for x in members if x["active"] and x["issued_at"] is None)
    return pages.render(request, "letters.html", {"assembly": assembly, "members": members, "waiting": waiting},
                        who=who)


LETTER_HEADER = ["member_id", "name", "address", "contact", "region", "code"]


def _letter_rows(letters: list[dict]):
    return ([str(x["member_id"]), x["name"], x["address"], x["contact"] or "", x["region"], x["code"]] for x in letters)


@router.post("/assemblies/{assembly_id}/letters",
             summary="Issue the selection letters not yet issued: the letters as CSV (HTML form)", responses=errors(404))
async def letters_issue(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    async with rt.transaction() as tx:
        letters = await h.issue_member_letters(tx, assembly_id)
    return pages.csv(request, f"selection-letters-{assembly_id}.csv", LETTER_HEADER, _letter_rows(letters))


@router.get("/assemblies/{assembly_id}/letters/{member_id}/reissue",
            summary="A new selection letter for a member: confirm (HTML)", responses=errors(404))
async def letter_reissue_page(assembly_id: uuid.UUID, member_id: uuid.UUID, rt: RuntimeDep, request: Request,
                              who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        member = await v.member_letter(tx, assembly_id, member_id)
    return pages.render(request, "letter_reissue.html", {"assembly": assembly, "member": member}, who=who)


@router.post("/assemblies/{assembly_id}/letters/{member_id}/reissue",
             summary="A new selection letter for a member (the old code stops working): the letter as CSV (HTML form)",
             responses=errors(404, 409))
async def letter_reissue(assembly_id: uuid.UUID, member_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    async with rt.transaction() as tx:
        letter = await h.reissue_member_letter(tx, assembly_id, member_id)
    return pages.csv(request, f"selection-letter-{member_id}.csv", LETTER_HEADER, _letter_rows([letter]))


# ---- the names of the quota values, per language (what citizens and staff read) ---------------


def _flat_quotas(assembly) -> list[tuple[str, dict]]:
    return [(s["category"], q) for s in assembly.strata for q in s["quotas"]]


def _names_page(request: Request, who: Principal, assembly, *, form: dict | None = None, errors_: list | None = None,
                saved: bool = False, status: int = 200) -> Response:
    rows_ = [{"i": i, "category": c, "value": q["value"], "da": (q.get("labels") or {}).get("da", ""),
              "en": (q.get("labels") or {}).get("en", "")} for i, (c, q) in enumerate(_flat_quotas(assembly))]
    if form is not None:
        for r in rows_:
            r["da"], r["en"] = form.get(f"name_da_{r['i']}", ""), form.get(f"name_en_{r['i']}", "")
    return pages.render(request, "value_names.html", {"assembly": assembly, "rows": rows_, "errors": errors_ or [],
                                                      "saved": saved}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/names", summary="Name the quota values in Danish and English: the form (HTML)",
            responses=errors(404))
async def names_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
    return _names_page(request, who, assembly, saved=request.query_params.get("saved") == "1")


@router.post("/assemblies/{assembly_id}/names", summary="Name the quota values in Danish and English (HTML form)",
             responses=errors(404, 422))
async def names_save(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = _form(await request.form())
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
    _ = pages.gettext(request)
    names, problems = [], []
    for i, (category, q) in enumerate(_flat_quotas(assembly)):
        labels = {lang: form.get(f"name_{lang}_{i}", "").strip() for lang in ("da", "en")}
        for lang, text in labels.items():
            if len(text) > 100:
                problems.append({"field": f"name_{lang}_{i}", "message": _(ASSEMBLY_PROBLEMS["quota_name"], row=i + 1)})
        names.append({"category": category, "value": q["value"], "labels": labels})
    if problems:
        return _names_page(request, who, assembly, form=form, errors_=problems, status=422)
    async with rt.transaction() as tx:
        await h.name_values(tx, assembly_id, names)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/names?saved=1"))
