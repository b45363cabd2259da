"""The secretariat's form for choosing alternates, read without I/O: how many, and a drop-out rate
in per cent for each group of the quotas (empty: 0 %). Problems are (field, kind) pairs the page
words in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def quota_groups(quotas: Sequence[Mapping]) -> list[tuple[str, str]]:
    """The (category, value) groups a rate can be given for: the strata's quotas, in their order
    (intersectional quotas, which carry `within`, are not groups of their own)."""
    out: list[tuple[str, str]] = []
    for q in quotas:
        key = (q["category"], q["value"])
        if "within" not in q and key not in out:
            out.append(key)
    return out


def _number(raw: str) -> float | None:
    try:
        x = float(raw.strip().replace(",", ".").rstrip("%").strip())
    except ValueError:
        return None
    return x if x == x else None


def read_alternates_form(form: Mapping[str, str], groups: Sequence[tuple[str, str]]
                         ) -> tuple[dict, list[tuple[str, str]]]:
    """(values for the handler: count, scenarios, rates [{category, value, rate}]), problems."""
    problems: list[tuple[str, str]] = []
    raw = (form.get("count") or "").strip()
    count = int(raw) if raw.isdigit() and 1 <= int(raw) <= 1000 else None
    if count is None:
        problems.append(("count", "count"))
    raw = (form.get("scenarios") or "").strip() or "40"
    scenarios = int(raw) if raw.isdigit() and 5 <= int(raw) <= 200 else None
    if scenarios is None:
        problems.append(("scenarios", "scenarios"))
    rates = []
    for i, (category, value) in enumerate(groups):
        raw = form.get(f"rate_{i}") or ""
        if not raw.strip():
            continue
        pct = _number(raw)
        if pct is None or not 0 <= pct < 100:
            problems.append((f"rate_{i}", "rate"))
            continue
        if pct > 0:
            rates.append({"category": category, "value": value, "rate": pct / 100})
    if not rates and not any(f.startswith("rate_") for f, _ in problems):
        problems.append(("rates", "rates"))
    if form.get("confirm") != "true":
        problems.append(("confirm", "confirm"))
    return {"count": count, "scenarios": scenarios, "rates": rates}, problems
