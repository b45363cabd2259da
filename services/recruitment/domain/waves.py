"""Waves after the first batch of letters: how many letters a targeted second wave sends to each
region so that the pool closes its gap to the quotas, the necessary conditions for the quotas to
be met by the pool as it stands (checked after each wave), and the returned-letters file. Pure.

The second wave, per region r (the stratum letters can be aimed at: the register gives each
person's region):
  seats_r   = max(the region's quota minimum, panel size x r's share of the population, rounded)
  target_r  = ceil(pool factor x seats_r)          the registrations the pool should hold
  gap_r     = max(0, target_r - registered_r)
  rate_r    = registered_r / letters delivered_r   (the region's own reply rate so far; the
              expected rate when it has none yet)
  letters_r = min(ceil(gap_r / rate_r), people in r not yet invited)
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

DEFAULT_POOL_FACTOR = 10.0
DEFAULT_REPLY_RATE = 0.03
MAX_RETURN_PROBLEMS = 50


@dataclass(frozen=True)
class WaveRow:
    region: str
    seats: int
    target: int
    registered: int
    delivered: int
    reply_rate: float
    observed: bool  # the rate is the region's own (else the expected rate)
    gap: int
    available: int
    letters: int
    capped: bool  # fewer letters than the gap needs: the register has no more people there


def region_seats(panel_size: int, populations: Mapping[str, int], minimums: Mapping[str, int]) -> dict[str, int]:
    """The panel seats each region should get: its quota minimum, or its share of the population."""
    total = sum(populations.values()) or 1
    return {r: max(minimums.get(r, 0), round(panel_size * p / total)) for r, p in populations.items()}


def second_wave(seats: Mapping[str, int], registered: Mapping[str, int], delivered: Mapping[str, int],
                available: Mapping[str, int], *, pool_factor: float = DEFAULT_POOL_FACTOR,
                expected_rate: float = DEFAULT_REPLY_RATE) -> list[WaveRow]:
    """The targeted wave's letters per region (see the module's docstring), in region order."""
    if not 1 <= pool_factor <= 100:
        raise ValueError("the pool factor must be between 1 and 100")
    if not 0 < expected_rate <= 1:
        raise ValueError("the expected reply rate must be above 0 and at most 1")
    rows = []
    for region in sorted(seats):
        target = math.ceil(pool_factor * seats[region])
        got, sent, left = registered.get(region, 0), delivered.get(region, 0), available.get(region, 0)
        observed = sent > 0 and got > 0
        rate = got / sent if observed else expected_rate
        gap = max(0, target - got)
        need = math.ceil(gap / rate) if gap else 0
        rows.append(WaveRow(region, seats[region], target, got, sent, rate, observed, gap, left, min(need, left),
                            need > left))
    return rows


def wave_plan(rows: Sequence[WaveRow], pool_factor: float, expected_rate: float) -> dict:
    """The computation as stored with the batch (and shown again beside it)."""
    return {"pool_factor": pool_factor, "expected_rate": expected_rate, "rows": [asdict(r) for r in rows]}


@dataclass(frozen=True)
class QuotaCheck:
    category: str
    value: str
    minimum: int
    registered: int

    @property
    def short(self) -> int:
        return max(0, self.minimum - self.registered)


def quota_checks(strata: Sequence[Mapping], counts: Mapping[str, Mapping[str, int]]) -> list[QuotaCheck]:
    """Registrations against each quota's minimum: a pool with fewer people of a value than its
    minimum cannot give any panel that meets the quotas (a necessary condition, not a sufficient
    one: the draw's own feasibility check decides on the frozen pool)."""
    return [QuotaCheck(s["category"], q["value"], q["min"], counts.get(s["category"], {}).get(q["value"], 0))
            for s in strata for q in s["quotas"]]


# ---- returned letters ---------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_REF = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}$")  # as printed on the letter (printing.letter_ref)


def parse_returns(text: str) -> tuple[list[tuple[str, str]], list[tuple[int, str]]]:
    """The returned letters' file (CSV with a header: letter_id[,reason]; a letter_id is the full id
    or the reference printed on the letter): [(id or reference, lower case; reason)] and problems
    [(line, kind)] with kind missing_column | bad_id | no_rows."""
    reader = csv.DictReader(io.StringIO(text))
    if "letter_id" not in (reader.fieldnames or []):
        return [], [(1, "missing_column")]
    rows: list[tuple[str, str]] = []
    problems: list[tuple[int, str]] = []
    for line, rec in enumerate(reader, start=2):
        ref = (rec.get("letter_id") or "").strip().lower()
        if not (_UUID.match(ref) or _REF.match(ref)):
            if len(problems) < MAX_RETURN_PROBLEMS:
                problems.append((line, "bad_id"))
            continue
        rows.append((ref, (rec.get("reason") or "").strip()[:200]))
    if not rows and not problems:
        problems.append((1, "no_rows"))
    return rows, problems
