"""An independent check of a LEXIMIN result (`borgerting sortition certify`): it uses none of the
engine's code (only csv, numpy and its own HiGHS models), so that nobody has to trust the engine.

From the pool files and the result JSON of `borgerting sortition select` it checks:

1. every panel of the result (the concrete panels, or the type panels with ``type_members``) has
   k distinct volunteers, meets every quota (``within`` quotas included) and the household rule,
   and the weights are a distribution;
2. the marginals of those panels are the published probabilities (within 1e-9);
3. for each level of the certificate (the first ``levels``, all by default): with the weights
   ``w_i = y_t / c_t`` spread over the members of the type (``y`` the level's weights on the
   types not yet fixed) and ``m_i = mu_t / c_t`` (the fixed types, held at ``floor_t``), one LP
   over the relaxed panel polytope (``0 <= x_i <= 1``, ``sum x = k``, quotas, households) gives
   ``M = max sum w_i x_i + sum m_i (x_i - floor_i)``; the level is proved when
   ``M / sum w <= level + tol``: then every distribution that keeps the fixed volunteers at their
   floors gives some volunteer with ``w_i > 0`` at most the level, and the result gives each of
   them at least the level (within ``tol``).  Level by level this is the LEXIMIN argument: no
   distribution is leximin-better than the result (up to ``tol``).

The certificate's hash is recomputed (sha256 of its canonical JSON without the hash).

A GOLDILOCKS result's certificate (``kind`` ``capped-leximin-relaxation-duals-v1``) carries
``cap``: every probability of the result must be at most the cap (within ``tol``), and the LPs
bound every volunteer by it (``0 <= x_i <= min(1, cap)``): what is proved is leximin optimality
among the distributions that keep everyone at or below the cap (the choice of the cap itself is
not certified).

A whole-population result's certificate (``kind`` ``weighted-leximin-relaxation-duals-v1``) carries
``end_to_end_weights``, one per type (in (0, 1]: each type's estimated chance of volunteering,
divided by the largest): its levels are of ``w_t p_i`` (the end-to-end chances up to a
constant), so every volunteer's LP weight and probability are multiplied by their type's ``w_t``.
What is proved is leximin optimality of the end-to-end chances given those weights; the weights
themselves follow from the population figures in the result's ``algorithm``
(``population:counts=...``) and the pool, and are not re-estimated here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np

TOL = 1e-6  # probabilities


class CertificateError(ValueError):
    """The result or its certificate does not hold; the message says what fails."""


@dataclass
class Pool:
    ids: list[str]
    features: list[dict[str, str]]
    households: list[str | None]
    quotas: list[tuple[str, str, int, int, tuple[str, str] | None]]  # category, value, min, max, within

    def applies(self, q, i: int) -> bool:
        f = self.features[i]
        return f.get(q[0]) == q[1] and (q[4] is None or f.get(q[4][0]) == q[4][1])


def _rows(path: Path) -> list[dict[str, str]]:
    text = Path(path).read_text(encoding="utf-8-sig")
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def _within(raw: str | None) -> tuple[str, str] | None:
    if not raw:
        return None
    cat, _, val = raw.partition("=")
    return cat.strip(), val.strip()


def read_pool(*, categories: Path | None = None, respondents: Path | None = None, features: Path | None = None,
              people: Path | None = None, id_column: str | None = None,
              address_columns: list[str] | None = None) -> Pool:
    """The replication format (categories.csv ``category,feature,min,max``; respondents.csv) or
    the sortition-algorithms format (features ``feature,value,min,max``; people with an id
    column and optional address columns)."""
    if categories and respondents:
        qrows, prows = _rows(categories), _rows(respondents)
        quotas = [(r["category"], r["feature"], int(r["min"]), int(r["max"]), _within(r.get("within"))) for r in qrows]
        ids = [r.get("id") or str(i) for i, r in enumerate(prows)]
        return Pool(ids, prows, [None] * len(prows), quotas)
    if features and people:
        qrows, prows = _rows(features), _rows(people)
        quotas = [(r["feature"], r["value"], int(r["min"]), int(r["max"]), _within(r.get("within"))) for r in qrows]
        idc = id_column or (list(prows[0]) if prows else ["id"])[0]
        hh = [("|".join(r[a].lower() for a in address_columns) if address_columns else None) for r in prows]
        counts: dict[str, int] = {}
        for h in hh:
            if h:
                counts[h] = counts.get(h, 0) + 1
        return Pool([r[idc] for r in prows], prows, [h if h and counts[h] > 1 else None for h in hh], quotas)
    raise CertificateError("give the pool: --categories and --respondents, or --features and --people")


def _panel_problem(pool: Pool, members: list[int], k: int) -> str | None:
    if len(members) != k or len(set(members)) != k:
        return f"{len(members)} members ({len(set(members))} distinct), not {k}"
    for q in pool.quotas:
        n = sum(1 for i in members if pool.applies(q, i))
        if not q[2] <= n <= q[3]:
            return f"{q[0]}={q[1]}{' within ' + '='.join(q[4]) if q[4] else ''}: {n} members, quota {q[2]}..{q[3]}"
    homes = [pool.households[i] for i in members if pool.households[i]]
    if len(homes) != len(set(homes)):
        return "two members share a household"
    return None


def _panels(result: dict, pool: Pool) -> tuple[np.ndarray, int]:
    """Marginals of the result's panels (each checked) and how many panels were checked."""
    k = int(result["k"])
    marg = np.zeros(len(pool.ids))
    total = 0.0
    if result.get("panels") is not None:
        entries = [(list(p["members"]), float(p["probability"])) for p in result["panels"]]
        for j, (members, prob) in enumerate(entries):
            bad = _panel_problem(pool, members, k)
            if bad:
                raise CertificateError(f"panel {j} breaks the rules: {bad}")
            marg[members] += prob
            total += prob
        n_checked = len(entries)
    else:  # type panels: each type's members must be interchangeable (same answers, no household)
        tm = [list(m) for m in result["type_members"]]
        for t, members in enumerate(tm):
            cats = sorted({q[0] for q in pool.quotas} | {q[4][0] for q in pool.quotas if q[4]})
            first = [pool.features[members[0]].get(c_) for c_ in cats]
            if any([pool.features[i].get(c_) for c_ in cats] != first for i in members) or (len(members) > 1 and any(
                    pool.households[i] for i in members)):
                raise CertificateError(f"type {t} groups volunteers that are not interchangeable")
        for j, tp in enumerate(result["type_panel_list"]):
            counts = {int(t): int(v) for t, v in tp["counts"].items()}
            if any(not 0 <= v <= len(tm[t]) for t, v in counts.items()):
                raise CertificateError(f"type panel {j} takes more members of a type than it has")
            members = [i for t, v in counts.items() for i in tm[t][:v]]  # any representatives
            bad = _panel_problem(pool, members, k)
            if bad:
                raise CertificateError(f"type panel {j} breaks the rules: {bad}")
            prob = float(tp["probability"])
            for t, v in counts.items():
                marg[tm[t]] += prob * v / len(tm[t])
            total += prob
        n_checked = len(result["type_panel_list"])
    if abs(total - 1.0) > 1e-9:
        raise CertificateError(f"the panels' probabilities sum to {total!r}, not 1")
    return marg, n_checked


