"""Recruitment's pages for panel members' letters: a member signs in with the code of their
selection letter; registrars issue the selection letters (CSV) and reissue a lost one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.api import count_refusal, limit_public
from services.recruitment.domain.codes import CodeRefused, normalise
from services.recruitment.handlers import members as h
from services.recruitment.pages import pages
from services.recruitment.pages.questionnaire import NEED_NAMES
from services.recruitment.views import members as members_reads
from shared.auth import FACILITATOR, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.auth.keys import mint_member_token
from shared.auth.sessions import SESSION_COOKIE, cookie_options
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url
from shared.ui.pages import safe_next

router = APIRouter(tags=["pages"])


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


@router.get("/assemblies/{assembly_id}/letters", summary="Selection letters for the panel members (HTML)",
            responses=errors(404))
async def letters_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        members = await members_reads.member_letters(tx, assembly_id)
    waiting = sum(1 for x in members if x["active"] and x["issued_at"] is None)
    return pages.render(request, "letters.html", {"assembly": assembly, "members": members, "waiting": waiting},
                        who=who)


@router.get("/assemblies/{assembly_id}/needs", summary="The panel's needs for planning the sessions (HTML)",
            responses=errors(404))
async def needs_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(REGISTRAR, ORGANISER, FACILITATOR, page=True))) -> Response:
    """How many members need each kind of help (every role that plans sessions); who needs what,
    in their own words, for registrars only."""
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        needs = await members_reads.panel_needs(tx, assembly_id, detail=REGISTRAR in who.roles_in(assembly_id))
    _ = pages.gettext(request)
    return pages.render(request, "needs.html", {"assembly": assembly, "needs": needs,
                                                "names": {k: _(x) for k, x in NEED_NAMES.items()}}, who=who)


LETTER_HEADER = ["member_id", "name", "address", "email", "phone", "region", "code"]


def _letter_rows(letters: list[dict]):
    return ([str(x["member_id"]), x["name"], x["address"], x["email"] or "", x["phone"] or "", x["region"], x["code"]]
            for x in letters)


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
        member = await members_reads.member_letter(tx, assembly_id, member_id)
    return pages.render(request, "letter_reissue.html", {"assembly": assembly, "member": member}, who=who)


@router.post("/assemblies/{assembly_id}/letters/{member_id}/reissue",
             summary="A new selection letter for a member (the old code stops working): the letter as CSV (HTML form)",
             responses=errors(404, 409))
async def letter_reissue(assembly_id: uuid.UUID, member_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    async with rt.transaction() as tx:
        letter = await h.reissue_member_letter(tx, assembly_id, member_id)
    return pages.csv(request, f"selection-letter-{member_id}.csv", LETTER_HEADER, _letter_rows([letter]))
