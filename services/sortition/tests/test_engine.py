"""Unit tests of the pure selection engine (sync; small instances; seeds fixed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from services.sortition.domain import (
    Contribution,
    Quota,
    SortitionInputError,
    VerificationError,
    build_instance,
    commitment,
    final_draw,
    make_lottery,
    replace_members,
    select,
    verify_transcript,
)
from services.sortition.domain.draw import HashPRNG
from services.sortition.domain.io_formats import parse_peer_format, parse_replication

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sortition"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared/data/sortition not present")


def load(name: str, k: int):
    return parse_replication((DATA / name / "categories.csv").read_text(),
                             (DATA / name / "respondents.csv").read_text(), k)


def small_pool(seed: int = 7, n: int = 60):
    """A skewed pool with gender, age and region (per-region quotas are a category)."""
    rng = np.random.default_rng(seed)
    people = []
    for i in range(n):
        people.append({
            "id": f"p{i}",
            "gender": ["f", "m"][int(rng.random() < 0.35)],
            "age": ["young", "mid", "old"][int(rng.choice(3, p=[0.15, 0.35, 0.5]))],
            "region": ["north", "south"][int(rng.random() < 0.3)],
        })
    quotas = [
        Quota("gender", "f", 4, 6), Quota("gender", "m", 4, 6),
        Quota("age", "young", 2, 4), Quota("age", "mid", 3, 4), Quota("age", "old", 3, 4),
        Quota("region", "north", 5, 6), Quota("region", "south", 4, 5),
    ]
    return people, quotas, 10


# ---------------------------------------------------------------- input and errors
def test_in_memory_instance_collapses_types():
    people, quotas, k = small_pool()
    inst = build_instance(people, quotas, k)
    assert inst.n == 60
    assert inst.type_counts.sum() == 60
    assert inst.n_types <= 12


def test_unknown_feature_value():
    people, quotas, k = small_pool()
    people[3]["age"] = "ancient"
    with pytest.raises(SortitionInputError, match=r"row 4 \(id p3\): value 'ancient' of category 'age'"):
        build_instance(people, quotas, k)


def test_duplicate_ids():
    people, quotas, k = small_pool()
    people[5]["id"] = "p1"
    with pytest.raises(SortitionInputError, match="duplicate id 'p1'.*rows 2 and 6"):
        build_instance(people, quotas, k)


def test_k_outside_quota_sums():
    people, quotas, _ = small_pool()
    with pytest.raises(SortitionInputError, match=r"category 'gender': the maximums sum to 12, less than the panel size 14 \(by 2\)"):
        build_instance(people, quotas, 14)
    with pytest.raises(SortitionInputError, match=r"minimums sum to 8, more than the panel size 7 \(by 1\)"):
        build_instance(people, quotas, 7)


def test_min_above_max_and_short_pool():
    people, quotas, k = small_pool()
    bad = quotas[:-1] + [Quota("region", "south", 6, 5)]
    with pytest.raises(SortitionInputError, match="min 6 is larger than max 5"):
        build_instance(people, bad, k)
    few = [p for p in people if p["age"] != "young"][:40] + [dict(people[0], id="y1", age="young")]
    with pytest.raises(SortitionInputError, match=r"age=young needs at least 2 but only 1 volunteers have it \(short by 1\)"):
        build_instance(few, quotas, k)


def test_infeasible_quotas_names_conflicting_categories():
    # every woman is young: gender f >= 4 but age young <= 1 cannot both hold
    people = [{"id": str(i), "gender": "f" if i < 10 else "m", "age": "young" if i < 10 else "old"}
              for i in range(30)]
    quotas = [Quota("gender", "f", 4, 6), Quota("gender", "m", 4, 6),
              Quota("age", "young", 0, 1), Quota("age", "old", 0, 10)]
    inst = build_instance(people, quotas, 10)
    with pytest.raises(SortitionInputError, match=r"conflicting categories are .*(age|gender).*by 3"):
        select(inst, "leximin")


def test_peer_format_with_addresses_and_flex():
    feats = "feature,value,min,max,min_flex,max_flex\ng,a,1,2,0,3\ng,b,1,2,0,3\n"
    ppl = "pid,name,g,street\nx1,A,a,Elm 1\nx2,B,a,elm  1\nx3,C,b,Oak 2\nx4,D,b,Ash 3\n"
    inst = parse_peer_format(feats, ppl, 3, address_columns=["street"])
    assert [p.id for p in inst.people] == ["x1", "x2", "x3", "x4"]
    assert inst.people[0].household == inst.people[1].household
    assert inst.quotas[0].max_flex == 3
    res = select(inst, "leximin")
    for members, _ in res.panels():
        assert not ({0, 1} <= set(members)), "household members together"
        assert inst.check_panel(members) == []
    assert res.probabilities.sum() == pytest.approx(3)
    assert res.probabilities[0] == pytest.approx(0.5, abs=1e-6)


def test_missing_column_message():
    with pytest.raises(SortitionInputError, match="respondents.csv: no column for category age"):
        parse_replication("category,feature,min,max\nage,a,0,1\n", "gender\nf\n", 1)


# ---------------------------------------------------------------- algorithms
def test_leximin_known_answer():
    people = [{"id": "solo", "g": "a"}] + [{"id": f"b{i}", "g": "b"} for i in range(4)]
    inst = build_instance(people, [Quota("g", "a", 1, 1), Quota("g", "b", 2, 2)], 3)
    res = select(inst, "leximin")
    assert res.probabilities.tolist() == pytest.approx([1.0, 0.5, 0.5, 0.5, 0.5], abs=1e-7)


def test_leximin_small_pool_properties():
    people, quotas, k = small_pool()
    inst = build_instance(people, quotas, k)
    res = select(inst, "leximin")
    p = res.probabilities
    assert p.sum() == pytest.approx(k, abs=1e-6)
    assert res.all_panels_valid()
    panels = res.panels()
    assert sum(pr for _, pr in panels) == pytest.approx(1.0)
    marg = np.zeros(inst.n)
    for members, pr in panels:
        assert inst.check_panel(members) == []
        marg[members] += pr
    assert np.abs(marg - p).max() < 1e-9
    # identical features -> identical probability
    for members in inst.type_members:
        assert np.ptp(p[members]) < 1e-12
    # leximin's minimum is at least maximin's and legacy's
    mm = select(inst, "maximin")
    assert res.min_probability >= mm.min_probability - 1e-7
    assert mm.min_probability >= res.min_probability - 1e-7
    lg = select(inst, "legacy", legacy_samples=200, seed=1)
    assert lg.all_panels_valid()
    assert lg.min_probability <= res.min_probability + 1e-9
    nash = select(inst, "nash")
    assert nash.all_panels_valid()
    assert nash.geometric_mean >= res.geometric_mean - 1e-3


def test_leximin_relaxation_matches_column_generation():
    """The fast path (relaxed leximin + decomposition) and the stage-wise column generation
    agree on the leximin vector; every panel meets every quota."""
    from services.sortition.domain.leximin import leximin_types

    people, quotas, k = small_pool(seed=11, n=80)
    inst = build_instance(people, quotas, k)
    fast = leximin_types(inst)
    cg = leximin_types(inst, method="cg")
    assert fast.stats["method"] == "relaxation + face walk"
    pf, pc = fast.type_probabilities(inst), cg.type_probabilities(inst)
    assert np.abs(np.sort(pf) - np.sort(pc)).max() < 1e-6
    assert np.abs(pf - pc).max() < 1e-6
    assert all(inst.check_type_panel(x) for x in fast.panels)
    assert fast.probs.sum() == pytest.approx(1.0)


def test_leximin_falls_back_when_relaxation_not_attainable(monkeypatch):
    from services.sortition.domain import facewalk, relaxation
    from services.sortition.domain.leximin import leximin_types

    people, quotas, k = small_pool()
    inst = build_instance(people, quotas, k)
    ref = leximin_types(inst).type_probabilities(inst)

    def refuse(*a, **kw):
        raise relaxation.NotAttainable("test")

    monkeypatch.setattr(facewalk, "decompose_walk", refuse)
    dist = leximin_types(inst)
    assert dist.stats["method"].startswith("column generation")
    assert np.abs(dist.type_probabilities(inst) - ref).max() < 1e-6
    assert all(inst.check_type_panel(x) for x in dist.panels)


def _walk_instances():
    for seed, n in [(7, 60), (11, 80), (3, 120)]:
        people, quotas, k = small_pool(seed=seed, n=n)
        yield build_instance(people, quotas, k)
    rng = np.random.default_rng(5)
    people = [{"id": f"v{i}", "a": str(int(rng.integers(3))), "b": str(int(rng.integers(2))),
               "c": str(int(rng.integers(4)))} for i in range(300)]
    quotas = ([Quota("a", str(v), 3, 6) for v in range(3)] + [Quota("b", str(v), 6, 9) for v in range(2)]
              + [Quota("c", str(v), 2, 5) for v in range(4)])
    yield build_instance(people, quotas, 15)


def test_face_walk_reproduces_the_target():
    """The walk over faces writes the relaxed leximin point as a convex combination of panels
    on its face: weights sum to 1, the mixture is the target, every panel meets every quota."""
    from services.sortition.domain.facewalk import face_walk
    from services.sortition.domain.relaxation import relaxed_leximin

    for inst in _walk_instances():
        pi, _, point = relaxed_leximin(inst, with_point=True)
        c = inst.type_counts
        assert (pi - point / c).max() <= 2e-9 and (point / c - pi).max() <= 1e-6  # the band
        g = inst.quota_matrix @ point  # ... and a point of Q, unlike c * pi
        assert point.sum() == pytest.approx(inst.k, abs=1e-9)
        assert (g >= inst.quota_lo - 1e-9).all() and (g <= inst.quota_hi + 1e-9).all()
        walk = face_walk(inst, point)
        # a face without an integer point may stop the walk, but only with a negligible rest
        assert walk.mass < 1e-6 and (walk.stuck is None) == (walk.mass == 0.0)
        P = np.array(walk.panels)
        w = np.array(walk.weights)
        assert w.min() > 0 and w.sum() + walk.mass == pytest.approx(1.0, abs=1e-12)
        assert np.abs(w @ P + walk.mass * walk.rest - point).max() < 1e-9
        assert np.abs(w @ P / w.sum() - point).max() < 1e-5
        assert all(inst.check_type_panel(x) for x in P)
        assert not P[:, point <= 1e-9].any()  # types at 0 stay at 0 (the face)
        assert walk.steps <= inst.n_types + len(inst.quotas) + 1


def test_face_walk_fallback_to_column_generation(monkeypatch):
    """A walk stopped early leaves a remainder that column generation decomposes; when that
    fails, column generation over the whole target (seeded with the walk's panels) runs.
    Either way the result reaches pi and every panel is valid."""
    from services.sortition.domain import facewalk
    from services.sortition.domain.relaxation import ABS_ACCEPT, NotAttainable, decompose, relaxed_leximin

    people, quotas, k = small_pool(seed=11, n=80)
    inst = build_instance(people, quotas, k)
    pi, _, point = relaxed_leximin(inst, with_point=True)
    panels, probs, stats = facewalk.decompose_walk(inst, pi, point, max_steps=3)
    assert stats["fallback"] == "column generation for the remainder"
    assert stats["walk_steps"] == 3 and stats["walk_rest_mass"] > 0.01
    assert probs.sum() == pytest.approx(1.0) and all(inst.check_type_panel(x) for x in panels)
    assert np.max(pi - probs @ panels / inst.type_counts) <= ABS_ACCEPT

    calls = []

    def first_refuses(inst_, pi_, **kw):
        calls.append(kw.get("initial"))
        if len(calls) == 1:
            raise NotAttainable("test")
        return decompose(inst_, pi_, **kw)

    monkeypatch.setattr(facewalk, "decompose", first_refuses)
    panels, probs, stats = facewalk.decompose_walk(inst, pi, point, max_steps=3)
    assert stats["fallback"] == "column generation for the whole target"
    assert len(calls) == 2 and len(calls[1]) == 3  # seeded with the walk's panels
    assert probs.sum() == pytest.approx(1.0) and all(inst.check_type_panel(x) for x in panels)
    assert np.max(pi - probs @ panels / inst.type_counts) <= ABS_ACCEPT


def test_face_walk_with_households_agrees_with_column_generation():
    """Shared households (<= 1 rows) make faces without integer points more likely: whatever
    path the decomposition takes (walk alone, or a column-generation fallback), it reaches the
    stage-wise column generation's vector."""
    from services.sortition.domain.leximin import leximin_types

    for seed in range(3):
        people, quotas, k = small_pool(seed=seed, n=80)
        for i, p in enumerate(people):
            p["hh"] = f"h{i // 2}" if i < 30 else ""
        inst = build_instance(people, quotas, k, household_key="hh")
        assert inst.households
        fast, cg = leximin_types(inst), leximin_types(inst, method="cg")
        assert fast.stats["method"].startswith("relaxation + face walk")
        assert np.abs(fast.type_probabilities(inst) - cg.type_probabilities(inst)).max() < 1e-6
        assert all(inst.check_type_panel(x) for x in fast.panels)


def test_identical_volunteers_get_identical_probabilities():
    rng = np.random.default_rng(5)
    people = [{"id": f"v{i}", "a": str(int(rng.integers(3))), "b": str(int(rng.integers(2))),
               "c": str(int(rng.integers(4)))} for i in range(300)]
    quotas = ([Quota("a", str(v), 3, 6) for v in range(3)] + [Quota("b", str(v), 6, 9) for v in range(2)]
              + [Quota("c", str(v), 2, 5) for v in range(4)])
    inst = build_instance(people, quotas, 15)
    assert inst.n_types < inst.n
    res = select(inst, "leximin")
    p = res.probabilities
    assert res.all_panels_valid()
    assert p.sum() == pytest.approx(15, abs=1e-6)
    for members in inst.type_members:
        assert np.ptp(p[members]) == 0.0


@needs_data
def test_leximin_example_small_20():
    inst = load("example_small_20", 20)
    res = select(inst, "leximin")
    assert res.min_probability == pytest.approx(0.10, abs=1e-4)
    assert res.max_probability == pytest.approx(0.10, abs=1e-4)
    assert res.all_panels_valid()


@needs_data
def test_leximin_scotland():
    inst = load("scotland_150_22", 22)
    res = select(inst, "leximin")
    assert res.min_probability >= 0.09091 - 1e-4
    assert res.min_probability == pytest.approx(0.09091, abs=1e-4)
    assert res.max_probability == pytest.approx(0.47092, abs=1e-3)
    assert res.gini == pytest.approx(0.14035, abs=1e-3)
    assert res.probabilities.sum() == pytest.approx(22, abs=1e-6)
    assert res.all_panels_valid()
    d = res.to_dict()
    for key in ("algorithm", "n", "k", "probabilities", "min_probability", "max_probability", "gini",
                "panels", "seconds"):
        assert key in d
    assert all(p["meets_quotas"] for p in d["panels"])


# ---------------------------------------------------------------- lottery and draw
def _drawn(m: int = 200):
    people, quotas, k = small_pool()
    inst = build_instance(people, quotas, k)
    res = select(inst, "leximin")
    lot = make_lottery(inst, res.distribution, m)
    contribs = [Contribution("alice", commitment("s1"), "s1"), Contribution("bob", commitment("s2"), "s2")]
    t = final_draw(inst, res, contribs, beacon="round-42", lottery=lot, n_reserves=4)
    return people, quotas, k, inst, res, lot, t


def test_lottery_rounding_bound():
    _, _, _, inst, res, lot, _ = _drawn(200)
    assert lot.m == 200
    assert all(inst.check_panel(p) == [] for p in lot.panels)
    actual = np.abs(lot.probabilities(inst.n) - res.probabilities).max()
    assert lot.max_deviation == pytest.approx(actual)
    # floor/ceil tickets: each panel moves < 1/m; the round robin adds < 1/m per volunteer
    assert lot.max_deviation <= (len(res.distribution.probs) + 1) / lot.m
    assert lot.max_deviation < 2.0 / lot.m


def test_prng_known_answer_and_uniformity():
    seed = "00" * 32
    expect = int.from_bytes(hashlib.sha256(bytes(32) + (0).to_bytes(8, "big")).digest()[:8], "big")
    assert HashPRNG(seed).u64() == expect
    g = HashPRNG(seed)
    counts = np.bincount([g.randbelow(5) for _ in range(5000)], minlength=5)
    assert counts.min() > 900


def test_draw_verifies_and_detects_alterations():
    people, quotas, k, inst, res, lot, t = _drawn()
    assert verify_transcript(json.loads(json.dumps(t)), inst)["ok"]
    # replay is deterministic
    t2 = final_draw(inst, res, [Contribution("alice", commitment("s1"), "s1"),
                                Contribution("bob", commitment("s2"), "s2")],
                    beacon="round-42", lottery=lot, n_reserves=4)
    assert t2["selected"] == t["selected"] and t2["seed"] == t["seed"] and t2["reserves"] == t["reserves"]
    sel = {p.id for p in inst.people} & set(t["reserves"])
    assert not sel & set(t["selected"])

    altered = [dict(p) for p in people]
    altered[0]["age"] = "young" if altered[0]["age"] != "young" else "old"
    with pytest.raises(VerificationError, match="pool"):
        verify_transcript(t, build_instance(altered, quotas, k))
    q2 = quotas[:-1] + [Quota("region", "south", 4, 6)]
    with pytest.raises(VerificationError, match="quotas"):
        verify_transcript(t, build_instance(people, q2, k))
    bad = json.loads(json.dumps(t))
    bad["contributions"][1]["value"] = "s3"
    with pytest.raises(VerificationError, match="contribution 'bob' does not match its commitment"):
        verify_transcript(bad, inst)
    bad = json.loads(json.dumps(t))
    bad["beacon"] = "round-43"
    with pytest.raises(VerificationError, match="seed"):
        verify_transcript(bad, inst)
    bad = json.loads(json.dumps(t))
    bad["selected"] = bad["lottery"]["panels"][(bad["selected_index"] + 1) % lot.m]
    bad["selected_index"] = (bad["selected_index"] + 1) % lot.m
    with pytest.raises(VerificationError, match="selected panel differs"):
        verify_transcript(bad, inst)


def test_draw_rejects_wrong_commitment():
    people, quotas, k = small_pool()
    inst = build_instance(people, quotas, k)
    res = select(inst, "leximin")
    lot = make_lottery(inst, res.distribution, 50)
    with pytest.raises(SortitionInputError, match="'carol' does not match its commitment"):
        final_draw(inst, res, [Contribution("carol", commitment("x"), "y")], lottery=lot)


def test_replacement_keeps_quotas():
    _, _, _, inst, _, _, t = _drawn(100)
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    chosen = {index_of[i] for i in t["selected"]}
    # drop members whose type still has enough volunteers outside the panel (so a completion
    # with the same types exists)
    outside = {}
    for t_ in range(inst.n_types):
        outside[t_] = sum(1 for j in inst.type_members[t_] if j not in chosen)
    dropped = []
    for i in t["selected"]:
        ty = inst.type_of[index_of[i]]
        if outside[ty] > 0 and len(dropped) < 3:
            outside[ty] -= 1
            dropped.append(i)
    assert dropped
    rep = replace_members(inst, t["selected"], dropped, seed_hex=t["seed"], m=100)
    assert len(rep.panel) == inst.k and len(rep.added) == len(dropped)
    assert not set(rep.added) & set(t["selected"])
    assert set(t["selected"]) - set(dropped) <= set(rep.panel)
    assert inst.check_panel([index_of[i] for i in rep.panel]) == []
    assert sum(rep.probabilities.values()) == pytest.approx(len(dropped), abs=1e-6)
    again = replace_members(inst, t["selected"], dropped, seed_hex=t["seed"], m=100)
    assert again.added == rep.added
    # from the reserve list only: a valid completion or a clear error
    try:
        rep2 = replace_members(inst, t["selected"], dropped[:1], seed_hex=t["seed"],
                               candidates=t["reserves"], m=50)
    except SortitionInputError as exc:
        assert "cannot complete the panel" in str(exc)
    else:
        assert set(rep2.added) <= set(t["reserves"])
        assert inst.check_panel([index_of[i] for i in rep2.panel]) == []


def test_cli_select_and_errors(tmp_path):
    from typer.testing import CliRunner

    from services.sortition.cli import app

    cats = tmp_path / "categories.csv"
    resp = tmp_path / "respondents.csv"
    cats.write_text("category,feature,min,max\ng,a,1,2\ng,b,1,2\n")
    resp.write_text("g\na\na\nb\nb\nb\n")
    out = tmp_path / "out.json"
    r = CliRunner().invoke(app, ["select", "--categories", str(cats), "--respondents", str(resp),
                                 "--panel-size", "3", "--json", str(out), "-q"])
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["n"] == 5 and d["k"] == 3 and len(d["probabilities"]) == 5
    assert d["min_probability"] == pytest.approx(0.6, abs=1e-6)
    assert all(p["meets_quotas"] for p in d["panels"])
    resp.write_text("g\na\nz\n")
    r = CliRunner().invoke(app, ["select", "--categories", str(cats), "--respondents", str(resp),
                                 "--panel-size", "2", "--json", str(out)])
    assert r.exit_code == 2
    assert "Traceback" not in r.output
