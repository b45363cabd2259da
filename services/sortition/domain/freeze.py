"""The frozen pool, pure: the snapshot taken at the freeze (pseudonymous ids, answers, household
labels, quotas), the engine instance built from it, and its CSV files for the verifier."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from .api import Instance, SortitionInputError, build_instance

# Columns of the published pool besides the categories (a category may not take these names).
RESERVED_COLUMNS = ("id", "household")


def household_labels(rows: Iterable[Any]) -> dict[str, str]:
    """Households that matter (two or more volunteers) get short labels h1, h2, ... in pool order;
    the opaque key from recruitment is not published."""
    rows = list(rows)
    count: dict[str, int] = {}
    for r in rows:
        if r.household:
            count[r.household] = count.get(r.household, 0) + 1
    labels: dict[str, str] = {}
    for r in rows:
        if r.household and count[r.household] > 1 and r.household not in labels:
            labels[r.household] = f"h{len(labels) + 1}"
    return labels


def reserved_categories(strata: list[dict]) -> list[str]:
    """Categories named like a column of the published pool (such a pool cannot be frozen)."""
    return sorted(set(RESERVED_COLUMNS) & {s["category"] for s in strata})


def pool_snapshot(strata: list[dict], panel_size: int, rows: Iterable[Any],
                  intersectional: Iterable[dict] = ()) -> dict:
    """What the freeze keeps of the pool, from rows with `respondent_id`, `features` and
    `household` (in pool order) and the assembly's strata; ``intersectional``: quotas on pairs of
    categories set at the freeze (``{category, value, within: "CATEGORY=VALUE", min, max}``, e.g.
    women within age=18-39), kept after the strata's quotas (the engine checks them)."""
    rows = list(rows)
    categories = [s["category"] for s in strata]
    labels = household_labels(rows)
    people = [{"id": str(r.respondent_id), "features": {c: r.features.get(c) for c in categories},
               "household": labels.get(r.household)} for r in rows]
    quotas = [{"category": s["category"], "value": q["value"], "min": q["min"], "max": q["max"]}
              for s in strata for q in s["quotas"]]
    quotas += [{"category": q["category"].strip(), "value": q["value"].strip(), "min": q["min"], "max": q["max"],
                "within": q["within"].strip()} for q in intersectional]
    return {"people": people, "quotas": quotas, "panel_size": panel_size}


def parse_intersectional(text: str) -> list[dict]:
    """Lines ``CATEGORY,VALUE,CATEGORY=VALUE,MIN,MAX`` (e.g. ``gender,female,age=18-39,1,3``; empty
    lines skipped) -> quota dicts; SortitionInputError naming the first line that is not one."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [x.strip() for x in line.split(",")]
        if len(parts) != 5 or not all(parts) or "=" not in parts[2] or not (parts[3].isdigit() and parts[4].isdigit()):
            raise SortitionInputError(f"line {n} is not CATEGORY,VALUE,CATEGORY=VALUE,MIN,MAX: {line.strip()[:80]}")
        out.append({"category": parts[0], "value": parts[1], "within": parts[2], "min": int(parts[3]),
                    "max": int(parts[4])})
    return out


def check_answers(snapshot: dict) -> None:
    """Every volunteer of the snapshot answered every category (else SortitionInputError)."""
    bad = next((p for p in snapshot["people"] if any(v is None for v in p["features"].values())), None)
    if bad is not None:
        missing = [c for c, v in bad["features"].items() if v is None]
        raise SortitionInputError(f"volunteer {bad['id']} has no answer for {', '.join(missing)}")


def frozen_instance(freeze: dict) -> Instance:
    """The engine's instance of a frozen pool (the snapshot or the stored freeze)."""
    return build_instance([{"id": p["id"], **p["features"], "household": p["household"]} for p in freeze["people"]],
                          freeze["quotas"], freeze["panel_size"], household_key="household",
                          source="frozen pool")


def frozen_csv(quotas: list[dict], people: list[dict], which: str) -> str:
    """The frozen pool in the sortition-algorithms format (`which`: "features" or "people"), for
    `borgerting sortition verify T.json --features features.csv --people people.csv
    --address-columns household`."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if which == "features":
        scoped = any(q.get("within") for q in quotas)  # intersectional quotas: the within column
        w.writerow(["feature", "value", "min", "max"] + (["within"] if scoped else []))
        for q in quotas:
            w.writerow([q["category"], q["value"], q["min"], q["max"]] + ([q.get("within") or ""] if scoped else []))
    else:
        cats = list(dict.fromkeys(q["category"] for q in quotas if not q.get("within")))
        w.writerow(["id", *cats, "household"])
        for p in people:
            w.writerow([p["id"], *(p["features"][c] for c in cats), p["household"] or ""])
    return out.getvalue()
