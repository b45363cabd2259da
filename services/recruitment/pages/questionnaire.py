"""Recruitment's staff page for the registration questionnaire: the wording of the strata
questions in Danish and English, "prefer not to say" where the mandate has a quota for it, optional
attitude questions, the needs asked about and contact details for the selected. Each save is a new
version; once letters have gone out the page shows the questionnaire and refuses changes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.domain.questionnaire import (LANGS, MAX_ATTITUDES, NEEDS, PREFER_NOT_TO_SAY, quota_values,
                                                       read_config)
from services.recruitment.handlers import questionnaire as h
from services.recruitment.pages import _form, pages
from services.recruitment.views import questionnaire as qv
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import Conflict
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, label, service_url

router = APIRouter(tags=["pages"])

PROBLEMS = {
    "categories": N_("The questions must be the mandate's categories: %(value)s"),
    "label_too_long": N_("At most %(n)s characters"),
    "prefer_not_outside_mandate": N_("The mandate has no quota for “prefer not to say” in this category. Add one first"),
    "too_many_attitudes": N_("At most %(n)s attitude questions"),
    "attitude_key": N_("Enter a short code of lower-case letters, digits and _, starting with a letter, for example trust"),
    "attitude_key_taken": N_("The code %(value)s is used twice or is the name of a category"),
    "attitude_label": N_("Enter the question in Danish and in English"),
    "attitude_options": N_("Enter 2 to %(n)s answers, one per line, as many in Danish as in English"),
    "option_too_long": N_("An answer can have at most %(n)s characters"),
    "needs": N_("Choose among the needs offered"),
    "fixed": N_("Letters have gone out, so the questionnaire can no longer change: everyone must answer the same questions"),
}
NEED_NAMES = {"language": N_("Language or interpreter"), "accessibility": N_("Accessibility"),
              "diet": N_("Diet"), "childcare": N_("Childcare")}


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.splitlines() if x.strip()]


def read_form(config: dict, form: dict[str, str]) -> dict:
    """The form's fields as the API's body: options are one per line, numbered from 1."""
    strata = [{"category": q["category"],
               "label": {lang: form.get(f"label_{lang}_{q['category']}", "") for lang in LANGS},
               "prefer_not_to_say": form.get(f"prefer_{q['category']}") == "true"} for q in config["strata"]]
    attitudes = []
    for i in range(MAX_ATTITUDES):
        fields = {k: form.get(f"att_{k}_{i}", "").strip() for k in ("key", "da", "en", "options_da", "options_en")}
        if not any(fields.values()):
            continue
        da, en = _lines(fields["options_da"]), _lines(fields["options_en"])
        options = [{"value": str(n), "label": {"da": d, "en": e}} for n, (d, e) in enumerate(zip(da, en), start=1)]
        if len(da) != len(en):
            options = options[:1]  # a problem the domain names: the two lists must match
        attitudes.append({"key": fields["key"], "label": {"da": fields["da"], "en": fields["en"]}, "options": options,
                          "row": i})
    return {"strata": strata, "attitudes": attitudes, "needs": [n for n in NEEDS if form.get(f"need_{n}") == "true"],
            "contact": form.get("contact") == "true"}


def form_of(config: dict) -> dict[str, str]:
    """A saved questionnaire as the form's fields."""
    form = {}
    for q in config["strata"]:
        for lang in LANGS:
            form[f"label_{lang}_{q['category']}"] = q["label"].get(lang, "")
        form[f"prefer_{q['category']}"] = "true" if q["prefer_not_to_say"] else ""
    for i, a in enumerate(config["attitudes"]):
        form.update({f"att_key_{i}": a["key"], f"att_da_{i}": a["label"]["da"], f"att_en_{i}": a["label"]["en"],
                     f"att_options_da_{i}": "\n".join(o["label"]["da"] for o in a["options"]),
                     f"att_options_en_{i}": "\n".join(o["label"]["en"] for o in a["options"])})
    for n in config["needs"]:
        form[f"need_{n}"] = "true"
    form["contact"] = "true" if config["contact"] else ""
    return form


async def _state(rt: Runtime, assembly_id: uuid.UUID) -> dict:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        version, config = await qv.current(tx, assembly_id, assembly.strata)
        history = await qv.versions(tx, assembly_id)
        sent = await qv.letters_out(tx, assembly_id)
    return {"assembly": assembly, "version": version, "config": config, "history": history, "sent": sent}


def _page(request: Request, who: Principal, state: dict, *, form: dict | None = None, problems=(),
          saved: bool = False, status: int = 200) -> Response:
    _ = pages.gettext(request)
    assembly, config = state["assembly"], state["config"]
    by_field: dict[str, str] = {}
    for field, kind, values in problems:
        by_field.setdefault(field, _(PROBLEMS[kind], **values))
    rows = max(len(config["attitudes"]) + 1, 2) if form is None else MAX_ATTITUDES
    questions = [{"category": q["category"], "name": label(_, q["category"]),
                  "options": [label(_, q["category"], x, None, assembly.strata, pages.locale(request))
                              for x in quota_values(assembly.strata, q["category"]) if x != PREFER_NOT_TO_SAY],
                  "prefer_allowed": PREFER_NOT_TO_SAY in quota_values(assembly.strata, q["category"])}
                 for q in config["strata"]]
    return pages.render(request, "questionnaire.html", {
        **state, "form": form if form is not None else form_of(config), "by_field": by_field,
        "errors": [{"field": f, "message": m} for f, m in by_field.items()], "questions": questions,
        "rows": min(rows, MAX_ATTITUDES), "needs": [(n, _(NEED_NAMES[n])) for n in NEEDS], "saved": saved,
        "can_edit": ORGANISER in who.roles_in(assembly.id) and not state["sent"]}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/questions", summary="The registration questionnaire: the form (HTML)",
            responses=errors(404))
async def questionnaire_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                             who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    return _page(request, who, await _state(rt, assembly_id), saved=request.query_params.get("saved") == "1")


@router.post("/assemblies/{assembly_id}/questions",
             summary="Save the registration questionnaire as a new version (HTML form)", responses=errors(404, 409, 422))
async def questionnaire_save(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                             who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = _form(await request.form())
    state = await _state(rt, assembly_id)
    if state["sent"]:
        return _page(request, who, state, problems=[("fixed", "fixed", {})], status=409)
    body = read_form(state["config"], form)
    _config, problems = read_config(state["assembly"].strata, body)
    rows = {i: a["row"] for i, a in enumerate(body["attitudes"])}  # problems name the n-th question; the form its row
    problems = [(f"{f.rsplit('_', 1)[0]}_{rows[int(f.rsplit('_', 1)[1])]}" if f.startswith("att_") else f, k, x)
                for f, k, x in problems]
    if problems:
        return _page(request, who, state, form=form, problems=problems, status=422)
    try:
        async with rt.transaction() as tx:
            await h.save(tx, assembly_id, body)
    except Conflict:
        return _page(request, who, await _state(rt, assembly_id), problems=[("fixed", "fixed", {})], status=409)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/questions?saved=1"))
