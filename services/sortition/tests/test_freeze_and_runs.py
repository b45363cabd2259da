"""What the freeze keeps of the pool and what a job computes from it (domain/freeze.py,
domain/runs.py): pure, so tested without the service."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest

from services.sortition.domain import SortitionInputError, commitment, verify_transcript
from services.sortition.domain.freeze import (check_answers, frozen_csv, frozen_instance, household_labels,
                                              parse_intersectional,
                                              pool_snapshot, reserved_categories)
from services.sortition.domain.goldilocks import smallest_cap
from services.sortition.domain.io_formats import parse_peer_format
from services.sortition.domain.runs import run_draw
from services.sortition.tests.test_engine import small_pool

STRATA = [{"category": "gender", "quotas": [{"value": "f", "min": 4, "max": 6}, {"value": "m", "min": 4, "max": 6}]},
          {"category": "age", "quotas": [{"value": "young", "min": 2, "max": 4}, {"value": "mid", "min": 3, "max": 4},
                                         {"value": "old", "min": 3, "max": 4}]}]


def rows(n: int = 40):
    people, _, _ = small_pool(seed=3, n=n)
    # every fifth pair of volunteers shares a household; one volunteer lives alone with a key
    homes = {i: f"key{i // 2}" for i in range(0, n, 10) for i in (i, i + 1)}
    homes[5] = "alone"
    return [SimpleNamespace(respondent_id=f"00000000-0000-4000-8000-{i:012d}",
                            features={"gender": p["gender"], "age": p["age"], "region": p["region"]},
                            household=homes.get(i)) for i, p in enumerate(people)]


def test_only_shared_households_get_labels_in_pool_order():
    labels = household_labels(rows())
    assert "alone" not in labels  # a household of one says nothing and is not published
    assert list(labels.values()) == [f"h{i}" for i in range(1, len(labels) + 1)]
    assert labels["key0"] == "h1" and len(labels) == 4


def test_the_snapshot_keeps_categories_of_the_strata_only():
    snap = pool_snapshot(STRATA, 10, rows())
    assert snap["panel_size"] == 10 and len(snap["people"]) == 40
    assert set(snap["people"][0]["features"]) == {"gender", "age"}  # region is no category here
    assert [q["value"] for q in snap["quotas"]] == ["f", "m", "young", "mid", "old"]
    check_answers(snap)
    inst = frozen_instance(snap)
    assert (inst.n, inst.k) == (40, 10)


def test_a_missing_answer_and_a_reserved_category_are_named():
    r = rows()
    del r[7].features["age"]
    with pytest.raises(SortitionInputError, match=r"volunteer .*0007 has no answer for age"):
        check_answers(pool_snapshot(STRATA, 10, r))
    assert reserved_categories([*STRATA, {"category": "household", "quotas": []}]) == ["household"]


def test_the_frozen_csv_files_read_back_as_the_same_instance():
    snap = pool_snapshot(STRATA, 10, rows())
    features, people = frozen_csv(snap["quotas"], snap["people"], "features"), frozen_csv(
        snap["quotas"], snap["people"], "people")
    assert next(csv.reader(io.StringIO(people))) == ["id", "gender", "age", "household"]
    again = parse_peer_format(features, people, 10, address_columns=["household"])
    assert again.pool_hash() == frozen_instance(snap).pool_hash()


def test_a_draw_run_twice_gives_the_same_transcript_and_verifies():
    snap = pool_snapshot(STRATA, 10, rows())
    freeze = {**snap, "algorithm": "leximin", "lottery_size": 50, "reserves": 2, "beacon": None, "excluded": []}
    contribs = [{"name": "o", "commitment": commitment("s"), "value": "s"}]
    steps: list[float] = []
    a = run_draw(freeze, contribs, {"legacy_samples": 0}, lambda msg, frac: steps.append(frac))
    b = run_draw(freeze, contribs, {"legacy_samples": 0}, lambda msg, frac: None)
    assert a["transcript"]["transcript_hash"] == b["transcript"]["transcript_hash"]
    assert steps[-1] == 1.0 and steps == sorted(steps)
    verify_transcript(a["transcript"], frozen_instance(snap))
    assert a["fairness"]["selected_meets_quotas"] and len(a["transcript"]["reserves"]) == 2


def test_a_goldilocks_draw_keeps_its_cap_in_the_transcript_report_and_certificate():
    snap = pool_snapshot(STRATA, 10, rows())
    inst = frozen_instance(snap)
    leximin = run_draw({**snap, "algorithm": "leximin", "lottery_size": 50, "reserves": 0, "beacon": None,
                        "excluded": []}, [{"name": "o", "commitment": commitment("s"), "value": "s"}],
                       {"legacy_samples": 0}, lambda msg, frac: None)
    top = leximin["fairness"]["probabilities"]["max"] / (inst.k / inst.n)
    cap = round((top + smallest_cap(inst) / (inst.k / inst.n)) / 2, 2)  # the cap binds, and the quotas allow it
    assert cap < top - 0.01
    out = run_draw({**snap, "algorithm": f"goldilocks:cap={cap:g}", "lottery_size": 50, "reserves": 0,
                    "beacon": None, "excluded": []}, [{"name": "o", "commitment": commitment("s"), "value": "s"}],
                   {"legacy_samples": 0}, lambda msg, frac: None)
    t, f = out["transcript"], out["fairness"]
    assert t["algorithm"] == f["algorithm"] == f"goldilocks:cap={cap:g}"
    verify_transcript(t, inst)
    g = f["goldilocks"]
    assert g["cap_multiple"] == pytest.approx(cap) and f["probabilities"]["max"] <= g["cap"] + 1e-7
    assert g["leximin_max"] == pytest.approx(leximin["fairness"]["probabilities"]["max"], abs=1e-7)
    assert f["certificate"]["cap"] == pytest.approx(g["cap"]) and t["certificate_hash"] == f["certificate"]["hash"]
    assert out["certificate"]["certificate"]["cap"] == pytest.approx(g["cap"])


def test_intersectional_quotas_at_the_freeze_bind_every_panel_and_survive_the_published_files():
    # the pool has 5 old men; without these quotas LEXIMIN's panels take 2 of them with probability 0.85
    text = "gender,f,age=old,0,1\n\n gender , m , age=old , 3 , 3 \n"
    pairs = parse_intersectional(text)
    assert pairs == [{"category": "gender", "value": "f", "within": "age=old", "min": 0, "max": 1},
                     {"category": "gender", "value": "m", "within": "age=old", "min": 3, "max": 3}]
    for bad in ("gender,f,age,1,2", "gender,f,age=old,1", "gender,f,age=old,one,2"):
        with pytest.raises(SortitionInputError, match="line 1 is not"):
            parse_intersectional(bad)
    snap = pool_snapshot(STRATA, 10, rows(), pairs)
    inst = frozen_instance(snap)
    assert inst.quotas_hash() != frozen_instance(pool_snapshot(STRATA, 10, rows())).quotas_hash()
    out = run_draw({**snap, "algorithm": "leximin", "lottery_size": 50, "reserves": 0, "beacon": None,
                    "excluded": []}, [{"name": "o", "commitment": commitment("s"), "value": "s"}],
                   {"legacy_samples": 0}, lambda msg, frac: None)
    old_m = [x for x in out["fairness"]["per_category"] if x.get("within") == "age=old" and x["value"] == "m"]
    assert old_m and old_m[0]["panel"] == 3 and old_m[0]["within_quota"]
    people = {p["id"]: p["features"] for p in snap["people"]}
    for panel in out["transcript"]["lottery"]["panels"]:  # every panel of the lottery meets the pair quotas
        assert sum(people[i]["gender"] == "f" and people[i]["age"] == "old" for i in panel) <= 1
        assert sum(people[i]["gender"] == "m" and people[i]["age"] == "old" for i in panel) == 3
    # the published files carry the within column and read back as the same instance (verify replays)
    features, people_csv = frozen_csv(snap["quotas"], snap["people"], "features"), \
        frozen_csv(snap["quotas"], snap["people"], "people")
    assert features.splitlines()[0] == "feature,value,min,max,within" and "gender,m,3,3,age=old" in features
    back = parse_peer_format(features, people_csv, 10, id_column="id", address_columns=["household"])
    assert back.quotas_hash() == inst.quotas_hash() and back.pool_hash() == inst.pool_hash()
    verify_transcript(out["transcript"], back)
    with pytest.raises(SortitionInputError, match="within"):  # a pair over a category the assembly has not
        frozen_instance(pool_snapshot(STRATA, 10, rows(), [{**pairs[0], "within": "income=low"}]))
