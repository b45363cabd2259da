"""The follow-up of the recommendations: the authority's response to each one and how carrying it
out goes over time, as the secretariat records it. Rules and the public view's shape (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from shared.problems import invalid

RESPONSES = ("accepted", "partly", "rejected", "under_consideration")
IMPLEMENTATION = ("not_started", "in_progress", "implemented", "abandoned")
MAX_TEXT, MAX_BODY, MAX_LINKS = 5000, 200, 10


def check_response(*, response: str, implementation: str | None, reasoning: str, responsible_body: str,
                   answered_on: date | None, deadline: date | None, links: Sequence[str]) -> list[dict[str, str]]:
    """What is wrong with a response as entered: [{"field", "problem"}] (empty: it may be recorded).
    The answer's date may lie ahead of today's (a simulation, an answer announced for a date)."""
    bad = []
    if response not in RESPONSES:
        bad.append({"field": "response", "problem": "choose one of: " + ", ".join(RESPONSES)})
    if implementation is not None and implementation not in IMPLEMENTATION:
        bad.append({"field": "implementation", "problem": "choose one of: " + ", ".join(IMPLEMENTATION)})
    if not reasoning.strip() or len(reasoning) > MAX_TEXT:
        bad.append({"field": "reasoning", "problem": f"give the authority's reasoning (1 to {MAX_TEXT} characters)"})
    if not responsible_body.strip() or len(responsible_body) > MAX_BODY:
        bad.append({"field": "responsible_body",
                    "problem": f"name the body responsible, an office rather than a person (1 to {MAX_BODY} characters)"})
    if answered_on is None:
        bad.append({"field": "answered_on", "problem": "give the date of the answer"})
    if deadline is not None and answered_on is not None and deadline < answered_on:
        bad.append({"field": "deadline", "problem": "the deadline cannot be before the answer"})
    if len(links) > MAX_LINKS or any(not _public_link(x) for x in links):
        bad.append({"field": "links", "problem": f"links must be http(s) addresses, at most {MAX_LINKS}"})
    return bad


def require_valid(**fields: Any) -> None:
    bad = check_response(**fields)
    if bad:
        raise invalid("the response cannot be recorded: " + "; ".join(f"{b['field']}: {b['problem']}" for b in bad),
                      details=bad)


def _public_link(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(url) <= 2000 and " " not in url


def followup(recommendations: Iterable[Mapping[str, Any]], responses: Iterable[Mapping[str, Any]],
             today: date) -> dict[str, Any]:
    """Per recommendation (in the report's order): its entries oldest first and the latest one;
    and the figures: how many are answered, and how many answers are overdue against their deadline."""
    by_rec: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in sorted(responses, key=lambda r: (r["answered_on"], r["recorded_at"])):
        by_rec.setdefault((str(r["ballot_id"]), r["question_id"]), []).append(r)
    items = []
    for rec in recommendations:
        history = by_rec.get((str(rec["ballot_id"]), rec["question_id"]), [])
        latest = history[-1] if history else None
        overdue = bool(latest and latest["deadline"] and latest["deadline"] < today
                       and latest.get("implementation") not in ("implemented", "abandoned")
                       and latest["response"] != "rejected")
        items.append({**rec, "history": history, "latest": latest, "overdue": overdue})
    answered = [i for i in items if i["latest"] and i["latest"]["response"] != "under_consideration"]
    return {"recommendations": items, "answered": len(answered), "total": len(items),
            "responses": sum(len(i["history"]) for i in items), "overdue": sum(i["overdue"] for i in items),
            "last_answer": max((i["latest"]["answered_on"] for i in items if i["latest"]), default=None)}
