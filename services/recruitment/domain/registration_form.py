"""The registration form's checks, before anything is stored: which fields are missing or wrong,
as (field, problem) pairs the page words in the citizen's language. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from services.recruitment.domain.codes import normalise


def form_problems(questions: Mapping[str, list[str]], form: Mapping[str, str]) -> list[tuple[str, str]]:
    """Problems in the order of the form: ("code", "missing" | "malformed"), ("q_<category>",
    "missing" | "unknown"), ("consent", "missing"). Nothing is assumed: every question needs an
    explicit answer among its options."""
    problems: list[tuple[str, str]] = []
    code = (form.get("code") or "").strip()
    if not code:
        problems.append(("code", "missing"))
    elif normalise(code) is None:
        problems.append(("code", "malformed"))
    for category, values in questions.items():
        given = form.get(f"q_{category}")
        if not given:
            problems.append((f"q_{category}", "missing"))
        elif given not in values:
            problems.append((f"q_{category}", "unknown"))
    if form.get("consent") != "true":
        problems.append(("consent", "missing"))
    return problems
