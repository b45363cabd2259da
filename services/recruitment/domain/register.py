"""The population-register extract: a CSV with one row per person (person_id, name, address,
region), checked line by line before anything is imported. Every problem is collected (up to a
limit) with a stable kind, so that the API and the import page can both report them: the API in
the first problem's words, the page as a validation report in the reader's language."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from shared.problems import invalid

REGISTER_COLUMNS = ("person_id", "name", "address", "region")
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class RegisterProblem:
    """One problem of the extract: `kind` is missing_columns | empty_field | unknown_region |
    duplicate_person | no_rows; `line` is the file's line (the header is line 1); `value` names the
    missing columns or the unknown region (never a person's data)."""

    kind: str
    line: int | None = None
    value: str = ""

    def message(self, region_codes: set[str]) -> str:
        if self.kind == "missing_columns":
            return f"the register extract needs the columns {', '.join(REGISTER_COLUMNS)}; missing: {self.value}"
        if self.kind == "empty_field":
            return f"line {self.line}: every row needs {', '.join(REGISTER_COLUMNS)}"
        if self.kind == "unknown_region":
            return f"line {self.line}: region '{self.value}' is not one of {', '.join(sorted(region_codes))}"
        if self.kind == "duplicate_person":
            return f"line {self.line}: the same person_id appears twice in the extract"
        return "the register extract has no rows"


def check_register_csv(text: str, region_codes: set[str], limit: int = MAX_PROBLEMS) -> tuple[list[dict], list[RegisterProblem]]:
    """The extract's rows (person_ref, name, address, region) and its problems (at most `limit`,
    in file order); the rows are only to be imported when there is no problem."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REGISTER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [RegisterProblem("missing_columns", 1, ", ".join(missing))]
    rows: list[dict] = []
    problems: list[RegisterProblem] = []
    seen: set[str] = set()
    for line, rec in enumerate(reader, start=2):
        if len(problems) >= limit:
            break
        if any(not (rec.get(c) or "").strip() for c in REGISTER_COLUMNS):
            problems.append(RegisterProblem("empty_field", line))
            continue
        if rec["region"] not in region_codes:
            problems.append(RegisterProblem("unknown_region", line, rec["region"][:40]))
            continue
        if rec["person_id"] in seen:
            problems.append(RegisterProblem("duplicate_person", line))
            continue
        seen.add(rec["person_id"])
        rows.append({"person_ref": rec["person_id"].strip(), "name": rec["name"].strip(),
                     "address": rec["address"].strip(), "region": rec["region"]})
    if not rows and not problems:
        problems.append(RegisterProblem("no_rows"))
    return rows, problems


def parse_register_csv(text: str, region_codes: set[str]) -> list[dict]:
    """The extract's rows, or InvalidInput in the first problem's words with every problem found
    in its details (field "line N", kind, value)."""
    rows, problems = check_register_csv(text, region_codes)
    if problems:
        raise invalid(problems[0].message(region_codes),
                      [{"field": f"line {p.line}" if p.line else "extract", "problem": p.message(region_codes),
                        "kind": p.kind, "line": p.line, "value": p.value} for p in problems])
    return rows
