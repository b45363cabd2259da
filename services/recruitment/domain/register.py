"""The population-register extract: a CSV with one row per person (person_id, name, address,
region), checked line by line before anything is imported."""

from __future__ import annotations

import csv
import io

from shared.problems import invalid

REGISTER_COLUMNS = ("person_id", "name", "address", "region")


def parse_register_csv(text: str, region_codes: set[str]) -> list[dict]:
    """The extract's rows (person_ref, name, address, region), or InvalidInput naming the line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REGISTER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise invalid(f"the register extract needs the columns {', '.join(REGISTER_COLUMNS)}; missing: {', '.join(missing)}")
    rows, seen = [], set()
    for line, rec in enumerate(reader, start=2):
        if any(not (rec.get(c) or "").strip() for c in REGISTER_COLUMNS):
            raise invalid(f"line {line}: every row needs {', '.join(REGISTER_COLUMNS)}")
        if rec["region"] not in region_codes:
            raise invalid(f"line {line}: region '{rec['region']}' is not one of {', '.join(sorted(region_codes))}")
        if rec["person_id"] in seen:
            raise invalid(f"line {line}: the same person_id appears twice in the extract")
        seen.add(rec["person_id"])
        rows.append({"person_ref": rec["person_id"].strip(), "name": rec["name"].strip(),
                     "address": rec["address"].strip(), "region": rec["region"]})
    if not rows:
        raise invalid("the register extract has no rows")
    return rows
