"""Reporting's pages: the console's home (the assemblies a person works on) and staff sign-in
(shared/ui/signin.py). The secretariat's dashboard and the members' portal, the handover report,
the published report, the follow-up and the evaluation have their pages in the modules beside
this one; `pages` renders them all."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.reporting import views as v
from shared.auth import PUBLIC, Principal, allow
from shared.runtime import RuntimeDep
from shared.ui import Pages, service_url
from shared.ui.signin import signin_router

pages = Pages("reporting", Path(__file__).parent.parent / "templates")
router = APIRouter(tags=["pages"])
router.include_router(signin_router(pages))


@router.get("/", summary="The console's home (HTML)")
async def home(rt: RuntimeDep, request: Request, who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    if who.member_id is not None:
        aid = next(iter(who.assemblies))
        return pages.redirect(request, service_url(request, f"/assemblies/{aid}/portal"))
    assemblies = []
    if not who.anonymous:
        async with rt.transaction() as tx:
            assemblies = await v.assemblies(tx, None if who.global_roles else who.assemblies)
    return pages.render(request, "home.html", {"assemblies": assemblies}, who=who)
