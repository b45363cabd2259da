"""`borgerting sortition certify`: the independent check of a LEXIMIN result accepts the engine's
results (concrete panels or type panels) and rejects a tampered certificate, panel, probability
or pool file, naming what fails."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from services.sortition.certify import CertificateError, certify, read_pool
from services.sortition.cli import app
from services.sortition.domain import build_instance, select
from services.sortition.domain.synth import synth_pool
from services.sortition.tests.pool_files import write_pool_files


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("certify")
    people, quotas, k = synth_pool(200, 10, categories=6, seed=5, band=1)  # three levels
    write_pool_files(tmp, people, quotas)
    res = select(build_instance(people, quotas, k), "leximin")
    pool = read_pool(features=tmp / "features.csv", people=tmp / "people.csv")
    return tmp, res.to_dict(), pool


def test_the_engines_result_is_certified_level_by_level(case):
    _, result, pool = case
    out = certify(result, pool)
    assert out["levels_proved"] == out["levels"] == len(result["stats"]["levels"]) == 3
    assert out["min_probability"] == pytest.approx(result["min_probability"], abs=1e-12)
    assert [p["level"] for p in out["proved"]] == pytest.approx(result["stats"]["levels"], abs=1e-7)
    assert all(p["bound"] <= p["level"] + 1e-6 for p in out["proved"])
    # without the concrete panels the type panels are checked instead
    typed = {**result, "panels": None}
    assert certify(typed, pool)["panels_checked"] == len(result["type_panel_list"])


@pytest.mark.parametrize("tamper, message", [
    ("level", "do not prove"),  # a lower level than the weights prove (no one could do better?) ...
    ("weights", "do not prove"),  # ... or weights that prove nothing
    ("level up", "below the level"),  # a higher level than the result gives
    ("hash", "hash does not match"),
    ("panel", "breaks the rules"),
    ("probability", "the result says"),
    ("missing", "no certificate"),
])
def test_a_tampered_result_is_rejected(case, tamper, message):
    _, result, pool = case
    bad = copy.deepcopy(result)
    cert = bad["certificate"]
    if tamper in ("level", "weights", "level up"):
        lv = cert["levels"][0]
        if tamper == "level":
            lv["level"] -= 0.01
        elif tamper == "level up":
            lv["level"] += 0.01
        else:  # all the weight on the volunteer type the result favours most
            best = max(range(len(bad["type_members"])), key=lambda t: bad["probabilities"][bad["type_members"][t][0]])
            lv["unfixed"], lv["fixed"] = [[best, 1.0]], []
        body = {key: v for key, v in cert.items() if key != "hash"}
        from services.sortition.certify import _hash
        cert["hash"] = _hash(body)  # a forger recomputes the hash; the LP still catches it
    elif tamper == "hash":
        cert["levels"][1]["level"] -= 1e-3
    elif tamper == "panel":
        panel = bad["panels"][0]["members"]
        panel[0] = next(i for i in range(len(bad["ids"])) if i not in panel
                        and pool.features[i] != pool.features[panel[0]])
    elif tamper == "probability":
        bad["probabilities"][5] += 1e-6
    else:
        del bad["certificate"]
    with pytest.raises(CertificateError, match=message):
        certify(bad, pool)


def test_the_command_certifies_and_fails_naming_the_problem(case):
    tmp, result, _ = case
    (tmp / "r.json").write_text(json.dumps(result))
    pool_args = ["--features", str(tmp / "features.csv"), "--people", str(tmp / "people.csv")]
    run = CliRunner().invoke(app, ["certify", str(tmp / "r.json"), *pool_args])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout.splitlines()[-1])["levels_proved"] == 3
    other = (tmp / "features.csv").read_text().replace("gender,female,4,7", "gender,female,4,5")
    assert other != (tmp / "features.csv").read_text()
    (tmp / "features2.csv").write_text(other)  # quotas that are not the ones the result is for
    run = CliRunner().invoke(app, ["certify", str(tmp / "r.json"), "--features", str(tmp / "features2.csv"),
                                   "--people", str(tmp / "people.csv")])
    assert run.exit_code == 1 and "not certified" in run.output and "gender=female" in run.output, run.output


def test_the_service_draw_publishes_the_hash_of_a_certificate_that_certifies(tmp_path):
    """The draw job's transcript carries the certificate hash (covered by the transcript hash)
    and its fairness report the certificate's summary; the certificate with that hash, of the
    same frozen pool, passes the independent check."""
    from services.sortition.domain import commitment
    from services.sortition.domain.freeze import frozen_csv, frozen_instance, pool_snapshot
    from services.sortition.domain.runs import run_draw
    from services.sortition.tests.test_freeze_and_runs import STRATA, rows

    snap = pool_snapshot(STRATA, 10, rows())
    freeze = {**snap, "algorithm": "leximin", "lottery_size": 50, "reserves": 0, "beacon": None, "excluded": []}
    out = run_draw(freeze, [{"name": "o", "commitment": commitment("s"), "value": "s"}], {"legacy_samples": 0},
                   lambda msg, frac: None)
    t, report = out["transcript"], out["fairness"]
    assert t["certificate_hash"] == report["certificate"]["hash"] and report["certificate"]["levels"] >= 1
    result = select(frozen_instance(snap), "leximin").to_dict()
    assert result["certificate"]["hash"] == t["certificate_hash"]
    for which in ("features", "people"):
        (tmp_path / f"{which}.csv").write_text(frozen_csv(snap["quotas"], snap["people"], which))
    pool = read_pool(features=tmp_path / "features.csv", people=tmp_path / "people.csv",
                     address_columns=["household"])
    assert certify(result, pool)["levels_proved"] == report["certificate"]["levels"]
