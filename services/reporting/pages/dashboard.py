"""The secretariat's dashboard per assembly (where the process stands, what to do next, live
figures from events) and the panel members' portal home."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.reporting import views as v
from services.reporting.domain.evaluation import STAGE_NAMES
from services.reporting.domain.progress import current_step, steps
from services.reporting.pages import pages
from services.reporting.views import dashboard as dv
from services.reporting.views import evaluation as ev
from services.reporting.views.publication import published
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

STEP_NAMES = {"recruitment": N_("Recruitment"), "pool": N_("Pool"), "draw": N_("Draw"),
              "sessions": N_("Sessions"), "voting": N_("Voting"), "report": N_("Report")}
NEXT_STEP = {
    "recruitment": N_("Import the register extract and send the invitation letters."),
    "pool": N_("Watch the registrations against the quotas, send reminders where replies are few, then freeze the pool."),
    "draw": N_("Collect the seed commitments, reveal the seeds and run the draw in public."),
    "sessions": N_("Send the selection letters, schedule the sessions and record attendance."),
    "voting": N_("Open the final ballot for the recommendations, then close it to count."),
    "report": N_("Check the report and publish it."),
    None: N_("The report is published. Record the authority's responses as they come."),
}
# Where each step is done: (the link's text, the owning service, the page's path)
STEP_PAGES = {
    "recruitment": (N_("Go to recruitment"), "recruitment", "/assemblies/{aid}/recruitment"),
    "pool": (N_("Go to recruitment"), "recruitment", "/assemblies/{aid}/recruitment"),
    "draw": (N_("Go to the draw"), "sortition", "/assemblies/{aid}/draw"),
    "sessions": (N_("Go to the sessions"), "sessions", "/assemblies/{aid}/calendar"),
    "voting": (N_("Go to the ballots"), "voting", "/assemblies/{aid}/voting"),
    "report": (N_("Go to the report"), "reporting", "/assemblies/{aid}/report"),
    None: (N_("Record a response"), "reporting", "/assemblies/{aid}/followup/record"),
}


@router.get("/assemblies/{assembly_id}/dashboard", summary="The secretariat's dashboard (HTML)", responses=errors(404))
async def dashboard(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                    who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR, page=True))) -> Response:
    async with rt.transaction() as tx:
        summary = await v.summary(tx, assembly_id)
        is_published = await published(tx, assembly_id)
        live = await dv.live(tx, assembly_id)
    progress = steps(summary, published=is_published)
    current = current_step(progress)
    return pages.render(request, "dashboard.html", {
        "s": summary, "progress": progress, "step_names": STEP_NAMES, "next_step": NEXT_STEP[current],
        "next_link": None if current not in STEP_PAGES else (
            STEP_PAGES[current][0], service_url(request, STEP_PAGES[current][2].format(aid=assembly_id),
                                               STEP_PAGES[current][1])),
        "current": current, "assembly_id": assembly_id, "live": live,
        "regions": [{"code": r["region"], "name": r["name"]} for r in summary["per_region"]]}, who=who)


@router.get("/assemblies/{assembly_id}/portal", summary="A panel member's home (HTML)", responses=errors(404))
async def portal(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    async with rt.transaction() as tx:
        portal = await v.member_portal(tx, assembly_id, who.member_id)
        surveys = await ev.member_surveys(tx, assembly_id, who.member_id) if portal["role"] == "member" else []
    return pages.render(request, "portal.html", {"p": portal, "surveys": surveys, "stage_names": STAGE_NAMES},
                        who=who)
