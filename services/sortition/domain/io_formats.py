"""Readers for the two CSV formats organisers already have (text in, Instance out).

* Replication format (Flanigan et al., Nature 2021): ``categories.csv`` with
  ``category,feature,min,max`` and ``respondents.csv`` with one column per category (row order
  = respondent index; an optional ``id`` column is used as the id, otherwise the row index).
* sortition-algorithms / StratifySelect format: features CSV ``feature,value,min,max`` with
  optional ``min_flex,max_flex``, and a people CSV with an id column (default: the first
  column), one column per feature and optional address columns for the household rule.

Both quota files may have an optional ``within`` column for per-region quotas of multi-region
panels: ``gender,female,3,6,region=North`` counts only the members from region North (the plain
quotas of both categories must be there too).

The parsers take text (``*_text`` functions) so they are pure; ``read_*`` wrap them with file
reading for the CLI.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

from .model import Instance, Quota, SortitionInputError, build_instance, parse_within


def _rows(text: str, what: str) -> tuple[list[str], list[dict[str, str]]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise SortitionInputError(f"{what}: the file is empty")
    header = [h.strip() for h in reader.fieldnames]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise SortitionInputError(f"{what}: duplicate column(s) {', '.join(dup)}")
    rows = []
    for r in reader:
        if r is None:
            continue
        clean = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in r.items()}
        if not any(clean.values()):
            continue  # blank line
        rows.append(clean)
    return header, rows


def _quota_rows(text: str, what: str, cat_col: str, val_col: str) -> list[Quota]:
    header, rows = _rows(text, what)
    lower = {h.lower(): h for h in header}
    need = [cat_col, val_col, "min", "max"]
    missing = [c for c in need if c not in lower]
    if missing:
        raise SortitionInputError(
            f"{what}: missing column(s) {', '.join(missing)} (expected {','.join(need)})"
        )
    out = []
    for j, r in enumerate(rows):
        def num(col: str, optional: bool = False) -> int | None:
            if col not in lower:
                return None
            raw = r.get(lower[col], "")
            if raw == "" and optional:
                return None
            try:
                f = float(raw)
            except ValueError:
                raise SortitionInputError(f"{what} row {j + 2}: {col} '{raw}' is not a number") from None
            if f != int(f):
                raise SortitionInputError(f"{what} row {j + 2}: {col} '{raw}' is not a whole number")
            return int(f)
        cat = r[lower[cat_col]]
        val = r[lower[val_col]]
        if not cat or not val:
            raise SortitionInputError(f"{what} row {j + 2}: empty {cat_col} or {val_col}")
        try:
            within = parse_within(r.get(lower["within"], "")) if "within" in lower else None
        except SortitionInputError as exc:
            raise SortitionInputError(f"{what} row {j + 2}: {exc}") from None
        out.append(Quota(cat, val, num("min"), num("max"), num("min_flex", True), num("max_flex", True), within))
    return out


def parse_replication(categories_text: str, respondents_text: str, k: int) -> Instance:
    quotas = _quota_rows(categories_text, "categories.csv", "category", "feature")
    header, rows = _rows(respondents_text, "respondents.csv")
    cats = list(dict.fromkeys(q.category for q in quotas))
    missing = [c for c in cats if c not in header]
    if missing:
        raise SortitionInputError(
            f"respondents.csv: no column for category {', '.join(missing)} (columns: {', '.join(header)})"
        )
    return build_instance(rows, quotas, k, id_key="id", source="respondents.csv")


def parse_peer_format(
    features_text: str,
    people_text: str,
    k: int,
    *,
    id_column: str | None = None,
    address_columns: Sequence[str] | None = None,
) -> Instance:
    quotas = _quota_rows(features_text, "features CSV", "feature", "value")
    header, rows = _rows(people_text, "people CSV")
    if id_column is None:
        id_column = header[0]
    if id_column not in header:
        raise SortitionInputError(f"people CSV: id column '{id_column}' not found (columns: {', '.join(header)})")
    for r, row in enumerate(rows):
        if not row.get(id_column):
            raise SortitionInputError(f"people CSV row {r + 2}: empty id in column '{id_column}'")
    cats = list(dict.fromkeys(q.category for q in quotas))
    missing = [c for c in cats if c not in header]
    if missing:
        raise SortitionInputError(
            f"people CSV: no column for feature {', '.join(missing)} (columns: {', '.join(header)})"
        )
    if address_columns:
        miss = [a for a in address_columns if a not in header]
        if miss:
            raise SortitionInputError(f"people CSV: address column(s) {', '.join(miss)} not found")
    return build_instance(rows, quotas, k, id_key=id_column, address_keys=address_columns or None,
                          source="people CSV")


def _read(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SortitionInputError(f"file not found: {p}") from None
    except UnicodeDecodeError:
        raise SortitionInputError(f"{p}: not UTF-8 text") from None
    except OSError as exc:
        raise SortitionInputError(f"cannot read {p}: {exc.strerror}") from None


def read_replication(categories: str | Path, respondents: str | Path, k: int) -> Instance:
    return parse_replication(_read(categories), _read(respondents), k)


def read_peer_format(features: str | Path, people: str | Path, k: int, *, id_column: str | None = None,
                     address_columns: Sequence[str] | None = None) -> Instance:
    return parse_peer_format(_read(features), _read(people), k, id_column=id_column,
                             address_columns=address_columns)
