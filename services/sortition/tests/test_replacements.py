"""Unit tests: draws with volunteers excluded (withdrawn before the seed was known) and the chain
of replacement transcripts (each replays bit for bit; alterations are named)."""

from __future__ import annotations

import copy
import json

import pytest

from services.sortition.domain import (
    Contribution,
    SortitionInputError,
    VerificationError,
    build_instance,
    commitment,
    draw_replacement,
    eligible_instance,
    final_draw,
    fresh_randomness,
    make_lottery,
    replace_members,
    replacement_exclusions,
    select,
    verify_replacement,
    verify_replacements,
    verify_transcript,
)
from services.sortition.domain.draw import HashPRNG, draw_reserves, lottery_hash, seed_material
from services.sortition.domain.model import sha256_json
from services.sortition.tests.test_engine import small_pool

CONTRIBS = [Contribution("alice", commitment("s1"), "s1"), Contribution("bob", commitment("s2"), "s2")]


def _draw(excluded=(), m=100, n=80):
    people, quotas, k = small_pool(seed=5, n=n)
    inst = build_instance(people, quotas, k)
    elig = eligible_instance(inst, list(excluded))
    res = select(elig, "leximin")
    lot = make_lottery(elig, res.distribution, m)
    t = final_draw(elig, res, CONTRIBS, lottery=lot, n_reserves=5, excluded=list(excluded), frozen_pool=inst)
    return inst, json.loads(json.dumps(t))


def _replaceable(inst, panel, exclude=(), count=1):
    """Members whose type still has a volunteer off the panel (a completion exists)."""
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    off = [p for p in inst.people if p.id not in set(panel) | set(exclude) and p.household is None]
    out = []
    for x in panel:
        twin = next((o for o in off if o.features == inst.people[index_of[x]].features), None)
        if twin is not None and len(out) < count:
            out.append(x)
            off.remove(twin)
    assert len(out) == count
    return out


def test_excluded_volunteers_are_never_drawn_and_the_draw_replays():
    inst, _ = _draw()
    excluded = [p.id for p in inst.people[:6]]
    inst, t = _draw(excluded)
    assert t["transcript_version"] == 2 and [e["id"] for e in t["excluded"]] == sorted(excluded)
    assert t["pool_hash"] == inst.pool_hash() and t["n"] == inst.n  # the whole frozen pool's hash
    drawn = {x for p in t["lottery"]["panels"] for x in p} | set(t["reserves"])
    assert not drawn & set(excluded)
    assert verify_transcript(t, inst)["excluded"] == 6
    # the exclusion list is part of the seed: dropping an entry is named
    bad = copy.deepcopy(t)
    bad["excluded"] = bad["excluded"][1:]
    with pytest.raises(VerificationError, match="seed does not follow"):
        verify_transcript(bad, inst)
    bad = copy.deepcopy(t)
    bad["excluded"][0]["id"] = "nobody"
    with pytest.raises(VerificationError, match="not sorted|not in the pool"):
        verify_transcript(bad, inst)
    # a lottery panel with an excluded volunteer is named
    bad = copy.deepcopy(t)
    bad["excluded"] = sorted(bad["excluded"] + [{"id": t["selected"][0], "reason": "withdrawn"}],
                             key=lambda e: e["id"])
    with pytest.raises(VerificationError, match=f"contains {t['selected'][0]}, who is excluded"):
        verify_transcript(bad, inst)


def test_version_1_transcripts_still_verify():
    """A transcript without `excluded` (version 1) = nobody excluded, seed material without it."""
    inst, t = _draw()
    v1 = {k: v for k, v in t.items() if k not in ("excluded", "transcript_hash")}
    v1["transcript_version"] = 1
    material = seed_material(engine=v1["engine"], algorithm=v1["algorithm"], pool_hash=v1["pool_hash"],
                             quotas_hash=v1["quotas_hash"], distribution_hash=v1["distribution_hash"],
                             contributions=CONTRIBS, beacon=None)
    v1["seed"] = v1["seed_material_hash"] = sha256_json(material)
    panels = v1["lottery"]["panels"]
    prng = HashPRNG(v1["seed"])
    v1["selected_index"] = prng.randbelow(len(panels))
    v1["selected"] = panels[v1["selected_index"]]
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    v1["reserves"] = [inst.people[i].id for i in draw_reserves(inst, [index_of[x] for x in v1["selected"]], prng, 5)]
    v1["transcript_hash"] = sha256_json(v1)
    assert verify_transcript(v1, inst)["ok"]


