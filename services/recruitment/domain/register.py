"""The population-register extract: a CSV with one row per person (person_id, name, address,
region, and optionally age_band and gender), checked line by line before anything is imported. Every problem is collected (up to a
limit) with a stable kind, so that the API and the import page can both report them: the API in
the first problem's words, the page as a validation report in the reader's language."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from shared.problems import invalid

REGISTER_COLUMNS = ("person_id", "name", "address", "region")
# Where the extract has them, strata of the invitation sample (domain/sample.py).
OPTIONAL_COLUMNS = ("age_band", "gender")
STRATUM_VALUE = re.compile(r"^[A-Za-z0-9_+-]{1,32}$")
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class RegisterProblem:
    """One problem of the extract: `kind` is missing_columns | empty_field | unknown_region |
    bad_value | duplicate_person | no_rows; `line` is the file's line (the header is line 1); `value` names the
    missing columns, the unknown region or the column of a bad value (never a person's data)."""

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
        if self.kind == "bad_value":
            return f"line {self.line}: {self.value} must be a code of letters, digits, +, - or _ (at most 32)"
        if self.kind == "duplicate_person":
            return f"line {self.line}: the same person_id appears twice in the extract"
        return "the register extract has no rows"


class RegisterCheck:
    """The extract's checks one line at a time, so that an extract of millions of lines streams
    through in constant memory: `header` once, then `row` per record (the row to import, or None
    and a problem). Duplicates across lines are for the caller: in memory for a small text, in the
    database for a streamed file."""

    def __init__(self, region_codes: set[str], limit: int = MAX_PROBLEMS):
        self.region_codes, self.limit = region_codes, limit
        self.problems: list[RegisterProblem] = []
        self.optional: tuple[str, ...] = ()
        self.rows = 0

    @property
    def full(self) -> bool:
        return len(self.problems) >= self.limit

    def header(self, fieldnames) -> bool:
        names = list(fieldnames or [])
        missing = [c for c in REGISTER_COLUMNS if c not in names]
        if missing:
            self.problems.append(RegisterProblem("missing_columns", 1, ", ".join(missing)))
            return False
        self.optional = tuple(c for c in OPTIONAL_COLUMNS if c in names)
        return True

    def row(self, line: int, rec: dict) -> dict | None:
        if any(not (rec.get(c) or "").strip() for c in REGISTER_COLUMNS):
            return self._refuse("empty_field", line)
        region = rec["region"].strip()
        if region not in self.region_codes:
            return self._refuse("unknown_region", line, region[:40])
        out = {"person_ref": rec["person_id"].strip(), "name": rec["name"].strip(),
               "address": rec["address"].strip(), "region": region}
        for column in OPTIONAL_COLUMNS:
            value = (rec.get(column) or "").strip() if column in self.optional else ""
            if value and not STRATUM_VALUE.match(value):
                return self._refuse("bad_value", line, column)
            out[column] = value or None
        self.rows += 1
        return out

    def _refuse(self, kind: str, line: int, value: str = "") -> None:
        if not self.full:
            self.problems.append(RegisterProblem(kind, line, value))
        return None

    def finish(self, duplicates: list[int] = ()) -> list[RegisterProblem]:
        """Every problem in line order (at most `limit`), with the lines that repeat a person_id."""
        problems = self.problems + [RegisterProblem("duplicate_person", line) for line in duplicates]
        if not self.rows and not problems:
            problems.append(RegisterProblem("no_rows"))
        return sorted(problems, key=lambda p: p.line or 0)[: self.limit]


def read_register(source: TextIO, check: RegisterCheck, batch: int = 5000) -> Iterator[list[tuple[int, dict]]]:
    """The checked rows of an extract file, `batch` at a time as (line, row), lazily (the file is
    read as the batches are taken); stops early once the check has found `limit` problems."""
    reader = csv.DictReader(source)
    if not check.header(reader.fieldnames):
        return
    rows: list[tuple[int, dict]] = []
    for line, rec in enumerate(reader, start=2):
        if check.full:
            break
        row = check.row(line, rec)
        if row is not None:
            rows.append((line, row))
            if len(rows) >= batch:
                yield rows
                rows = []
    if rows:
        yield rows


def check_register_csv(text: str, region_codes: set[str], limit: int = MAX_PROBLEMS) -> tuple[list[dict], list[RegisterProblem]]:
    """The extract's rows (person_ref, name, address, region, age_band, gender) and its problems
    (at most `limit`, in file order); the rows are only to be imported when there is no problem."""
    check = RegisterCheck(region_codes, limit)
    rows: list[dict] = []
    seen: set[str] = set()
    duplicates: list[int] = []
    for batch in read_register(io.StringIO(text), check):
        for line, row in batch:
            if row["person_ref"] in seen:
                duplicates.append(line)
                check.rows -= 1
                continue
            seen.add(row["person_ref"])
            rows.append(row)
    return rows, check.finish(duplicates)


def register_refusal(problems: list[RegisterProblem], region_codes: set[str]):
    """InvalidInput in the first problem's words with every problem found in its details (field
    "line N", kind, value)."""
    return invalid(problems[0].message(region_codes),
                   [{"field": f"line {p.line}" if p.line else "extract", "problem": p.message(region_codes),
                     "kind": p.kind, "line": p.line, "value": p.value} for p in problems])


def parse_register_csv(text: str, region_codes: set[str]) -> list[dict]:
    """The extract's rows, or the refusal naming every problem (`register_refusal`)."""
    rows, problems = check_register_csv(text, region_codes)
    if problems:
        raise register_refusal(problems, region_codes)
    return rows
