"""The staff's assembly form: rows of regions and quotas as the browser sends them (no script: a
fixed number of rows, more on request), read into the API's shape with every problem as a
(field, kind, values) triple that the page words in the reader's language. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.recruitment.domain.answers import strata_problems

MAX_REGION_ROWS = 60
MAX_QUOTA_ROWS = 200
REGION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CATEGORY_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass
class AssemblyForm:
    name: str = ""
    panel_size: int | None = None
    regions: list[dict] = field(default_factory=list)
    strata: list[dict] = field(default_factory=list)
    problems: list[tuple[str, str, dict]] = field(default_factory=list)

    def add(self, field_id: str, kind: str, **values) -> None:
        self.problems.append((field_id, kind, values))

    @property
    def body(self) -> dict:
        return {"name": self.name, "panel_size": self.panel_size, "regions": self.regions, "strata": self.strata}


def rows(form: Mapping[str, str], key: str, cap: int, minimum: int) -> int:
    """How many rows the form has (its hidden `<key>` field), within [minimum, cap]."""
    try:
        n = int(form.get(key, minimum))
    except (TypeError, ValueError):
        n = minimum
    return max(minimum, min(n, cap))


def _int(raw: str, low: int, high: int) -> int | None:
    raw = (raw or "").strip().replace(".", "").replace(" ", "")
    if not raw.isdigit():
        return None
    n = int(raw)
    return n if low <= n <= high else None


def read_assembly_form(form: Mapping[str, str], region_rows: int, quota_rows: int) -> AssemblyForm:
    """The assembly the form describes, and what is wrong with it (empty rows are skipped)."""
    out = AssemblyForm(name=(form.get("name") or "").strip())
    if not out.name:
        out.add("name", "name_missing")
    elif len(out.name) > 200:
        out.add("name", "name_too_long")
    out.panel_size = _int(form.get("panel_size", ""), 1, 5000)
    if out.panel_size is None:
        out.add("panel_size", "panel_size")

    for i in range(region_rows):
        code, name, pop = (str(form.get(f"region_{k}_{i}", "")).strip() for k in ("code", "name", "population"))
        if not (code or name or pop):
            continue
        if not REGION_CODE.match(code):
            out.add(f"region_code_{i}", "region_code", row=i + 1)
        if not name or len(name) > 200:
            out.add(f"region_name_{i}", "region_name", row=i + 1)
        population = _int(pop, 1, 10**10)
        if population is None:
            out.add(f"region_population_{i}", "region_population", row=i + 1)
        out.regions.append({"code": code, "name": name, "population": population or 0})
    if not out.regions:
        out.add("region_code_0", "no_regions")

    by_category: dict[str, list[dict]] = {}
    for i in range(quota_rows):
        cat, value, lo, hi = (str(form.get(f"quota_{k}_{i}", "")).strip() for k in ("category", "value", "min", "max"))
        if not (value or lo or hi):
            continue  # a category chosen in an otherwise empty row is no quota
        if not CATEGORY_CODE.match(cat):
            out.add(f"quota_category_{i}", "quota_category", row=i + 1)
        if not value or len(value) > 100:
            out.add(f"quota_value_{i}", "quota_value", row=i + 1)
        qmin, qmax = _int(lo, 0, 1_000_000), _int(hi, 0, 1_000_000)
        if qmin is None:
            out.add(f"quota_min_{i}", "quota_min", row=i + 1)
        if qmax is None:
            out.add(f"quota_max_{i}", "quota_max", row=i + 1)
        quota = {"value": value, "min": qmin or 0, "max": qmax or 0}
        names = {lang: str(form.get(f"quota_{lang}_{i}", "")).strip() for lang in ("da", "en")}
        for lang, text in names.items():
            if len(text) > 100:
                out.add(f"quota_{lang}_{i}", "quota_name", row=i + 1)
        if any(names.values()):
            quota["labels"] = {lang: text for lang, text in names.items() if text}
        by_category.setdefault(cat, []).append(quota)
    out.strata = [{"category": c, "quotas": q} for c, q in by_category.items()]
    if not out.strata:
        out.add("quota_category_0", "no_quotas")

    if not out.problems:  # the mandate as a whole, once every field reads
        for kind, values in strata_problems(out.regions, out.strata, out.panel_size):
            out.add("quotas", kind, **values)
    return out
