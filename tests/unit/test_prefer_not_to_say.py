"""'Prefer not to say' from recruitment's questionnaire through sortition's draw: the answer is its
own value of the category, so the mandate gives it a quota (how many seats people who did not say
may take) and the draw treats it like any other value; without that quota the freeze refuses the
pool, which is why the questionnaire offers the answer only where the mandate has it
(docs/registration.md)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.recruitment.domain.questionnaire import PREFER_NOT_TO_SAY, read_config, stratum_options
from services.sortition.domain import SortitionInputError, commitment
from services.sortition.domain.freeze import frozen_csv, frozen_instance, pool_snapshot
from services.sortition.domain.runs import run_draw

GENDER = [{"value": "f", "min": 4, "max": 6}, {"value": "m", "min": 4, "max": 6},
          {"value": PREFER_NOT_TO_SAY, "min": 0, "max": 1}]
STRATA = [{"category": "gender", "quotas": GENDER},
          {"category": "age", "quotas": [{"value": "young", "min": 3, "max": 7}, {"value": "old", "min": 3, "max": 7}]}]


def pool(n: int = 40) -> list[SimpleNamespace]:
    genders = ["f", "m", PREFER_NOT_TO_SAY, "f", "m"]
    return [SimpleNamespace(respondent_id=f"00000000-0000-4000-8000-{i:012d}", household=None,
                            features={"gender": genders[i % 5], "age": ("young", "old")[i % 2]}) for i in range(n)]


def test_the_questionnaire_offers_it_only_with_the_mandates_quota():
    config, problems = read_config(STRATA, {"strata": [{"category": "gender", "prefer_not_to_say": True},
                                                       {"category": "age"}]})
    assert problems == [] and stratum_options(STRATA, config["strata"][0])[-1] == PREFER_NOT_TO_SAY


def test_the_draw_treats_it_as_a_value_with_its_own_quota():
    snap = pool_snapshot(STRATA, 10, pool())
    assert f"gender,{PREFER_NOT_TO_SAY},0,1" in frozen_csv(snap["quotas"], snap["people"], "features")
    freeze = {**snap, "algorithm": "leximin", "lottery_size": 50, "reserves": 0, "beacon": None, "excluded": []}
    out = run_draw(freeze, [{"name": "o", "commitment": commitment("s"), "value": "s"}], {"legacy_samples": 0},
                   lambda msg, frac: None)
    drawn = {p["id"]: p["features"]["gender"] for p in snap["people"]}
    panel = [drawn[i] for i in out["transcript"]["selected"]]
    assert len(panel) == 10 and panel.count(PREFER_NOT_TO_SAY) <= 1
    assert 4 <= panel.count("f") <= 6 and 4 <= panel.count("m") <= 6
    # a fair share of the chances still goes to those who did not say (not zero)
    assert out["fairness"]["selected_meets_quotas"]
    chances = [p["probability"] for p in out["fairness"]["profiles"] if p["features"]["gender"] == PREFER_NOT_TO_SAY]
    assert len(chances) == 2 and min(chances) > 0


def test_without_the_quota_the_freeze_refuses_the_pool():
    mandate = [{"category": "gender", "quotas": GENDER[:2]}, STRATA[1]]
    with pytest.raises(SortitionInputError, match=PREFER_NOT_TO_SAY):
        frozen_instance(pool_snapshot(mandate, 10, pool()))
