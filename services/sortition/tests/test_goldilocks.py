"""GOLDILOCKS: the largest chance capped (by the organisers, or where the GOLDILOCKS objective is
smallest), the price in the minimum reported, the quotas met by every panel, the certificate valid
under the cap."""

from __future__ import annotations

import copy
import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from services.sortition.certify import CertificateError, certify, read_pool
from services.sortition.cli import app
from services.sortition.domain import SortitionInputError, build_instance, select
from services.sortition.domain.engine import algorithm_spec, parse_algorithm
from services.sortition.domain.goldilocks import CappedMaximin, goldilocks_value, smallest_cap
from services.sortition.domain.leximin import leximin_types
from services.sortition.domain.synth import synth_pool
from services.sortition.tests.pool_files import write_pool_files

# 60 volunteers, 4 categories, k = 10: LEXIMIN gives its luckiest volunteers 0.864 (5.2 x k/n)
POOL = dict(n=60, k=10, categories=4, seed=1, band=1)


@pytest.fixture(scope="module")
def pool():
    people, quotas, k = synth_pool(POOL["n"], POOL["k"], categories=POOL["categories"], seed=POOL["seed"],
                                   band=POOL["band"])
    return people, quotas, k


@pytest.fixture(scope="module")
def inst(pool):
    return build_instance(*pool)


@pytest.fixture(scope="module")
def leximin(inst):
    return select(inst, "leximin")


def _panel_checks(inst, res):
    """Every panel has k members and meets every quota; the marginals sum to k."""
    for x in res.distribution.panels:
        assert x.sum() == inst.k
        counts = inst.quota_matrix @ x
        assert np.all(counts >= inst.quota_lo) and np.all(counts <= inst.quota_hi)
    assert res.distribution.probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert res.probabilities.sum() == pytest.approx(inst.k, abs=1e-9)


def test_a_given_cap_binds_and_its_price_in_the_minimum_is_reported(inst, leximin):
    share = inst.k / inst.n
    assert leximin.max_probability > 4 * share  # the cap below binds
    res = select(inst, "goldilocks:cap=4")
    assert res.algorithm == "goldilocks:cap=4"
    _panel_checks(inst, res)
    assert res.max_probability <= 4 * share + 1e-7
    g = res.stats["goldilocks"]
    assert g["cap"] == pytest.approx(4 * share) and g["cap_given"]
    assert g["leximin_min"] == pytest.approx(leximin.min_probability, abs=1e-7)
    assert g["leximin_max"] == pytest.approx(leximin.max_probability, abs=1e-7)
    assert g["min"] == pytest.approx(res.min_probability, abs=1e-12)
    # capping costs something here: the minimum is lower than LEXIMIN's, by the reported price
    assert res.min_probability < leximin.min_probability - 1e-4
    assert g["price_in_minimum"] == pytest.approx(leximin.min_probability - res.min_probability, abs=1e-7)
    # and the minimum is the best one under the cap (the capped maximin of the relaxation, attained)
    f = CappedMaximin(inst, np.arange(inst.n_types, dtype=np.int32))
    assert res.min_probability == pytest.approx(f(4 * share), abs=1e-7)


def test_the_chosen_cap_minimises_the_goldilocks_objective(inst, leximin):
    share = inst.k / inst.n
    res = select(inst, "goldilocks")
    _panel_checks(inst, res)
    g = res.stats["goldilocks"]
    assert not g["cap_given"] and res.max_probability <= g["cap"] + 1e-7
    assert g["objective"] < g["leximin_objective"] - 0.1
    f = CappedMaximin(inst, np.arange(inst.n_types, dtype=np.int32))
    best = goldilocks_value(g["cap"], f(g["cap"]), share, 1.0)
    for u in np.linspace(smallest_cap(inst), leximin.max_probability, 25):
        assert goldilocks_value(u, f(u), share, 1.0) >= best - 1e-6
    # a larger gamma (the minimum weighs more) never lowers the minimum
    heavy = select(inst, "goldilocks:gamma=4")
    assert heavy.min_probability >= res.min_probability - 1e-7
    assert heavy.stats["goldilocks"]["cap"] >= g["cap"] - 1e-7


