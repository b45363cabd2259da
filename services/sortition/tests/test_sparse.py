"""Panels stay sparse (types and counts, at most k entries) from the face walk to the JSON
(issue 17, item 2: 29,000 dense panels of 29,000 types would be 6.7 GB)."""

from __future__ import annotations

import numpy as np

from services.sortition.domain import build_instance, make_lottery, select
from services.sortition.domain.sparse import SparsePanels, sparse_rows
from services.sortition.domain.synth import synth_pool


def test_sparse_panels_behave_like_the_dense_matrix():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(7, 40)) * (rng.random((7, 40)) < 0.2)
    S = SparsePanels.from_dense(X)
    w = rng.random(7)
    assert len(S) == 7 and S.shape == (7, 40)
    assert np.allclose(w @ S, w @ X) and np.array_equal(np.asarray(S), X)
    assert all(np.array_equal(a, b) for a, b in zip(S, X)) and np.array_equal(S[-1], X[-1])
    assert np.array_equal(np.asarray(S[[0, 2]]), X[[0, 2]])
    assert S.nbytes() <= 8 * (np.count_nonzero(X) + 8)
    for (t, c), x in zip(sparse_rows(X), X):
        assert np.array_equal(t, np.nonzero(x)[0]) and np.array_equal(c, x[t])


def test_the_leximin_distribution_is_sparse_and_its_outputs_unchanged():
    people, quotas, k = synth_pool(160, 12, categories=6, seed=11, band=1)
    inst = build_instance(people, quotas, k)
    res = select(inst, "leximin")
    P = res.distribution.panels
    assert isinstance(P, SparsePanels)
    assert all(len(t) <= k for t, _ in P.rows())  # at most k types a panel, never T entries
    dense = np.asarray(P)
    assert np.allclose(res.distribution.probs @ P, res.distribution.probs @ dense, atol=1e-12)
    assert res.all_panels_valid() and all(inst.check_type_panel(x) for x in dense)
    assert [q["ok"] for q in res.quota_check()] == [True] * len(dense)
    d = res.to_dict(max_panels=0)
    assert [e["counts"] for e in d["type_panel_list"]] == [
        {str(t): int(v) for t, v in enumerate(x) if v} for x in dense]
    lot = make_lottery(inst, res.distribution, 200)
    assert lot.m == 200 and all(inst.check_panel(p) == [] for p in lot.panels)