class _RelaxedLP:
    """max weights . x over the relaxed panel polytope of the pool (volunteers as variables:
    ``0 <= x <= 1``, ``sum x = k``, every quota, ``<= 1`` per shared household), built once."""

    def __init__(self, pool: Pool, k: int, cap: float = 1.0):
        n = self.n = len(pool.ids)
        h = self.h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        h.addVars(n, np.zeros(n), np.full(n, min(1.0, cap)))
        rows: list[tuple[float, float, list[int]]] = [(float(k), float(k), list(range(n)))]
        for q in pool.quotas:
            rows.append((float(q[2]), float(q[3]), [i for i in range(n) if pool.applies(q, i)]))
        homes: dict[str, list[int]] = {}
        for i, hh in enumerate(pool.households):
            if hh:
                homes.setdefault(hh, []).append(i)
        rows += [(-highspy.kHighsInf, 1.0, m) for m in homes.values()]
        for lo, hi, idx in rows:
            h.addRow(lo, hi, len(idx), np.array(idx, dtype=np.int32), np.ones(len(idx)))

    def max(self, weights: np.ndarray) -> float:
        h = self.h
        h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), weights)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise CertificateError(f"the check LP ended {h.modelStatusToString(h.getModelStatus())}")
        return float(h.getInfo().objective_function_value)


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def _without(pool: Pool, excluded: set[str]) -> Pool:
    """The pool without the ``excluded`` ids (a household is shared only by those left)."""
    keep = [i for i, x in enumerate(pool.ids) if x not in excluded]
    homes = [pool.households[i] for i in keep]
    counts: dict[str, int] = {}
    for h in homes:
        if h:
            counts[h] = counts.get(h, 0) + 1
    return Pool([pool.ids[i] for i in keep], [pool.features[i] for i in keep],
                [h if h and counts[h] > 1 else None for h in homes], pool.quotas)


