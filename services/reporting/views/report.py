"""The handover report as documents: the figures a report may publish (small groups suppressed),
its charts, and the self-contained HTML document and its PDF (WeasyPrint, from the same HTML) in
Danish and English. The pages (pages/report.py), the API and publishing (handlers/publication.py) share it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reporting.domain.charts import shares_chart
from services.reporting.domain.disclosure import public_figures
from services.reporting.domain.evaluation import STAGE_NAMES, STAGES, questions
from shared.markdown import render as markdown
from shared.ui.commands import download_command
from shared.ui.i18n import N_, Formats, gettext_for, label, ngettext_for

LANGUAGES = ("da", "en")
_env = Environment(loader=FileSystemLoader(Path(__file__).parent.parent / "templates"), autoescape=select_autoescape())
_env.globals["download"] = download_command

PHASE_NAMES = {"learning": N_("Learning"), "hearing": N_("Hearing"), "values": N_("Values"), "vision": N_("Vision"),
               "recommendations": N_("Recommendations"), "voting": N_("Voting"), "other": N_("Other")}
MODE_NAMES = {"physical": N_("In person"), "digital": N_("Online"), "hybrid": N_("Hybrid")}


def charts(s: dict, _, lab) -> list[dict]:
    """One chart per category: the population (regions) or the quota's target, the pool and the panel."""
    out: list[dict] = []
    for category in dict.fromkeys(c["category"] for c in s["composition"]):
        rows = [c for c in s["composition"] if c["category"] == category]
        first = _("Population") if category == "region" else _("Quota target")
        title = _("%(category)s: panel, pool and %(first)s", category=lab(category), first=first.lower())
        out.append({"category": category, "svg": shares_chart(
            title, [first, _("Pool"), _("Panel")],
            [{"label": lab(category, c["value"]),
              "values": [c["population_share"] if category == "region" else c["target_share"], c["pool_share"],
                         c["panel_share"]]} for c in rows],
            hidden=_("fewer than %(k)s", k=s["min_group"]))})
    return out


def report_values(summary: dict, lang: str, *, min_group: int, links: dict | None = None) -> dict:
    """What the report's templates need besides the page's own context: the public figures `s`."""
    s = summary if "min_group" in summary else public_figures(summary, min_group)
    _ = gettext_for(lang)
    regions = [{"code": r["region"], "name": r["name"]} for r in s["per_region"]]

    def lab(category, value=None):
        return label(_, category, value, regions, None, lang)
    return {"s": s, "phase_names": PHASE_NAMES, "mode_names": MODE_NAMES, "regions": regions, "markdown": markdown,
            "charts": charts(s, _, lab), "links": links or {}, "stage_names": STAGE_NAMES,
            "questions": {stage: {q.id: q for q in questions(stage)} for stage in STAGES},
            "iso": lambda text: None if not text else datetime.fromisoformat(text)}


def render_html(summary: dict, lang: str, *, min_group: int, links: dict | None = None,
                version: dict | None = None) -> str:
    """The report in `lang` as one self-contained HTML document (no scripts, no external files).
    `version`: {number, corrects, note, changes, published_at} when it is being published."""
    _ = gettext_for(lang)
    return _env.get_template("report_document.html").render(
        lang=lang, _=_, n_=ngettext_for(lang), fmt=Formats(lang), version=version,
        label=lambda c, v=None, regions=None, strata=None: label(_, c, v, regions, strata, lang),
        **report_values(summary, lang, min_group=min_group, links=links))


def render_pdf(html: str) -> bytes:
    """The same document as PDF (A4, with text that can be searched and copied)."""
    import weasyprint  # loads Pango on first use: only the processes that publish pay for it

    return weasyprint.HTML(string=html).write_pdf()


def render_documents(summary: dict, *, min_group: int, links: dict, number: int, corrects: int | None,
                     note: str, changes: list[dict]) -> dict[str, bytes]:
    """Every document of a version: {da.html, en.html, da.pdf, en.pdf}."""
    version = {"number": number, "corrects": corrects, "note": note, "changes": changes,
               "published_at": datetime.now(timezone.utc)}
    out: dict[str, bytes] = {}
    for lang in LANGUAGES:
        html = render_html(summary, lang, min_group=min_group, links=links, version=version)
        out[f"{lang}.html"] = html.encode()
        out[f"{lang}.pdf"] = render_pdf(html)
    return out
