"""Alternates for drop-outs: chosen so that after likely drop-outs the panel still meets the quotas,
and better at it in a seeded simulation than reserves drawn like the panel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from services.sortition.cli import app
from services.sortition.domain import SortitionInputError, build_instance, select
from services.sortition.domain.alternates import (alternates_hash, alternates_record, choose_alternates, dropout_rates,
                                                  like_the_panel, simulate)
from services.sortition.domain.synth import synth_pool
from services.sortition.tests.pool_files import write_pool_files

RATES = {("age", "16-29"): 0.4, ("gender", "male"): 0.1}  # the young drop out often


@pytest.fixture(scope="module")
def case():
    people, quotas, k = synth_pool(120, 12, categories=3, seed=4, band=0)
    inst = build_instance(people, quotas, k)
    res = select(inst, "leximin")
    panels = res.panels()
    rng = np.random.default_rng(5)
    panel = panels[int(rng.choice(len(panels), p=np.array([p for _, p in panels])))][0]
    return people, quotas, inst, res, panel


def test_dropout_rates_combine_per_stratum(case):
    _, _, inst, _, _ = case
    r = dropout_rates(inst, RATES)
    for i, p in enumerate(inst.people):
        young, male = p.features["age"] == "16-29", p.features["gender"] == "male"
        assert r[i] == pytest.approx(1 - (1 - 0.4 * young) * (1 - 0.1 * male))
    with pytest.raises(SortitionInputError, match="unknown category"):
        dropout_rates(inst, {("income", "q1"): 0.1})
    with pytest.raises(SortitionInputError, match=r"must be in \[0, 1\)"):
        dropout_rates(inst, {("age", "16-29"): 1.0})


def test_chosen_alternates_keep_the_quotas_better_than_reserves_drawn_like_the_panel(case):
    _, _, inst, res, panel = case
    r = dropout_rates(inst, RATES)
    young_on_panel = sum(inst.people[i].features["age"] == "16-29" for i in panel)
    assert young_on_panel >= 1
    chosen = choose_alternates(inst, panel, 4, r, scenarios=40, seed=1)
    assert len(chosen) == len(set(chosen)) == 4 and not set(chosen) & set(panel)
    # the likely drop-outs are young: the alternates hold young volunteers to replace them
    assert sum(inst.people[i].features["age"] == "16-29" for i in chosen) >= 1
    base = like_the_panel(inst, panel, 4, res.probabilities, seed=1)
    assert len(base) == 4 and not set(base) & set(panel)
    ours = simulate(inst, panel, chosen, r, trials=150, seed=2)
    theirs = simulate(inst, panel, base, r, trials=150, seed=2)
    none = simulate(inst, panel, [], r, trials=150, seed=2)
    assert ours["full_and_within_quotas"] > theirs["full_and_within_quotas"]
    assert ours["mean_quota_violation"] < theirs["mean_quota_violation"]
    assert none["mean_seats_short"] > ours["mean_seats_short"]
    with pytest.raises(SortitionInputError, match="eligible"):
        choose_alternates(inst, panel, inst.n, r)


def test_the_cli_chooses_alternates_for_a_transcripts_panel(case, tmp_path):
    people, quotas, inst, _, panel = case
    write_pool_files(tmp_path, people, quotas)
    (tmp_path / "t.json").write_text(json.dumps({"k": inst.k, "selected": [inst.people[i].id for i in panel],
                                                 "reserves": []}))
    (tmp_path / "rates.csv").write_text("category,value,rate\nage,16-29,0.4\ngender,male,0.1\n")
    r = CliRunner().invoke(app, ["alternates", "--transcript", str(tmp_path / "t.json"), "--dropout",
                                 str(tmp_path / "rates.csv"), "-n", "3", "--trials", "50", "--features",
                                 str(tmp_path / "features.csv"), "--people", str(tmp_path / "people.csv"),
                                 "--json", str(tmp_path / "a.json")])
    assert r.exit_code == 0, r.output
    out = json.loads((tmp_path / "a.json").read_text())
    assert len(out["alternates"]) == 3 and set(out["simulation"]) == {"alternates", "draw_reserves", "none"}
    assert "full and within quotas" in r.output


def test_the_service_record_leaves_out_the_excluded_and_hashes_what_the_transcript_names(case):
    _, _, inst, _, panel = case
    ids = [inst.people[i].id for i in panel]
    young = [p.id for i, p in enumerate(inst.people) if i not in panel and p.features["age"] == "16-29"]
    rec = alternates_record(inst, ids, 4, RATES, exclude_ids=young[:-1], seed=7, scenarios=10, trials=20)
    assert len(rec["ids"]) == rec["count"] == 4 and not set(rec["ids"]) & (set(ids) | set(young[:-1]))
    assert rec["hash"] == alternates_hash(rec) and rec["dropout_rates"] == [["age", "16-29", 0.4], ["gender", "male", 0.1]]
    assert set(rec["simulation"]) == {"alternates", "reserves", "none"}
    assert alternates_hash({**rec, "seed": 8}) != rec["hash"]
    assert alternates_record(inst, ids, 4, RATES, exclude_ids=young[:-1], seed=7, scenarios=10, trials=20)["ids"] == rec["ids"]
    with pytest.raises(SortitionInputError, match="unknown value age=0-15"):
        alternates_record(inst, ids, 4, {("age", "0-15"): 0.2})
