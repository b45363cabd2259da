"""The invitation sample by stratum (region x the register's age band and gender) with oversampling
factors from expected reply rates: examples and seeded properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.recruitment.domain.allocation import AllocationError
from services.recruitment.domain.register import check_register_csv
from services.recruitment.domain.sample import (ReplyRates, draw_sample, letters_per_region, margins, plan_sample,
                                                rate_problems, read_percent, reply_rates)

POP = {"A": 6000, "B": 3000}
# The extract: A has twice as many young as old; B only old.
REGISTER = {("A", "18-29", "f"): 200, ("A", "18-29", "m"): 200, ("A", "60+", "f"): 100, ("A", "60+", "m"): 100,
            ("B", "60+", "f"): 150, ("B", "60+", "m"): 150}


def test_without_rates_the_letters_follow_the_population_as_before():
    plan = plan_sample(900, {"A": 6000, "B": 3000}, {("A", "", ""): 1000, ("B", "", ""): 1000},
                       {("A", "", ""): 1000, ("B", "", ""): 1000}, ReplyRates())
    assert letters_per_region(plan) == {"A": 600, "B": 300}
    assert all(s.factor == 1 for s in plan)


def test_strata_within_a_region_follow_the_extract_and_the_factors_oversample_low_repliers():
    flat = {s.cell: s.letters for s in plan_sample(900, POP, REGISTER, REGISTER, ReplyRates(0.03))}
    assert flat[("A", "18-29", "f")] == 200 and flat[("A", "60+", "f")] == 100 and flat[("B", "60+", "m")] == 150
    rates = ReplyRates(0.03, {"age_band": {"18-29": 0.015}})  # the young reply half as often
    plan = plan_sample(600, POP, REGISTER, REGISTER, rates)
    young, old = (next(s for s in plan if s.cell == ("A", band, "f")) for band in ("18-29", "60+"))
    assert young.factor == pytest.approx(2) and old.factor == pytest.approx(1)
    assert (young.letters, old.letters) == (185, 46)  # twice the population, twice the factor: 4 x (rounded)
    # the expected pool is proportional to the population again
    assert young.expected / young.population == pytest.approx(old.expected / old.population, rel=0.02)


def test_rates_combine_across_dimensions_and_stay_below_one():
    rates = ReplyRates(0.03, {"region": {"B": 0.06}, "gender": {"m": 0.015}})
    assert rates.rate(("B", "", "m")) == pytest.approx(0.03)
    assert rates.rate(("A", "", "f")) == pytest.approx(0.03)
    assert ReplyRates(0.5, {"region": {"B": 1.0}, "gender": {"f": 1.0}}).rate(("B", "", "f")) == 1.0


def test_a_stratum_short_of_people_gives_its_letters_to_the_others():
    available = {**REGISTER, ("B", "60+", "f"): 10}
    plan = plan_sample(700, POP, REGISTER, available, ReplyRates())
    by = {s.cell: s.letters for s in plan}
    assert by[("B", "60+", "f")] == 10 and sum(by.values()) == 700
    with pytest.raises(AllocationError, match="only"):
        plan_sample(2000, POP, REGISTER, REGISTER, ReplyRates())
    with pytest.raises(AllocationError, match="import it first"):
        plan_sample(5, POP, {}, {}, ReplyRates())


def test_a_targeted_wave_keeps_each_regions_letters_and_splits_them_by_factor():
    rates = ReplyRates(0.03, {"age_band": {"18-29": 0.015}})
    plan = plan_sample(None, POP, REGISTER, REGISTER, rates, per_region={"A": 50})
    assert letters_per_region(plan) == {"A": 50, "B": 0}
    by = {s.cell: s.letters for s in plan}
    assert by[("A", "18-29", "m")] == 20 and by[("A", "60+", "m")] == 5


def test_margins_show_each_dimension_the_extract_has():
    plan = plan_sample(600, POP, REGISTER, REGISTER, ReplyRates(0.03, {"age_band": {"18-29": 0.015}}))
    m = margins(plan)
    assert set(m) == {"region", "age_band", "gender"}
    young = next(x for x in m["age_band"] if x.value == "18-29")
    assert young.rate == pytest.approx(0.015)
    assert set(margins(plan_sample(10, POP, {("A", "", ""): 5, ("B", "", ""): 5}, {("A", "", ""): 5, ("B", "", ""): 5},
                                   ReplyRates()))) == {"region"}


def test_rates_as_stored_typed_and_checked():
    assert reply_rates({"expected": 0.05, "gender": {"f": 0.04, "m": "x"}, "shoe": {}}).as_json() == {
        "expected": 0.05, "gender": {"f": 0.04}}
    assert reply_rates(None).expected == 0.03 and reply_rates({"expected": 7}).expected == 0.03
    assert rate_problems({"expected": 0.03, "age_band": {"18-29": 0.02}}) == []
    assert [f for f, _p in rate_problems({"expected": 0, "shoe": {}, "gender": {"f": 2}})] == [
        "expected", "shoe", "gender.f"]
    assert read_percent("2,5") == 0.025 and read_percent("2.5 %") == 0.025 and read_percent("100") == 1.0
    assert read_percent("0") is None and read_percent("nan") is None and read_percent("x") is None


def test_the_extract_may_carry_age_band_and_gender():
    text = "person_id,name,address,region,age_band,gender\n1,Ada,Vej 1,A,18-29,female\n2,Bo,Vej 2,A,,\n3,Cy,Vej 3,A,a b,m\n"
    rows, problems = check_register_csv(text, {"A"})
    assert [(r["age_band"], r["gender"]) for r in rows] == [("18-29", "female"), (None, None)]
    assert [(p.kind, p.line, p.value) for p in problems] == [("bad_value", 4, "age_band")]


# ---- properties (seeded) ------------------------------------------------------------------------

cells = st.dictionaries(st.tuples(st.sampled_from("ABC"), st.sampled_from(["", "18-29", "30-59", "60+"]),
                                  st.sampled_from(["", "f", "m"])), st.integers(0, 60), min_size=1, max_size=20)
rate_maps = st.dictionaries(st.sampled_from(["A", "B", "18-29", "60+", "f", "m"]), st.floats(0.005, 0.5), max_size=4)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(register=cells, taken=st.integers(0, 30), total=st.integers(0, 400), rates=rate_maps, seed=st.integers(0, 2**32))
def test_the_sample_is_exact_capped_within_strata_and_reproducible(register, taken, total, rates, seed):
    available = {c: max(0, n - taken) for c, n in register.items()}
    by = {"region": {k: x for k, x in rates.items() if k in "ABC"},
          "age_band": {k: x for k, x in rates.items() if k[0].isdigit()},
          "gender": {k: x for k, x in rates.items() if k in ("f", "m")}}
    r = ReplyRates(0.03, by)
    pops = {"A": 5000, "B": 2000, "C": 100}
    possible = sum(n for c, n in available.items() if register[c] > 0)
    if total > possible:
        with pytest.raises(AllocationError):
            plan_sample(total, pops, register, available, r)
        return
    if total and possible == 0 and not any(register.values()):
        return
    plan = plan_sample(total, pops, register, available, r)
    assert sum(s.letters for s in plan) == total
    assert all(0 <= s.letters <= s.available for s in plan)
    ids, next_id = {}, 0
    for c, n in available.items():
        ids[c] = list(range(next_id, next_id + n))
        next_id += n
    alloc = {s.cell: s.letters for s in plan}
    chosen = draw_sample(ids, alloc, seed)
    assert chosen == draw_sample(ids, alloc, seed) and len(set(chosen)) == total
    for c, n in alloc.items():
        assert sum(1 for x in chosen if x in set(ids.get(c, ()))) == n


@settings(max_examples=100, derandomize=True, deadline=None)
@given(sizes=st.lists(st.integers(50, 500), min_size=2, max_size=6), factors=st.lists(st.floats(0.01, 0.2), min_size=6,
                                                                                      max_size=6))
def test_uncapped_the_expected_pool_follows_the_population(sizes, factors):
    """Oversampling undoes the expected reply differences: with room everywhere, every stratum's
    expected registrations per head of population are the same (up to rounding)."""
    bands = [f"b{i}" for i in range(len(sizes))]
    register = {("A", b, ""): n for b, n in zip(bands, sizes)}
    roomy = {c: 10**6 for c in register}
    rates = ReplyRates(0.03, {"age_band": dict(zip(bands, factors))})
    plan = plan_sample(20_000, {"A": 10**6}, register, roomy, rates)
    per_head = [s.expected / s.population for s in plan]
    assert max(per_head) - min(per_head) <= 2 * max(s.rate for s in plan) / min(s.population for s in plan) + 1e-9
