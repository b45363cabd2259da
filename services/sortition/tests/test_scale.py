"""The engine on pools of the national shape (domain/synth.py: 10 categories, nearly one feature
profile per volunteer), kept small so that they run in seconds: it ends every feasible pool with
an exact answer, says what it is doing during the relaxation, backs off its tolerances when a
stage's LP fails, falls back to the exact column generation when even that fails, and names the
conflicting quotas of an infeasible pool.  Timings at scale: benchmarks/sortition/scale.py."""

from __future__ import annotations

import numpy as np
import pytest

from services.sortition.domain import SortitionInputError, build_instance, select
from services.sortition.domain.leximin import leximin_types
from services.sortition.domain.relaxation import relaxed_leximin
from services.sortition.domain.synth import synth_pool


def national(n: int = 300, k: int = 10, band: int = 3, categories: int = 10, **kw):
    people, quotas, k = synth_pool(n, k, categories=categories, seed=5, band=band)
    for q in quotas:
        q.update(kw.get(q["category"], {}).get(q["value"], {}))
    return build_instance(people, quotas, k)


def test_the_synthetic_pool_has_the_national_shape():
    inst = national()
    assert len(inst.categories) == 10 and inst.n == 300
    assert inst.n_types > 0.9 * inst.n  # nearly every volunteer a profile of their own
    people, quotas, _ = synth_pool(300, 10, categories=10, seed=5, band=3)
    assert synth_pool(300, 10, categories=10, seed=5, band=3) == (people, quotas, 10)  # seeded


def test_a_many_profile_pool_ends_exact_with_progress_during_the_relaxation():
    inst = national()
    heard: list[tuple[str, float]] = []
    res = select(inst, "leximin", progress=lambda msg, frac: heard.append((msg, frac)))
    assert res.all_panels_valid()
    # the relaxed leximin minimum is an upper bound; reaching it proves the answer exact
    assert res.min_probability >= res.stats["levels"][0] - 1e-7
    levels = [(m, f) for m, f in heard if m.startswith("relaxation: level")]
    assert len(levels) == res.stats["stages"] >= 1
    assert [f for _, f in levels] == sorted(f for _, f in levels) and levels[-1][1] <= 0.05
    assert levels[-1][0].endswith(f"{inst.n_types}/{inst.n_types} types fixed")


def test_a_stage_whose_lp_fails_backs_off_the_fixed_levels_and_solves_again():
    inst = national(n=200, k=10, band=1, categories=6)  # three levels
    pi, levels = relaxed_leximin(inst)
    stats: dict = {}
    heard: list[str] = []
    # a negative first slack makes the second stage infeasible for sure: the first level's types
    # would have to exceed the maximin, which the first stage's duals prove impossible
    assert len(levels) == 3
    pi2, levels2 = relaxed_leximin(inst, slacks=(-1e-3, 1e-9), stats=stats,
                                   progress=lambda msg, frac: heard.append(msg))
    assert stats == {"relaxation_backoffs": 1, "relaxation_slack": 1e-9}
    assert any("relaxing the" in m and "solving again" in m for m in heard), heard
    assert np.abs(pi2 - pi).max() < 1e-7 and np.allclose(levels2, levels, atol=1e-7)


def test_a_relaxation_that_fails_even_backed_off_falls_back_to_the_exact_path():
    inst = national(n=200, k=10, band=1, categories=6)
    ref = leximin_types(inst)
    heard: list[str] = []
    dist = leximin_types(inst, relax_slacks=(-1e-3,), progress=lambda msg, frac: heard.append(msg))
    assert dist.stats["method"].startswith("column generation (relaxation: relaxed LP at level 2")
    assert any("exact column generation" in m for m in heard)
    assert all(inst.check_type_panel(x) for x in dist.panels)
    assert np.abs(dist.type_probabilities(inst) - ref.type_probabilities(inst)).max() < 1e-6


def test_an_infeasible_pool_of_this_shape_names_the_conflicting_quotas():
    # the panel would have to be all over 75 and all without education: too few such volunteers
    only = {"min": 10, "max": 10}
    none = {"min": 0, "max": 0}
    inst = national(age={"16-29": none, "30-44": none, "45-59": none, "60-74": none, "75+": only},
                    education={"none": only, "level1": none, "level2_3": none, "level4+": none})
    with pytest.raises(SortitionInputError, match=r"no panel of 10 meets all quotas together; "
                                                  r"the conflicting categories are .*(age|education)"):
        select(inst, "leximin")


# ---- output: count the concrete panels first, stream them (issue 17: 2) ----------------------


def _result():
    people, quotas, k = synth_pool(400, 20, categories=3, seed=5, band=1)  # few profiles, many members each
    inst = build_instance(people, quotas, k)
    return inst, select(inst, "leximin")


def test_concrete_panels_are_counted_exactly_before_any_is_built(monkeypatch):
    from services.sortition.domain import expand

    inst, res = _result()
    built = list(expand.iter_concrete_panels(inst, res.distribution))
    n = expand.count_concrete_panels(inst, res.distribution)
    assert n == len(built) == len({tuple(m) for m, _ in built}) > len(res.distribution.probs)
    marg = np.zeros(inst.n)
    for members, p in built:
        marg[members] += p
        assert not inst.check_panel(members)
    assert np.abs(marg - res.probabilities).max() < 1e-9  # every volunteer's marginal, exactly
    first = expand._panel_count(expand._denominators(inst, res.distribution.panels[0])[1])
    assert expand.count_concrete_panels(inst, res.distribution, limit=0) == first  # stops past the limit

    def build(*a):
        raise AssertionError("built panels that would be thrown away")

    monkeypatch.setattr(expand, "iter_concrete_panels", build)
    assert expand.concrete_panels(inst, res.distribution, max_panels=n - 1) is None
    d = res.to_dict(max_panels=n - 1)
    assert d["panels"] is None and "more than" in d["panels_note"]