def test_the_column_generation_under_a_cap_agrees_with_the_relaxation(inst):
    cap = 3.5 * inst.k / inst.n
    a = leximin_types(inst, cap=cap)
    b = leximin_types(inst, cap=cap, method="cg")
    pa, pb = a.type_probabilities(inst), b.type_probabilities(inst)
    assert pb.max() <= cap + 1e-7 and pa.max() <= cap + 1e-7
    assert pb.min() == pytest.approx(pa.min(), abs=1e-6)
    assert np.sort(pb) == pytest.approx(np.sort(pa), abs=1e-5)
    assert all(inst.check_type_panel(x) for x in b.panels)
    assert b.cap == cap and b.certificate is None  # the column generation carries no certificate


def test_a_cap_below_what_the_quotas_allow_is_refused_with_the_bound(inst):
    low = smallest_cap(inst)
    assert low > inst.k / inst.n
    with pytest.raises(SortitionInputError, match="raise the cap to at least"):
        select(inst, f"goldilocks:cap={0.9 * low * inst.n / inst.k:.4f}")
    ok = select(inst, f"goldilocks:cap={1.001 * low * inst.n / inst.k:.6f}")
    assert ok.max_probability <= 1.001 * low + 1e-7


@pytest.mark.parametrize("spec, error", [("leximin:cap=3", "unknown option"), ("goldilocks:cap=-1", "positive"),
                                          ("goldilocks:cap=x", "number"), ("goldilocks:delta=1", "unknown option"),
                                          ("best", "unknown algorithm")])
def test_algorithm_specs(spec, error):
    with pytest.raises(SortitionInputError, match=error):
        parse_algorithm(spec)
    assert parse_algorithm("GOLDILOCKS:cap=3,gamma=0.5") == ("goldilocks", {"cap": 3.0, "gamma": 0.5})
    assert algorithm_spec("goldilocks", cap_multiple=3.0) == "goldilocks:cap=3"


@pytest.fixture(scope="module")
def files(pool, tmp_path_factory):
    people, quotas, _ = pool
    tmp = tmp_path_factory.mktemp("goldilocks")
    write_pool_files(tmp, people, quotas)
    return tmp


def _rehash(cert: dict) -> None:
    body = {key: v for key, v in cert.items() if key != "hash"}
    cert["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                                  .encode("utf-8")).hexdigest()


def test_certify_proves_the_capped_leximin_and_rejects_a_cap_taken_away(inst, files):
    res = select(inst, "goldilocks:cap=4")
    result = res.to_dict()
    cert = result["certificate"]
    assert cert["kind"] == "capped-leximin-relaxation-duals-v1"
    assert cert["cap"] == pytest.approx(4 * inst.k / inst.n)
    assert cert["hash"] == res.certificate_summary()["hash"]
    pool = read_pool(features=files / "features.csv", people=files / "people.csv")
    out = certify(result, pool)
    assert out["levels_proved"] == out["levels"] >= 2 and out["cap"] == cert["cap"]
    # without the cap the same weights prove nothing (LEXIMIN does better than the capped minimum)
    bad = copy.deepcopy(result)
    del bad["certificate"]["cap"]
    bad["certificate"]["kind"] = "leximin-relaxation-duals-v1"
    _rehash(bad["certificate"])
    with pytest.raises(CertificateError, match="do not prove"):
        certify(bad, pool)
    # a cap below what the result gives is caught before any LP
    bad = copy.deepcopy(result)
    bad["certificate"]["cap"] = 0.9 * cert["cap"]
    _rehash(bad["certificate"])
    with pytest.raises(CertificateError, match="above the cap"):
        certify(bad, pool)


def test_the_cli_selects_goldilocks_with_a_cap_and_reports_leximins_maximum(files, tmp_path):
    out = tmp_path / "g.json"
    r = CliRunner().invoke(app, ["select", "-k", str(POOL["k"]), "--features", str(files / "features.csv"),
                                 "--people", str(files / "people.csv"), "-a", "goldilocks", "--cap", "4",
                                 "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["algorithm"] == "goldilocks:cap=4"
    assert data["max_probability"] <= 4 * POOL["k"] / POOL["n"] + 1e-7
    assert all(p["meets_quotas"] for p in data["panels"])
    assert "LEXIMIN would give" in r.output and "price in the minimum" in r.output
    r = CliRunner().invoke(app, ["select", "-k", str(POOL["k"]), "--features", str(files / "features.csv"),
                                 "--people", str(files / "people.csv"), "-a", "leximin", "--cap", "4"])
    assert r.exit_code == 2 and "belong to -a goldilocks" in r.output
