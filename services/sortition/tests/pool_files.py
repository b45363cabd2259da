"""Write a pool as sortition-algorithms files (features.csv, people.csv) for the CLI and certify tests."""

from __future__ import annotations

import csv
from pathlib import Path


def write_pool_files(tmp: Path, people: list[dict], quotas: list[dict]) -> Path:
    with open(tmp / "features.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["feature", "value", "min", "max"])
        w.writerows([q["category"], q["value"], q["min"], q["max"]] for q in quotas)
    with open(tmp / "people.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(people[0]))
        w.writeheader()
        w.writerows(people)
    return tmp