def test_a_chain_of_replacements_replays_and_alterations_are_named():
    inst, t = _draw()
    d1 = _replaceable(inst, t["selected"], count=2)
    r1 = draw_replacement(inst, t, d1, m=100)
    assert r1["number"] == 1 and r1["previous_hash"] == t["transcript_hash"] and r1["excluded"] == []
    # replace_members without seed inputs keeps the derivation it had before transcripts
    old = replace_members(inst, t["selected"], d1, seed_hex=t["seed"], m=100)
    stay = [x for x in t["selected"] if x not in d1]
    assert old.seed == sha256_json({"seed": t["seed"], "stayers": sorted(stay), "dropped": sorted(d1),
                                    "distribution": sha256_json(old.lottery)})
    withdrawn = [p.id for p in inst.people if p.id not in r1["panel_after"] and p.household is None][:3]
    d2 = _replaceable(inst, r1["panel_after"], exclude=withdrawn + d1)
    ex2 = replacement_exclusions(t, r1, panel_before=r1["panel_after"], withdrawn=withdrawn)
    assert {e["id"]: e["reason"] for e in ex2} == {**{x: "withdrawn" for x in withdrawn},
                                                    **{x: "dropped out" for x in d1}}
    r2 = draw_replacement(inst, t, d2, previous=r1, excluded=ex2, m=60)
    assert r2["number"] == 2 and r2["lottery"]["m"] == 60
    assert not set(r2["added"]) & (set(withdrawn) | set(d1))
    d3 = _replaceable(inst, r2["panel_after"], exclude=withdrawn + d1 + d2)
    ex3 = replacement_exclusions(t, r2, panel_before=r2["panel_after"])
    r3 = draw_replacement(inst, t, d3, previous=r2, excluded=ex3, from_reserves=False, m=40)
    chain = [json.loads(json.dumps(r)) for r in (r1, r2, r3)]
    out = verify_replacements(chain, inst, draw=t)
    assert [o["number"] for o in out] == [1, 2, 3]
    # recomputing from the same inputs gives the same transcript, bit for bit
    assert draw_replacement(inst, t, d2, previous=r1, excluded=ex2, m=60) == r2
    assert verify_replacements(chain, inst, draw=t, recompute=True)[2]["number"] == 3
    fiddled = copy.deepcopy(r2)  # a lottery that is not the fair one, with everything else consistent
    fiddled["lottery"]["panels"] = [fiddled["added"]] * 60
    fiddled["distribution_hash"] = fiddled["seed_material"]["distribution"] = lottery_hash(fiddled["lottery"]["panels"])
    fiddled["seed"] = sha256_json(fiddled["seed_material"])
    fiddled["selected_index"] = HashPRNG(fiddled["seed"]).randbelow(60)
    fiddled = {k: v for k, v in fiddled.items() if k != "transcript_hash"}
    fiddled["transcript_hash"] = sha256_json(fiddled)
    assert verify_replacement(fiddled, inst)["ok"]  # the replay alone cannot tell ...
    with pytest.raises(VerificationError, match="recomputed from its inputs gives another 'lottery'"):
        verify_replacements([r1, fiddled], inst, draw=t, recompute=True)  # ... recomputing can

    def fails(r, match, chain_=None):
        with pytest.raises(VerificationError, match=match):
            verify_replacements(chain_ or [r1, r], inst, draw=t)

    bad = copy.deepcopy(r2)
    bad["excluded"] = [e for e in bad["excluded"] if e["id"] != withdrawn[0]]
    fails(bad, "seed material's 'excluded' does not match")
    bad = copy.deepcopy(r2)
    bad["excluded"] = [e for e in bad["excluded"] if e["id"] != d1[0]]
    bad["seed_material"]["excluded"] = bad["excluded"]
    fails(bad, "seed does not follow|excluded list lacks")
    bad = copy.deepcopy(r2)
    bad["panel_before"] = t["selected"]
    fails(bad, "panel_before|seed material's 'stayers'|dropped member")
    bad = copy.deepcopy(r2)
    bad["lottery"]["m"] = 1000
    fails(bad, "says m = 1000")
    bad = copy.deepcopy(r2)
    bad["candidates"] = "reserves"
    fails(bad, "candidates|seed material")
    bad = copy.deepcopy(r2)
    bad["selected_index"] = (bad["selected_index"] + 1) % 60
    fails(bad, "members added differ")
    bad = copy.deepcopy(r2)
    bad["added"] = [withdrawn[0]]
    fails(bad, "members added differ")
    # chain links: skipping a replacement, or one from another draw
    with pytest.raises(VerificationError, match="does not follow replacement 1"):
        verify_replacements([r1, r3], inst, draw=t)
    with pytest.raises(VerificationError, match="panel_before is not the panel after the draw"):
        other = draw_replacement(inst, t, d2, excluded=ex2, m=60,
                                 position={"number": 1, "previous_hash": t["transcript_hash"],
                                           "panel_before": r1["panel_after"], "reserves_before": t["reserves"]})
        verify_replacements([other], inst, draw=t)
    # another pool file is named
    people, quotas, k = small_pool(seed=5, n=80)
    people[0] = {**people[0], "gender": "m" if people[0]["gender"] == "f" else "f"}
    with pytest.raises(VerificationError, match="pool"):
        verify_replacement(r2, build_instance(people, quotas, k))


