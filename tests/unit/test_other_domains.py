import uuid

import pytest

from services.reporting.domain.figures import attendance_rate, composition, reply_rate
from services.sessions.domain.attendance import held_counts, unknown_members
from services.sortition.domain.baseline_draw import Infeasible, draw, quota_problems, reserve_order
from services.voting.domain.simple_tally import passes, result

STRATA = [
    {"category": "gender", "quotas": [{"value": "f", "min": 2, "max": 2}, {"value": "m", "min": 2, "max": 2}]},
    {"category": "age", "quotas": [{"value": "young", "min": 1, "max": 3}, {"value": "old", "min": 1, "max": 3}]},
]


def _pool(n=30, seed=1):
    import random

    rng = random.Random(seed)
    return [{"gender": rng.choice("fm"), "age": rng.choice(["young", "old"])} for _ in range(n)]


def test_baseline_draw_meets_every_quota_and_is_seeded():
    pool = _pool()
    panel = draw(pool, STRATA, 4, seed=3)
    assert len(panel) == 4
    for s in STRATA:
        for q in s["quotas"]:
            got = sum(1 for i in panel if pool[i][s["category"]] == q["value"])
            assert q["min"] <= got <= q["max"]
    assert panel == draw(pool, STRATA, 4, seed=3)
    assert len({tuple(draw(pool, STRATA, 4, seed=s)) for s in range(10)}) > 1


def test_baseline_draw_respects_households():
    pool = [{"gender": g, "age": "young"} for g in "ffmm"] + [{"gender": "f", "age": "old"}]
    strata = [{"category": "gender", "quotas": [{"value": "f", "min": 1, "max": 1}, {"value": "m", "min": 1, "max": 1}]}]
    for seed in range(5):
        panel = draw(pool, strata, 2, seed=seed, households=["h1", "h2", "h3", "h3", None])
        assert not {2, 3} <= set(panel)


def test_baseline_draw_names_the_quota_the_pool_cannot_meet():
    pool = [{"gender": "f", "age": "young"}] * 6
    assert any("gender=m" in p for p in quota_problems(pool, STRATA, 4))
    with pytest.raises(Infeasible, match="gender=m: the quota needs at least 2 but the pool has 0"):
        draw(pool, STRATA, 4, seed=1)


def test_reserves_exclude_the_panel():
    res = reserve_order(10, [0, 1, 2], seed=5, count=4)
    assert len(res) == 4 and not set(res) & {0, 1, 2}
    assert res == reserve_order(10, [0, 1, 2], seed=5, count=4)


def test_attendance_counts_missing_records_as_absent():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert held_counts({a, b, c}, {a: True, b: False}) == (1, 2)
    assert unknown_members([a, uuid.UUID(int=1)], {a}) == [uuid.UUID(int=1)]


def test_thresholds():
    assert passes(6, 4, 0.5) and not passes(5, 5, 0.5)  # simple majority is strict
    assert passes(7, 3, 0.7) and not passes(69, 31, 0.7)
    assert passes(2, 1, 2 / 3)
    assert not passes(0, 0, 0.5)
    assert result({"yes": 3, "no": 1, "abstain": 5}, 0.7) == {"yes": 3, "no": 1, "abstain": 5, "support": 0.75, "passed": True}


def test_reporting_figures():
    strata = [{"category": "g", "quotas": [{"value": "f", "min": 1, "max": 1}, {"value": "m", "min": 1, "max": 1}]}]
    rows = composition(strata, [{"g": "f"}, {"g": "f"}, {"g": "m"}], [{"g": "f"}, {"g": "m"}], 2)
    assert rows[0] == {"category": "g", "value": "f", "quota_min": 1, "quota_max": 1, "target_share": 0.5, "pool": 2,
                       "pool_share": 2 / 3, "panel": 1, "panel_share": 0.5, "within_quota": True}
    assert reply_rate(5, 200) == 0.025 and reply_rate(1, 0) == 0.0
    assert attendance_rate([{"present": 9, "absent": 1}, {"present": 8, "absent": 2}]) == 0.85


def test_baseline_draw_and_leximin_share_one_process():
    """HiGHS' thread pool is process-wide; the service runs both, so both must configure it alike."""
    from services.sortition.domain import Quota, build_instance, select

    pool = _pool(40, seed=4)
    draw(pool, STRATA, 4, seed=1)
    people = [{"id": str(i), **p} for i, p in enumerate(pool)]
    quotas = [Quota(s["category"], q["value"], q["min"], q["max"]) for s in STRATA for q in s["quotas"]]
    res = select(build_instance(people, quotas, 4), "leximin")
    assert res.all_panels_valid() and abs(sum(res.probabilities) - 4) < 1e-6
