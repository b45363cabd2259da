"""Reporting's HTTP API: the summary (JSON) and publishing the handover report (a self-contained
HTML document, frozen and hashed; the report's page is in pages.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

from typing import Literal

from fastapi import APIRouter, Depends
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reporting import handlers as h
from services.reporting import views as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.markdown import render as markdown
from shared.runtime import RuntimeDep
from shared.ui.i18n import N_, Formats, label, translations

router = APIRouter(tags=["reporting"])
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())


PHASE_NAMES = {"learning": N_("Learning"), "hearing": N_("Hearing"), "values": N_("Values"), "vision": N_("Vision"),
               "recommendations": N_("Recommendations"), "voting": N_("Voting"), "other": N_("Other")}
MODE_NAMES = {"physical": N_("In person"), "digital": N_("Online"), "hybrid": N_("Hybrid")}


def report_values(summary: dict, lang: str) -> dict:
    """What the report's templates need besides the page's own context."""
    return {"s": summary, "phase_names": PHASE_NAMES, "mode_names": MODE_NAMES, "markdown": markdown,
            "regions": [{"code": r["region"], "name": r["name"]} for r in summary["per_region"]]}


def render_report(summary: dict, lang: str = "da") -> str:
    """The published report: one self-contained HTML document in `lang` (da or en)."""
    tr = translations(lang)

    def _(message: str, **values) -> str:
        text = tr.gettext(message)
        return text % values if values else text

    return _env.get_template("report_document.html").render(
        lang=lang, _=_, fmt=Formats(lang), label=lambda c, v=None, regions=None: label(_, c, v, regions),
        **report_values(summary, lang))


@router.get("/assemblies/{assembly_id}/summary", summary="Figures counted from events")
async def summary(assembly_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.summary(tx, assembly_id)


@router.post("/assemblies/{assembly_id}/report/publish", status_code=201, summary="Freeze and publish the report")
async def publish(assembly_id: uuid.UUID, rt: RuntimeDep, lang: Literal["da", "en"] = "da",
                  who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        html = render_report(await v.summary(tx, assembly_id), lang)
        return await h.publish(tx, assembly_id, html)