def certify(result: dict, pool: Pool, *, levels: int | None = None, tol: float = TOL) -> dict:
    """Check ``result`` against ``pool``; raise CertificateError naming the first failure."""
    try:
        if result.get("excluded"):  # a service draw: the volunteers left out of it are left out of the pool
            pool = _without(pool, set(result["excluded"]))
        if list(result["ids"]) != pool.ids:
            raise CertificateError("the result's ids are not the pool file's, in order")
        k = int(result["k"])
        marg, n_panels = _panels(result, pool)
        published = np.asarray(result["probabilities"], dtype=np.float64)
        off = np.abs(marg - published)
        if off.max() > 1e-9:
            i = int(off.argmax())
            raise CertificateError(f"volunteer {pool.ids[i]}'s probability is {marg[i]:.12f} over the panels, "
                                   f"the result says {published[i]:.12f}")
        cert = result.get("certificate")
        if cert is None:
            raise CertificateError("the result carries no certificate (the exact column generation ran, or an "
                                   "older engine): its panels and marginals are checked, its optimality is not")
        body = {key: v for key, v in cert.items() if key != "hash"}
        if _hash(body) != cert.get("hash"):
            raise CertificateError("the certificate's hash does not match its content")
        tm = [list(m) for m in result["type_members"]]
        todo = cert["levels"] if levels is None else cert["levels"][:levels]
        cap = 1.0
        if cert.get("cap") is not None:  # GOLDILOCKS: proved among the distributions under the cap
            cap = float(cert["cap"])
            if not 0 < cap <= 1:
                raise CertificateError(f"the certificate's cap {cap!r} is not a probability")
            if marg.max() > cap + tol:
                i = int(marg.argmax())
                raise CertificateError(f"volunteer {pool.ids[i]}'s probability {marg[i]:.9f} is above the cap "
                                       f"{cap:.9f}")
        vw = np.ones(len(pool.ids))  # the whole-population option: end-to-end weights per volunteer
        if cert.get("end_to_end_weights") is not None:
            ew = [float(v) for v in cert["end_to_end_weights"]]
            if len(ew) != len(tm) or not all(0 < v <= 1 for v in ew):
                raise CertificateError("the certificate's end_to_end_weights are not one weight in (0, 1] per type")
            for t, members in enumerate(tm):
                vw[members] = ew[t]
        lp = _RelaxedLP(pool, k, cap)
        proved = []
        for j, lv in enumerate(todo, start=1):
            z = float(lv["level"])
            w = np.zeros(len(pool.ids))
            const = 0.0
            for t, y in lv["unfixed"]:
                if y < 0:
                    raise CertificateError(f"level {j}: a negative weight")
                w[tm[int(t)]] += float(y) * vw[tm[int(t)]] / len(tm[int(t)])
            for t, mu, floor in lv["fixed"]:
                if mu < 0:
                    raise CertificateError(f"level {j}: a negative weight")
                w[tm[int(t)]] += float(mu) * vw[tm[int(t)]] / len(tm[int(t)])
                const += float(mu) * float(floor)
            ysum = sum(float(y) for _, y in lv["unfixed"])
            if ysum <= 0:
                raise CertificateError(f"level {j}: no weight on the volunteers not yet fixed")
            bound = (lp.max(w) - const) / ysum
            if bound > z + tol:
                raise CertificateError(f"level {j}: the weights allow {bound:.9f} > the level {z:.9f}: they do not "
                                       f"prove that no distribution does better")
            support = [i for t, y in lv["unfixed"] if y > 0 for i in tm[int(t)]]
            low = min(marg[support] * vw[support])
            if low < z - tol:
                raise CertificateError(f"level {j}: the result gives a volunteer {low:.9f}, below the level {z:.9f}")
            for t, mu, floor in lv["fixed"]:
                if min(marg[tm[int(t)]] * vw[tm[int(t)]]) < float(floor) - tol:
                    raise CertificateError(f"level {j}: the result gives a fixed volunteer less than its floor")
            proved.append({"level": z, "bound": bound, "volunteers": len(support)})
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, CertificateError):
            raise
        raise CertificateError(f"the result is not a `sortition select` result with a certificate ({exc!r})") from None
    return {"ok": True, "panels_checked": n_panels, "min_probability": float(marg.min()),
            "levels_proved": len(proved), "levels": len(cert["levels"]), "certificate_hash": cert["hash"],
            "cap": cert.get("cap"), "weighted": cert.get("end_to_end_weights") is not None,
            "proved": proved}
