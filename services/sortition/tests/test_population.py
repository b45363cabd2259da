"""The whole-population option: the chance of volunteering estimated from the population's figures
(raking), then the end-to-end chances (volunteering x selection) made as equal as possible; the
certificate proves it with the weights; the CLI."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from services.sortition.certify import CertificateError, certify, read_pool
from services.sortition.cli import app
from services.sortition.domain import SortitionInputError, build_instance, select
from services.sortition.domain.engine import parse_algorithm
from services.sortition.domain.leximin import leximin_types
from services.sortition.domain.population import (counts_in_order, parse_population, participation,
                                                  population_spec, weighted_gini)
from services.sortition.domain.synth import CATEGORIES, synth_pool
from services.sortition.tests.pool_files import write_pool_files

CATS = 3
CITIZENS = 12_000  # the population the 120 volunteers replied from (1 %)


@pytest.fixture(scope="module")
def pool():
    return synth_pool(120, 12, categories=CATS, seed=3, band=1)


@pytest.fixture(scope="module")
def inst(pool):
    return build_instance(*pool)


@pytest.fixture(scope="module")
def figures():
    return {(name, v): int(round(CITIZENS * s)) for name, vals, pop, _ in CATEGORIES[:CATS] for v, s in zip(vals, pop)}


@pytest.fixture(scope="module")
def result(inst, figures):
    return select(inst, population_spec(counts_in_order(inst, figures)))


def test_raking_reproduces_every_population_count(inst, figures):
    q, rep = participation(inst, counts_in_order(inst, figures))
    assert rep["population"] == CITIZENS and rep["raking_error"] < 1e-9
    citizens = inst.type_counts / q  # each type stands for c_t / q_t citizens
    col = {c: j for j, c in enumerate(inst.categories)}
    for (cat, val), n in figures.items():
        has = np.array([f[col[cat]] == val for f in inst.type_features])
        assert citizens[has].sum() == pytest.approx(n, rel=1e-8)
    # the over-represented groups of the synthetic pool (the highly educated) volunteer more often
    edu = col["education"]
    rate = {v: float(np.average(q[[f[edu] == v for f in inst.type_features]])) for v in ("none", "level4+")}
    assert rate["level4+"] > 2 * rate["none"]


def test_end_to_end_chances_are_equal_where_leximin_leaves_them_apart(inst, result):
    p = result.stats["population"]
    q = np.asarray(p["participation"])
    share = inst.k / CITIZENS
    e = q * result.type_probabilities / share
    assert result.all_panels_valid()
    assert result.probabilities.sum() == pytest.approx(inst.k, abs=1e-9)
    assert p["end_to_end"]["min_multiple"] == pytest.approx(e.min(), abs=1e-9)
    assert p["end_to_end"]["max_multiple"] == pytest.approx(e.max(), abs=1e-9)
    # LEXIMIN's end-to-end chances range widely; the whole-population option narrows them
    lx = p["leximin_end_to_end"]
    assert lx["max_multiple"] / lx["min_multiple"] > 3
    assert p["end_to_end"]["max_multiple"] / p["end_to_end"]["min_multiple"] < 0.5 * lx["max_multiple"] / lx["min_multiple"]
    assert p["end_to_end"]["min_multiple"] > lx["min_multiple"]
    assert p["end_to_end"]["gini"] < 0.5 * lx["gini"]
    # the levels are leximin-optimal for the weights: the stage-wise column generation agrees
    cg = leximin_types(inst, method="cg", weights=q / q.max())
    assert np.allclose(cg.type_probabilities(inst) * q, result.type_probabilities * q, atol=1e-6 * q.max())


def test_the_certificate_proves_the_weighted_levels_and_fails_without_them(inst, pool, result, tmp_path):
    files = write_pool_files(tmp_path, pool[0], pool[1])
    data = result.to_dict()
    data = json.loads(json.dumps(data))
    assert data["certificate"]["kind"] == "weighted-leximin-relaxation-duals-v1"
    out = certify(data, read_pool(features=files / "features.csv", people=files / "people.csv"))
    assert out["weighted"] and out["levels_proved"] == out["levels"] >= 1
    # the same levels read as plain probabilities do not hold (and the hash no longer matches)
    bad = copy.deepcopy(data)
    del bad["certificate"]["end_to_end_weights"]
    with pytest.raises(CertificateError, match="hash"):
        certify(bad, read_pool(features=files / "features.csv", people=files / "people.csv"))
    from services.sortition.certify import _hash
    bad["certificate"]["kind"] = "leximin-relaxation-duals-v1"
    bad["certificate"]["hash"] = _hash({k: v for k, v in bad["certificate"].items() if k != "hash"})
    with pytest.raises(CertificateError, match="level 1"):
        certify(bad, read_pool(features=files / "features.csv", people=files / "people.csv"))


@pytest.mark.parametrize("text, error", [
    ("gender,female,100\ngender,female,200", "listed twice"),
    ("gender,female,ten", "not CATEGORY,VALUE,COUNT"),
    ("category,value,count\n", "no population figures"),
])
def test_bad_population_files_are_refused(text, error):
    with pytest.raises(SortitionInputError, match=error):
        parse_population(text)


def test_bad_figures_are_refused_with_what_to_fix(inst, figures):
    with pytest.raises(SortitionInputError, match="no population figure for gender=female"):
        counts_in_order(inst, {k: v for k, v in figures.items() if k != ("gender", "female")})
    with pytest.raises(SortitionInputError, match="which has no quota"):
        counts_in_order(inst, {**figures, ("gender", "other"): 5})
    counts = counts_in_order(inst, figures)
    with pytest.raises(SortitionInputError, match="same population"):
        participation(inst, [2 * counts[0]] + counts[1:])
    with pytest.raises(SortitionInputError, match="more volunteers than the population"):
        participation(inst, [60, 60, 24, 24, 24, 24, 24, 30, 30, 30, 30])  # 120 citizens, as many as volunteers
    with pytest.raises(SortitionInputError, match="population counts for"):
        participation(inst, counts[:-1])
    with pytest.raises(SortitionInputError, match="needs the population's figures"):
        parse_algorithm("population")
    assert parse_algorithm("population:counts=1/2/3") == ("population", {"counts": [1, 2, 3]})


def test_weighted_gini():
    assert weighted_gini(np.array([1.0, 1.0]), np.array([1.0, 5.0])) == 0.0
    # two citizens with 0 and 1: Gini 1/2; weights count like repeated entries
    assert weighted_gini(np.array([0.0, 1.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)
    assert weighted_gini(np.array([0.0, 1.0]), np.array([2.0, 2.0])) == pytest.approx(0.5)
    assert weighted_gini(np.array([0.0, 1.0]), np.array([3.0, 1.0])) == pytest.approx(0.75)


def test_cli_select_with_the_population_file(pool, figures, tmp_path):
    files = write_pool_files(tmp_path, pool[0], pool[1])
    (tmp_path / "population.csv").write_text(
        "category,value,count\n" + "".join(f"{c},{v},{n}\n" for (c, v), n in figures.items()))
    out = tmp_path / "result.json"
    args = ["select", "-k", "12", "--features", str(files / "features.csv"), "--people", str(files / "people.csv")]
    r = CliRunner().invoke(app, args + ["-a", "population", "--population", str(tmp_path / "population.csv"),
                                        "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["algorithm"].startswith("population:counts=")
    assert "whole population: 12000 citizens" in r.output and "(LEXIMIN:" in r.output
    r = CliRunner().invoke(app, ["certify", str(out), "--features", str(files / "features.csv"),
                                 "--people", str(files / "people.csv")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, args + ["-a", "population"])
    assert r.exit_code == 2 and "needs --population" in r.output
    r = CliRunner().invoke(app, args + ["--population", str(tmp_path / "population.csv")])
    assert r.exit_code == 2 and "belongs to -a population" in r.output