def test_the_streamed_json_is_the_result():
    import io
    import json

    inst, res = _result()
    for cap in (None, 2):
        buf = io.StringIO()
        res.write_json(buf, max_panels=cap)
        assert json.loads(buf.getvalue()) == json.loads(json.dumps(res.to_dict(max_panels=cap)))
    assert len(json.loads(buf.getvalue())["type_panel_list"]) == len(res.distribution.probs)


def test_the_types_left_at_probability_one_are_fixed_in_one_stage():
    """Once the level reaches 1 every type left is at 1: one stage fixes them all (the national
    shape left 157 such types, fixed one per stage before)."""
    people = [{"id": f"x{i}", "a": "x", "b": str(i)} for i in range(4)]  # all four must be on the panel
    people += [{"id": f"y{i}", "a": "y", "b": str(i % 4)} for i in range(26)]
    quotas = [{"category": "a", "value": "x", "min": 4, "max": 4}, {"category": "a", "value": "y", "min": 4, "max": 4}]
    quotas += [{"category": "b", "value": str(v), "min": 0, "max": 8} for v in range(4)]
    inst = build_instance(people, quotas, 8)
    pi, levels = relaxed_leximin(inst)
    assert levels[-1] == pytest.approx(1.0) and sum(v > 1 - 1e-9 for v in levels) == 1
    assert np.allclose(pi[inst.type_of[:4]], 1.0)
    ref = leximin_types(inst, method="cg").type_probabilities(inst)
    assert np.abs(leximin_types(inst).type_probabilities(inst) - ref).max() < 1e-6


def test_the_walk_steps_around_tiny_remainders():
    """The walk's panel prefers types whose remainder lets the step go far (facewalk._step_cost):
    on a 10-category pool (199 profiles, 6 leximin levels close together) the objective of the
    fractional parts takes types whose remainder is nearly used up, so its steps are short, and it
    gets stuck with 2 % of the weight left for the column generation; the step-length objective
    (the default) walks to the end in fewer steps, and its panels reach the target."""
    from services.sortition.domain.facewalk import _step_cost, decompose_walk, face_walk

    # a remainder of 3e-5 costs far more than one at the lowest level (0.0056), which costs more
    # than one at 0.5; rounding a type down costs it nothing while its remainder is small
    x = np.array([3e-5, 0.0056, 0.5, 2.9])
    cost = _step_cost(x, np.floor(x), np.array([1, 1, 1, 3]), np.ones(4, dtype=bool))
    assert cost[0] < 100 * cost[1] < 0 and cost[1] < cost[2] and cost[3] > cost[1]
    people, quotas, k = synth_pool(200, 10, categories=10)
    inst = build_instance(people, quotas, k)
    pi, _, point = relaxed_leximin(inst, with_point=True)
    old = face_walk(inst, point, objective="fraction")
    new = face_walk(inst, point)
    assert old.mass > 1e-3 and new.mass < 1e-7  # the old objective needs the fallback here
    assert new.steps < 0.8 * old.steps
    panels, probs, stats = decompose_walk(inst, pi, point)
    assert "fallback" not in stats and stats["max_shortfall"] <= 5e-8
    got = (probs @ panels) / inst.type_counts
    assert np.abs(got - pi).max() < 1e-6 and probs.sum() == pytest.approx(1.0)
    assert all(inst.check_type_panel(p) for p in panels)


def test_the_lp_vertex_over_a_working_set_is_the_optimum_over_all_types():
    """facewalk._FaceLP solves over the types whose reduced costs are nearest zero, the others held
    at a bound, and releases every held type whose reduced cost turns against its bound: the
    optimum is that of the LP over all types (the national pools use 3,000 of 29,067 types; here
    40 of 199)."""
    from services.sortition.domain import facewalk

    people, quotas, k = synth_pool(200, 10, categories=10)
    inst = build_instance(people, quotas, k)
    pi, _, point = relaxed_leximin(inst, with_point=True)
    c = inst.type_counts.astype(np.float64)
    full, small = facewalk._FaceLP(inst), facewalk._FaceLP(inst, working=40)
    rng = np.random.default_rng(7)
    lo, hi = np.zeros(inst.n_types), c.copy()
    for _ in range(8):
        x = np.clip(point * rng.uniform(0.2, 3.0, inst.n_types), 0.0, c)
        cost = facewalk._step_cost(x, np.floor(x), c, np.ones(inst.n_types, dtype=bool))
        a, b = full.vertex(cost, lo, hi), small.vertex(cost, lo, hi)
        assert cost @ b == pytest.approx(cost @ a, rel=1e-9, abs=1e-6)
        assert np.all(b >= lo - 1e-9) and np.all(b <= hi + 1e-9) and abs(b.sum() - k) < 1e-6
    assert small.released > 0 and small.solves > full.solves  # types were held and released
