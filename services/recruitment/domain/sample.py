"""The invitation sample (stage 1 of the civic lottery) by stratum: region, and the register's age
band and gender where the extract has them. Pure and seeded.

Per stratum c (a region r and, where the extract has them, an age band and a gender):
  population_c = r's census population x c's share of r's people in the register extract
  rate_c       = the expected reply rate: overall x the product over c's region, age band and gender
                 of (that value's expected rate / overall), at most 1 (values without a rate of
                 their own count as the overall rate)
  factor_c     = overall / rate_c                  (the oversampling factor: 2 where replies are half)
  letters_c    = total x population_c x factor_c / sum over all strata (largest remainder; a
                 stratum with too few people not yet invited gives its surplus to the others)
  expected_c   = letters_c x rate_c                (the pool the letters should bring)
Without rates every factor is 1 and the letters follow the population, region by region as before.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.recruitment.domain.allocation import AllocationError, allocate
from services.recruitment.domain.register import STRATUM_VALUE

Cell = tuple[str, str, str]  # (region, age band or "", gender or "")
DIMENSIONS = ("region", "age_band", "gender")
DEFAULT_RATE = 0.03
MIN_RATE, MAX_RATE = 0.001, 1.0
MAX_RATE_VALUES = 200


@dataclass(frozen=True)
class ReplyRates:
    """The expected reply rates: `expected` overall, and per value of a dimension (region,
    age_band, gender) where the assembly knows better."""

    expected: float = DEFAULT_RATE
    by: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def rate(self, cell: Cell) -> float:
        r = self.expected
        for dim, value in zip(DIMENSIONS, cell):
            r *= self.by.get(dim, {}).get(value, self.expected) / self.expected
        return min(MAX_RATE, r)

    def factor(self, cell: Cell) -> float:
        return self.expected / self.rate(cell)

    def as_json(self) -> dict:
        return {"expected": self.expected, **{d: dict(v) for d, v in self.by.items() if v}}


def reply_rates(stored: Mapping | None) -> ReplyRates:
    """The rates as the assembly stores them ({"expected": 0.03, "age_band": {"18-29": 0.015}, ...});
    anything unreadable counts as not given."""
    stored = stored or {}
    expected = stored.get("expected")
    expected = float(expected) if isinstance(expected, (int, float)) and MIN_RATE <= expected <= MAX_RATE else DEFAULT_RATE
    by = {d: {str(k): float(x) for k, x in (stored.get(d) or {}).items()
              if isinstance(x, (int, float)) and MIN_RATE <= x <= MAX_RATE}
          for d in DIMENSIONS if isinstance(stored.get(d), Mapping)}
    return ReplyRates(expected, {d: v for d, v in by.items() if v})


def rate_problems(raw: Mapping) -> list[tuple[str, str]]:
    """What is wrong with rates as an API or form gives them, as (field, problem) in English."""
    problems = []

    def check(name: str, x) -> None:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not MIN_RATE <= x <= MAX_RATE:
            problems.append((name, f"a reply rate is a share from {MIN_RATE} to {MAX_RATE} (0.025 for 2.5 %)"))

    check("expected", raw.get("expected"))
    for key in raw:
        if key != "expected" and key not in DIMENSIONS:
            problems.append((key, f"not a stratum of the invitation sample: one of {', '.join(DIMENSIONS)}"))
    for dim in DIMENSIONS:
        values = raw.get(dim) or {}
        if not isinstance(values, Mapping) or len(values) > MAX_RATE_VALUES:
            problems.append((dim, f"a mapping of at most {MAX_RATE_VALUES} values to reply rates"))
            continue
        for value, x in values.items():
            if not isinstance(value, str) or not STRATUM_VALUE.match(value):
                problems.append((dim, "a value is a code of letters, digits, +, - or _ (at most 32), as in the extract"))
                continue
            check(f"{dim}.{value}", x)
    return problems


@dataclass(frozen=True)
class Stratum:
    cell: Cell
    population: float  # the census population the stratum stands for (estimated, see above)
    available: int  # people in the register extract not yet invited
    rate: float
    factor: float
    letters: int

    @property
    def expected(self) -> float:
        return self.letters * self.rate


def plan_sample(total: int | None, populations: Mapping[str, int], register: Mapping[Cell, int],
                available: Mapping[Cell, int], rates: ReplyRates,
                per_region: Mapping[str, int] | None = None) -> list[Stratum]:
    """The letters per stratum (see the module's docstring), in stratum order. `register`: people
    of the extract per stratum (invited or not: its composition); `available`: those not yet
    invited (the caps). With `per_region` (a targeted wave) each region's letters are fixed and
    only split across its strata; `total` is then ignored."""
    in_region: dict[str, int] = {}
    for (region, _a, _g), n in register.items():
        in_region[region] = in_region.get(region, 0) + n
    cells = sorted(c for c, n in register.items() if n > 0 and populations.get(c[0], 0) > 0)
    population = {c: populations[c[0]] * register[c] / in_region[c[0]] for c in cells}
    weight = {c: population[c] * rates.factor(c) for c in cells}
    caps = {c: available.get(c, 0) for c in cells}
    if total and per_region is None and not cells:
        raise AllocationError("the register extract has nobody in the assembly's regions: import it first")
    if per_region is None:
        letters = allocate(total or 0, weight, caps) if total else {c: 0 for c in cells}
    else:
        letters = {c: 0 for c in cells}
        for region, n in per_region.items():
            mine = [c for c in cells if c[0] == region]
            if n:
                letters.update(allocate(n, {c: weight[c] for c in mine}, {c: caps[c] for c in mine}))
    return [Stratum(c, population[c], caps[c], rates.rate(c), rates.factor(c), letters.get(c, 0)) for c in cells]


def letters_per_region(plan: Sequence[Stratum]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in plan:
        out[s.cell[0]] = out.get(s.cell[0], 0) + s.letters
    return out


@dataclass(frozen=True)
class Margin:
    """One value of one dimension, summed over the strata: what the invitation page shows."""

    dimension: str
    value: str
    population: float
    letters: int
    expected: float

    @property
    def rate(self) -> float:
        return self.expected / self.letters if self.letters else 0.0


def margins(plan: Sequence[Stratum]) -> dict[str, list[Margin]]:
    """Per dimension the extract has (region always; age band and gender where any stratum has
    one): population, letters and the expected pool per value, in value order."""
    out: dict[str, list[Margin]] = {}
    for i, dim in enumerate(DIMENSIONS):
        sums: dict[str, list[float]] = {}
        for s in plan:
            acc = sums.setdefault(s.cell[i], [0.0, 0, 0.0])
            acc[0] += s.population
            acc[1] += s.letters
            acc[2] += s.expected
        if dim == "region" or any(v for v in sums):
            out[dim] = [Margin(dim, v, p, int(n), e) for v, (p, n, e) in sorted(sums.items())]
    return out


def plan_json(plan: Sequence[Stratum], rates: ReplyRates) -> dict:
    """The sample's computation as stored with its batch."""
    return {"rates": rates.as_json(),
            "strata": [{"region": s.cell[0], "age_band": s.cell[1], "gender": s.cell[2], "letters": s.letters,
                        "factor": round(s.factor, 4), "rate": round(s.rate, 5),
                        "expected": round(s.expected, 2)} for s in plan if s.letters]}


def draw_sample(candidates: Mapping[Cell, Sequence[int]], allocation: Mapping[Cell, int], seed: int) -> list[int]:
    """A simple random sample without replacement within each stratum (strata in sorted order;
    the same seed and register give the same sample)."""
    rng = random.Random(seed)
    chosen: list[int] = []
    for cell in sorted(allocation):
        if allocation[cell]:
            pool = sorted(candidates.get(cell, ()))
            chosen.extend(rng.sample(pool, allocation[cell]))
    return chosen


def percent(rate: float) -> str:
    """A rate as staff type and read it: 2.5 (per cent), at most three decimals."""
    return f"{rate * 100:.3f}".rstrip("0").rstrip(".")


def read_percent(text: str) -> float | None:
    """'2,5' or '2.5' or '2,5 %' (per cent) as a share, None if it is no rate from 0.1 to 100 %."""
    text = (text or "").strip().removesuffix("%").strip().replace(",", ".")
    try:
        x = float(text)
    except ValueError:
        return None
    if not math.isfinite(x) or not MIN_RATE * 100 <= x <= MAX_RATE * 100:
        return None
    return round(x / 100, 6)


def rate_rows(rates: ReplyRates, register: Mapping[Cell, int]) -> list[tuple[str, str, float | None]]:
    """The reply-rate form's rows: every value of every dimension that the extract has or that has
    a rate, as (dimension, value, its rate or None), in dimension and value order."""
    rows = []
    for i, dim in enumerate(DIMENSIONS):
        values = {c[i] for c, n in register.items() if n and c[i]} | set(rates.by.get(dim, {}))
        rows.extend((dim, value, rates.by.get(dim, {}).get(value)) for value in sorted(values))
    return rows


def read_rate_form(form: Mapping[str, str], rows: int) -> tuple[dict, list[tuple[str, str, dict]]]:
    """The rates the staff's form gives (`expected`, and rows `dim_i`, `value_i`, `rate_i` in per
    cent; an empty rate means "as overall") and its problems as (field, kind, values)."""
    problems: list[tuple[str, str, dict]] = []
    expected = read_percent(form.get("expected", ""))
    if expected is None:
        problems.append(("expected", "rate", {}))
    out: dict = {"expected": expected or DEFAULT_RATE}
    for i in range(min(rows, 3 * MAX_RATE_VALUES)):
        dim, value, raw = (str(form.get(f"{k}_{i}", "")).strip() for k in ("dim", "value", "rate"))
        if dim not in DIMENSIONS or not STRATUM_VALUE.match(value) or not raw:
            continue
        rate = read_percent(raw)
        if rate is None:
            problems.append((f"rate_{i}", "rate", {}))
            continue
        out.setdefault(dim, {})[value] = rate
    return out, problems
