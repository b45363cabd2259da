"""Equal chance from the whole population (issue 17, item 4): the self-selection correction of
Flanigan, Gölz, Gupta and Procaccia, "Neutralizing Self-Selection Bias in Sampling for
Sortition" (NeurIPS 2020).

A citizen reaches the panel in two steps: into the pool (invited and replying: probability
``q_i``, which depends on who they are) and from the pool onto the panel (``pi_i``, what the
engine chooses).  The end-to-end chance is ``q_i pi_i``; it would be ``k / N`` for everyone in an
ideal uniform draw from the population of ``N``.  LEXIMIN makes ``pi`` as equal as possible, so
the groups that reply less often keep their lower end-to-end chance; the whole-population option
makes ``q_i pi_i`` as equal as possible instead (leximin of the end-to-end chances, the paper's
goal of marginals ``pi_i`` proportional to ``1 / q_i`` within the quotas).

``q`` is not observed.  The paper learns it with a logistic model from the pool and a background
sample of the population.  Here the population is known through the register's composition:
citizens per value of every category (``N_{c,v}``).  ``q`` is estimated by calibration (raking,
iterative proportional fitting; Deville & Särndal 1992): inverse-probability weights
``1 / q_i = exp(sum_c lambda_{c, f_c(i)})`` (the reply rate multiplicative in the features) such
that the weighted pool reproduces every population count, ``sum_{i : f_c(i) = v} 1 / q_i =
N_{c,v}``.  Assumptions: the chance of being in the pool depends on the features in the quotas
only (not on anything else that also matters), multiplicatively (no interactions between the
categories: under that model the calibration is consistent), and the figures describe the
population the letters went to.  A value with citizens but no volunteer cannot be calibrated:
its citizens have an end-to-end chance of 0, reported as ``not_represented``.

The figures are part of the algorithm's spec (``population:counts=N1/N2/...``, one count per
plain quota in the quotas' order), so the transcript, the seed material and ``pool-frozen``
name them, and the estimate is recomputed from public data.
"""

from __future__ import annotations

import numpy as np

from .model import Instance, SortitionInputError

MAX_ROUNDS = 2000
RAKING_TOL = 1e-10  # largest relative error of a population count after raking
TOTALS_TOL = 0.01  # the categories' totals must agree within this share


def plain_quotas(inst: Instance) -> list[tuple[str, str]]:
    """The (category, value) pairs whose population counts the spec carries, in its order."""
    return [(q.category, q.value) for q in inst.quotas if q.within is None]


def parse_population(text: str) -> dict[tuple[str, str], int]:
    """CSV lines ``category,value,count`` (a header line ``category,value,...`` and empty lines are
    skipped) -> counts; SortitionInputError naming the first line that is not one."""
    out: dict[tuple[str, str], int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        parts = [x.strip() for x in line.split(",")]
        if not line.strip() or (n == 1 and parts[0].lower() in ("category", "feature")):
            continue
        if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2].isdigit():
            raise SortitionInputError(f"population line {n} is not CATEGORY,VALUE,COUNT: {line.strip()[:80]}")
        if (parts[0], parts[1]) in out:
            raise SortitionInputError(f"population line {n}: {parts[0]}={parts[1]} is listed twice")
        out[(parts[0], parts[1])] = int(parts[2])
    if not out:
        raise SortitionInputError("no population figures given (lines CATEGORY,VALUE,COUNT)")
    return out


