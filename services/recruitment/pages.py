"""Recruitment's pages: the public registration form (rebuilt on the shared design system: no
answer pre-selected, human labels in Danish and English, errors in the chosen language) and the
panel members' sign-in with the code of their selection letter."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import handlers as h
from services.recruitment import views as v
from services.recruitment.api import count_refusal, limit_public
from services.recruitment.domain.answers import questionnaire
from services.recruitment.domain.codes import CodeRefused, UsedCode, code_hash, normalise
from services.recruitment.domain.registration_form import form_problems
from shared.auth import PUBLIC, Principal, allow
from shared.auth.keys import mint_member_token
from shared.auth.sessions import SESSION_COOKIE, cookie_options

from shared.openapi import errors

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


def _registration(request: Request, who: Principal, assembly, *, form: dict | None = None,
                  problems: list[tuple[str, str]] = (), status: int = 200):
    _ = pages.gettext(request)
    questions = questionnaire(assembly.strata) if assembly is not None else {}
    labelled = []
    for category, values in questions.items():
        labelled.append({"name": f"q_{category}", "legend": label(_, category),
                         "options": [(value, label(_, category, value)) for value in values]})
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
            await h.register(tx, code=form["code"], consent=True, answers=answers, contact=None,
                             secret=rt.settings.secret_key)
    except CodeRefused as exc:
        await count_refusal(rt, ip)
        problem = ("code", "used" if isinstance(exc, UsedCode) else "unknown")
        return _registration(request, who, assembly, form=form, problems=[problem],
                             status=409 if problem[1] == "used" else 404)
    return pages.render(request, "register_done.html", {"assembly": assembly}, who=who, status=201)


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