def _fixed(n: int) -> dict[str, str]:
    """Fresh randomness with a fixed value (tests are seeded)."""
    value = sha256_json({"test-randomness": n})
    return {"commitment": commitment(value), "value": value}


def test_each_replacement_reveals_randomness_committed_before_its_drop_outs():
    """Issue 11, item 12: with the draw's public seed alone anyone could compute a replacement in
    advance; with fresh committed randomness the outcome depends on a value nobody outside the
    service knew, and the verifier checks the value is the committed one."""
    inst, t = _draw()
    R1, R2, R3 = _fixed(1), _fixed(2), _fixed(3)  # R1's commitment is published at the draw
    d1 = _replaceable(inst, t["selected"], count=2)
    r1 = draw_replacement(inst, t, d1, m=100, randomness=R1, next_commitment=R2["commitment"])
    assert r1["replacement_transcript_version"] == 2
    assert r1["randomness"] == R1 and r1["next_commitment"] == R2["commitment"]
    assert r1["seed_material"]["randomness"] == R1["value"]
    ex2 = replacement_exclusions(t, r1, panel_before=r1["panel_after"])
    d2 = _replaceable(inst, r1["panel_after"], exclude=d1)
    r2 = draw_replacement(inst, t, d2, previous=r1, excluded=ex2, m=60, randomness=R2,
                          next_commitment=R3["commitment"])
    chain = [json.loads(json.dumps(r)) for r in (r1, r2)]
    out = verify_replacements(chain, inst, draw=t, first_commitment=R1["commitment"], recompute=True)
    assert [o["randomness_commitment"] for o in out] == [R1["commitment"], R2["commitment"]]

    # What the draw's seed alone predicts (version 1) is not what is drawn: the seed differs, and
    # over 200 fresh values the drawn lottery panel is spread over the lottery (chi-square).
    predicted = draw_replacement(inst, t, d1, m=100)
    assert predicted["replacement_transcript_version"] == 1 and predicted["seed"] != r1["seed"]
    counts = [0] * 10
    for n in range(200):
        material = {**r1["seed_material"], "randomness": sha256_json({"other": n})}
        counts[HashPRNG(sha256_json(material)).randbelow(100) // 10] += 1
    chi2 = sum((c - 20) ** 2 / 20 for c in counts)
    assert chi2 < 21.67, counts  # 9 degrees of freedom, p = 0.01

    # Randomness chosen after the drop-outs were known (a fresh pair, consistent in itself) is refused.
    late = _fixed(99)
    forged = draw_replacement(inst, t, d2, previous=r1, excluded=ex2, m=60, randomness=late,
                              next_commitment=R3["commitment"])
    assert verify_replacement(forged, inst)["ok"]  # alone it replays ...
    with pytest.raises(VerificationError, match="another commitment than the one replacement 1 published"):
        verify_replacements([r1, forged], inst, draw=t)  # ... but not as the successor of r1
    forged1 = draw_replacement(inst, t, d1, m=100, randomness=late, next_commitment=R2["commitment"])
    with pytest.raises(VerificationError, match="another commitment than the published"):
        verify_replacements([forged1], inst, draw=t, first_commitment=R1["commitment"])
    with pytest.raises(VerificationError, match="no commitment than the published"):
        verify_replacements([predicted], inst, draw=t, first_commitment=R1["commitment"])
    # A revealed value that is not the committed one, or a transcript edited to drop the randomness.
    bad = copy.deepcopy(r1)
    bad["randomness"]["value"] = late["value"]
    with pytest.raises(VerificationError, match="does not match its commitment"):
        verify_replacement(bad, inst)
    bad = copy.deepcopy(r2)
    del bad["randomness"]
    with pytest.raises(VerificationError, match="lacks the field 'randomness'"):
        verify_replacement(bad, inst)
    with pytest.raises(SortitionInputError, match="next_commitment without randomness"):
        draw_replacement(inst, t, d1, m=100, next_commitment=R2["commitment"])
    fresh = fresh_randomness()
    assert commitment(fresh["value"]) == fresh["commitment"] and fresh != fresh_randomness()


def test_replacement_from_the_reserves_and_bad_inputs():
    inst, t = _draw()
    try:
        r = draw_replacement(inst, t, t["selected"][:1], from_reserves=True, m=20)
    except SortitionInputError as exc:
        assert "cannot complete the panel" in str(exc)
    else:
        assert set(r["added"]) <= set(t["reserves"]) and len(r["reserves_after"]) == len(t["reserves"]) - 1
        assert verify_replacements([r], inst, draw=t)[0]["ok"]
        bad = copy.deepcopy(r)
        bad["reserves_before"] = bad["reserves_before"][1:]
        with pytest.raises(VerificationError):
            verify_replacements([bad], inst, draw=t)
    with pytest.raises(SortitionInputError, match="not on the panel"):
        draw_replacement(inst, t, ["p1000"] if "p1000" in {p.id for p in inst.people} else [t["reserves"][0]])
    with pytest.raises(SortitionInputError, match="nobody dropped out"):
        draw_replacement(inst, t, [])


def test_cli_draw_with_exclusions_then_replace_and_verify_replacement(tmp_path):
    from typer.testing import CliRunner

    from services.sortition.cli import app

    people, quotas, k = small_pool(seed=5, n=80)
    (tmp_path / "f.csv").write_text("feature,value,min,max\n" + "".join(
        f"{q.category},{q.value},{q.min},{q.max}\n" for q in quotas))
    (tmp_path / "p.csv").write_text("id,gender,age,region\n" + "".join(
        f"{p['id']},{p['gender']},{p['age']},{p['region']}\n" for p in people))
    pool = ["--features", str(tmp_path / "f.csv"), "--people", str(tmp_path / "p.csv")]
    run = CliRunner().invoke

    def ok(*args):
        r = run(app, [*args])
        assert r.exit_code == 0, r.output
        return r

    ok("draw", "-k", str(k), "--reveal", "a=x", "--exclude", "p3", "--exclude", "p7", "-m", "50", "--reserves", "3",
       "--transcript", str(tmp_path / "t.json"), "-q", *pool)
    t = json.loads((tmp_path / "t.json").read_text())
    assert [e["id"] for e in t["excluded"]] == ["p3", "p7"] and not {"p3", "p7"} & set(t["selected"])
    ok("verify", str(tmp_path / "t.json"), *pool)
    inst = build_instance(people, quotas, k)
    d1 = _replaceable(inst, t["selected"], exclude=["p3", "p7"])
    R1, R2, R3 = _fixed(1), _fixed(2), _fixed(3)
    ok("replace", "--transcript", str(tmp_path / "t.json"), "--dropped", d1[0], "--json", str(tmp_path / "r1.json"),
       "--randomness", R1["value"], "--next-commitment", R2["commitment"], *pool)
    r1 = json.loads((tmp_path / "r1.json").read_text())
    assert r1["lottery"]["m"] == 50 and {"p3", "p7"} <= {e["id"] for e in r1["excluded"]}
    assert r1["randomness"] == R1
    d2 = _replaceable(inst, r1["panel_after"], exclude=["p3", "p7", "p9", *d1])
    ok("replace", "--transcript", str(tmp_path / "t.json"), "--previous", str(tmp_path / "r1.json"),
       "--dropped", d2[0], "--exclude", "p9", "-m", "30", "--json", str(tmp_path / "r2.json"),
       "--randomness", R2["value"], "--next-commitment", R3["commitment"], *pool)
    files = [str(tmp_path / "r1.json"), str(tmp_path / "r2.json")]
    r = ok("verify-replacement", *files, "--draw", str(tmp_path / "t.json"), "--commitment", R1["commitment"], *pool)
    assert [o["number"] for o in json.loads(r.stdout)] == [1, 2]
    assert f"fresh randomness revealed under commitment {R2['commitment']}" in " ".join(r.output.split())
    r = run(app, ["verify-replacement", *files, "--draw", str(tmp_path / "t.json"), "--commitment",
                  _fixed(4)["commitment"], *pool])
    assert r.exit_code == 1 and "another commitment than the published" in " ".join(r.output.split())
    r = run(app, ["replace", "--transcript", str(tmp_path / "t.json"), "--dropped", d1[0], "--randomness", "zz",
                  "--next-commitment", R2["commitment"], *pool])
    assert r.exit_code != 0 and "64 hex digits" in r.output and "Traceback" not in r.output
    r2 = json.loads((tmp_path / "r2.json").read_text())
    r2["lottery"]["m"] = 1000
    (tmp_path / "r2.json").write_text(json.dumps(r2))
    r = run(app, ["verify-replacement", *files, "--draw", str(tmp_path / "t.json"), *pool])
    assert r.exit_code == 1 and "m = 1000" in " ".join(r.output.split()) and "Traceback" not in r.output
    r = run(app, ["verify-replacement", files[0], "--draw", str(tmp_path / "r1.json"), *pool])
    assert r.exit_code == 1 and "transcript" in r.output