def counts_in_order(inst: Instance, figures: dict[tuple[str, str], int]) -> list[int]:
    """The figures as the spec's list (one count per plain quota, in order); SortitionInputError
    when a quota's value has no figure or a figure names no quota."""
    order = plain_quotas(inst)
    missing = [f"{c}={v}" for c, v in order if (c, v) not in figures]
    unknown = [f"{c}={v}" for c, v in figures if (c, v) not in set(order)]
    if missing:
        raise SortitionInputError(f"no population figure for {', '.join(missing[:5])}"
                                  + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    if unknown:
        raise SortitionInputError(f"population figure for {', '.join(unknown[:5])}, which has no quota")
    return [int(figures[key]) for key in order]


def population_spec(counts: list[int]) -> str:
    return "population:counts=" + "/".join(str(int(x)) for x in counts)


def population_algorithm(inst: Instance, figures: list[dict]) -> str:
    """The spec of the whole-population option from figures ``{category, value, count}`` (the
    service's freeze), checked by raking them once (SortitionInputError with what to fix)."""
    table: dict[tuple[str, str], int] = {}
    for f in figures:
        key = (str(f["category"]).strip(), str(f["value"]).strip())
        if key in table:
            raise SortitionInputError(f"population figure {key[0]}={key[1]} is given twice")
        table[key] = int(f["count"])
    counts = counts_in_order(inst, table)
    participation(inst, counts)
    return population_spec(counts)


def parse_counts(raw: str) -> list[int]:
    """``N1/N2/...`` of the spec -> counts."""
    parts = raw.split("/")
    if not all(p.strip().isdigit() for p in parts):
        raise SortitionInputError(f"population counts must be whole numbers separated by '/', not '{raw[:60]}'")
    return [int(p) for p in parts]


def participation(inst: Instance, counts: list[int]) -> tuple[np.ndarray, dict]:
    """``q`` per type (the estimated chance that a citizen of the type is in the pool) by raking
    the pool to the population counts (one per plain quota, in order), and a report."""
    order = plain_quotas(inst)
    if len(counts) != len(order):
        raise SortitionInputError(f"{len(counts)} population counts for {len(order)} quota values "
                                  f"({', '.join(f'{c}={v}' for c, v in order[:6])}{', ...' if len(order) > 6 else ''})")
    N = dict(zip(order, (float(x) for x in counts)))
    c = inst.type_counts.astype(np.float64)
    T = inst.n_types
    col = {cat: j for j, cat in enumerate(inst.categories)}
    has = {key: np.array([inst.type_features[t][col[key[0]]] == key[1] for t in range(T)]) for key in order}
    totals = {cat: sum(N[(cc, v)] for cc, v in order if cc == cat) for cat in inst.categories}
    lo, hi = min(totals.values()), max(totals.values())
    if lo <= 0:
        raise SortitionInputError("the population figures of a category sum to 0")
    if hi > lo * (1 + TOTALS_TOL):
        by = ", ".join(f"{cat} {int(v)}" for cat, v in totals.items())
        raise SortitionInputError(f"the population figures of the categories must describe the same population: "
                                  f"their totals differ by more than {TOTALS_TOL:.0%} ({by})")
    total = sum(totals.values()) / len(totals)
    problems = []
    for key in order:
        pool = int(c[has[key]].sum())
        if pool > N[key]:
            problems.append(f"{key[0]}={key[1]}: {pool} volunteers but {int(N[key])} citizens")
    if problems:
        raise SortitionInputError("the pool has more volunteers than the population has citizens: " + "; ".join(problems))
    if total < inst.n:
        raise SortitionInputError(f"the population ({int(total)}) is smaller than the pool ({inst.n})")
    # every category scaled to the common total; a value without a volunteer cannot be calibrated:
    # its citizens are reported (not_represented) and the category's other values scaled up to
    # the common total (so the categories' margins stay consistent)
    target = {key: N[key] * total / totals[key[0]] for key in order}
    missing = {key: target[key] for key in order if not (c[has[key]] > 0).any() and target[key] > 0}
    for cat in inst.categories:
        keys = [key for key in order if key[0] == cat and key not in missing]
        kept = sum(target[key] for key in keys)
        for key in keys:
            target[key] *= total / kept
    w = np.full(T, total / inst.n)  # citizens per volunteer
    keys = [key for key in order if key not in missing]
    rounds, err = 0, np.inf
    for rounds in range(1, MAX_ROUNDS + 1):
        for key in keys:
            s = float(c[has[key]] @ w[has[key]])
            w[has[key]] *= target[key] / s
        err = max(abs(float(c[has[key]] @ w[has[key]]) / target[key] - 1.0) for key in keys)
        if err < RAKING_TOL:
            break
    q = np.minimum(1.0, 1.0 / w)
    share = inst.k / total
    report = {
        "population": int(round(total)), "share": share,
        "raking_rounds": rounds, "raking_error": float(err),
        "participation_min": float(q.min()), "participation_max": float(q.max()),
        "not_represented": {f"{cat}={v}": int(round(x)) for (cat, v), x in missing.items()},
    }
    return q, report


def weighted_gini(x: np.ndarray, weight: np.ndarray) -> float:
    """Gini of ``x`` with each entry standing for ``weight`` units (sum_ij w_i w_j |x_i - x_j| /
    (2 W^2 mean)), by sorting."""
    o = np.argsort(x)
    x, w = x[o], weight[o]
    W = float(w.sum())
    mean = float(w @ x) / W
    if W <= 0 or mean <= 0:
        return 0.0
    below_w = np.cumsum(w) - w  # weight before each entry
    below_wx = np.cumsum(w * x) - w * x
    return float(np.sum(w * (x * below_w - below_wx)) / (W * W * mean))


def end_to_end(inst: Instance, q: np.ndarray, type_probs: np.ndarray, share: float) -> dict:
    """Figures of the end-to-end chances ``q_t pi_t`` of a distribution (``type_probs``): per
    volunteer as multiples of ``share`` (= k / N, the uniform draw's), and over the population
    that the pool stands for (each type for ``c_t / q_t`` citizens)."""
    ratio = q * type_probs / share
    citizens = inst.type_counts / q
    total = float(citizens.sum())
    return {
        "min_multiple": float(ratio.min()), "max_multiple": float(ratio.max()),
        "population_below_half": float(citizens[ratio < 0.5].sum() / total),
        "population_within_10_percent": float(citizens[np.abs(ratio - 1.0) <= 0.1].sum() / total),
        "gini": weighted_gini(ratio, citizens),
    }
