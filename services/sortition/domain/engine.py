"""Public entry points: run an algorithm on an Instance and report the result.

    inst = build_instance(people_dicts, quotas, k)            # or io_formats.read_*
    res = select(inst, "leximin")                              # LEXIMIN | MAXIMIN | NASH | LEGACY
    res.probabilities, res.min_probability, res.to_dict()
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import highspy
import numpy as np

from .baselines import legacy_types, nash_types
from .goldilocks import goldilocks_types
from .expand import concrete_panels, count_concrete_panels, iter_expansion
from .highs_util import INF, PanelOracle, new_highs
from .leximin import Progress, TypeDistribution, leximin_types
from .model import Instance, SortitionInputError, canonical_json
from .population import end_to_end, parse_counts, participation
from .relaxation import certificate_levels
from .sparse import sparse_rows

# Named in every result, transcript and pool-frozen event, and part of the draw's seed material:
# raised whenever the engine's output for the same input changes, so that whoever re-runs a
# published draw knows which engine made its distribution. 1.1: the face walk picks panels for
# the step length (7f87a33), the solvers run deterministically (70bfa86), sparse panels.
ENGINE_VERSION = "borgerting-sortition 1.1"
# the result's "certificate": per level of the relaxed leximin, the dual weights over types that
# prove it (relaxation.relaxed_leximin); `borgerting sortition certify` checks it
CERTIFICATE_KIND = "leximin-relaxation-duals-v1"
# GOLDILOCKS: the same levels and weights for the leximin among distributions with every probability
# at most ``cap`` (a field of the certificate, covered by its hash; certify adds it to its LPs)
CAPPED_CERTIFICATE_KIND = "capped-leximin-relaxation-duals-v1"
# the whole-population option: the levels are of the end-to-end chances up to a constant, w_t * p_t,
# with the weights w_t (per type, covered by the hash) in the certificate's "end_to_end_weights"
WEIGHTED_CERTIFICATE_KIND = "weighted-leximin-relaxation-duals-v1"
ALGORITHMS = ("leximin", "maximin", "nash", "legacy", "goldilocks", "population")


def parse_algorithm(spec: str) -> tuple[str, dict]:
    """``name`` or ``goldilocks:cap=3`` (GOLDILOCKS with every chance at most 3 k/n; ``gamma=G``
    weighs the minimum) or ``population:counts=N1/N2/...`` (the whole-population option: citizens
    per plain quota, in the quotas' order): the algorithm and its options.  The spec is what
    transcripts record."""
    name, _, rest = spec.strip().lower().partition(":")
    if name not in ALGORITHMS:
        raise SortitionInputError(f"unknown algorithm '{spec}' (choose from {', '.join(ALGORITHMS)})")
    options: dict = {}
    if name == "population":
        key, _, value = rest.partition("=")
        if key != "counts":
            raise SortitionInputError("the whole-population option needs the population's figures "
                                      "(population:counts=N1/N2/..., one count per quota value)")
        return name, {"counts": parse_counts(value)}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        if name != "goldilocks" or key not in ("cap", "gamma"):
            raise SortitionInputError(f"unknown option '{part}' of algorithm {name}"
                                      + (" (goldilocks takes cap=MULTIPLE_OF_K/N and gamma=G)"
                                         if name == "goldilocks" else ""))
        try:
            options[key] = float(value)
        except ValueError:
            raise SortitionInputError(f"algorithm option {key} must be a number, not '{value}'") from None
        if not options[key] > 0 or not np.isfinite(options[key]):
            raise SortitionInputError(f"algorithm option {key} must be positive")
    return name, options


def algorithm_spec(name: str, *, cap_multiple: float | None = None, gamma: float | None = None) -> str:
    """The spec string of ``parse_algorithm`` (``goldilocks:cap=3``)."""
    opts = [f"{key}={value:g}" for key, value in (("cap", cap_multiple), ("gamma", gamma)) if value is not None]
    spec = name.lower() + (":" + ",".join(opts) if opts else "")
    parse_algorithm(spec)
    return spec


def gini(p: np.ndarray) -> float:
    p = np.sort(np.asarray(p, dtype=np.float64))
    n = len(p)
    s = p.sum()
    if n == 0 or s <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * p) / (n * s))


def geometric_mean(p: np.ndarray) -> float:
    p = np.asarray(p, dtype=np.float64)
    if np.any(p <= 0):
        return 0.0
    return float(np.exp(np.mean(np.log(p))))


@dataclass
class SelectionResult:
    instance: Instance
    algorithm: str
    distribution: TypeDistribution  # over type-count panels
    seconds: float
    stats: dict = field(default_factory=dict)

    @property
    def type_probabilities(self) -> np.ndarray:
        return self.distribution.type_probabilities(self.instance)

    @property
    def probabilities(self) -> np.ndarray:
        """Selection probability of every volunteer, in input row order."""
        return self.type_probabilities[self.instance.type_of]

    @property
    def min_probability(self) -> float:
        return float(self.probabilities.min())

    @property
    def max_probability(self) -> float:
        return float(self.probabilities.max())

    @property
    def gini(self) -> float:
        return gini(self.probabilities)

    @property
    def geometric_mean(self) -> float:
        return geometric_mean(self.probabilities)

    def quota_check(self) -> list[dict]:
        """Check every panel of the distribution (as type counts) against every constraint."""
        return [{"panel": i, "ok": bool(self.instance.check_sparse_panel(t, x))}
                for i, (t, x) in enumerate(sparse_rows(self.distribution.panels))]

    def all_panels_valid(self) -> bool:
        return all(self.instance.check_sparse_panel(t, x) for t, x in sparse_rows(self.distribution.panels))

    def panels(self, max_panels: int | None = None) -> list[tuple[list[int], float]] | None:
        """Concrete panels (row indices) with probabilities; exact marginals (see expand.py)."""
        return concrete_panels(self.instance, self.distribution, max_panels)

    def to_dict(self, *, max_panels: int | None = 200_000, include_panels: bool = True) -> dict:
        return {key: _materialise(value) for key, value in self._fields(max_panels, include_panels)}

    def certificate_summary(self) -> dict | None:
        """``{kind, hash, levels}`` of the certificate (None when the column generation ran): the
        hash is SHA-256 of canonical_json({kind, levels}), computed level by level."""
        cert = self.distribution.certificate
        if cert is None:
            return None
        # the keys in canonical (sorted) order: cap, kind, levels
        digest = hashlib.sha256(canonical_json(self._certificate_head())[:-1].encode("utf-8") + b',"levels":[')
        for j, lv in enumerate(certificate_levels(cert)):
            digest.update((("," if j else "") + canonical_json(lv)).encode("utf-8"))
        digest.update(b"]}")
        head = {key: v for key, v in self._certificate_head().items() if key != "end_to_end_weights"}
        return {**head, "hash": digest.hexdigest(), "levels": len(cert)}

    def _certificate_head(self) -> dict:
        cap, weights = self.distribution.cap, self.distribution.weights
        if weights is not None:  # (the keys sort before "levels", which the hash appends last)
            return {"end_to_end_weights": [float(v) for v in weights], "kind": WEIGHTED_CERTIFICATE_KIND}
        return {"kind": CERTIFICATE_KIND} if cap is None else {"cap": float(cap), "kind": CAPPED_CERTIFICATE_KIND}

    def write_json(self, fp: TextIO, *, max_panels: int | None = 200_000, include_panels: bool = True) -> None:
        """Write ``to_dict()`` as JSON to ``fp``, the concrete panels one at a time: the output of
        a large pool is never held in memory whole (one field per line, panels one per line)."""
        _stream(fp, dict(self._fields(max_panels, include_panels)), "\n ", expand=True)
        fp.write("\n")

    def _fields(self, max_panels: int | None, include_panels: bool) -> Iterator[tuple[str, Any]]:
        """The result's fields in order; the concrete panels as an iterator (counted first: when
        there are more than ``max_panels`` none is built)."""
        inst = self.instance
        probs = self.probabilities
        yield from {
            "engine": ENGINE_VERSION,
            "algorithm": self.algorithm,
            "n": inst.n,
            "k": inst.k,
            "ids": [p.id for p in inst.people],
            "probabilities": [float(v) for v in probs],
            "min_probability": float(probs.min()),
            "max_probability": float(probs.max()),
            "mean_probability": float(probs.mean()),
            "gini": self.gini,
            "geometric_mean": self.geometric_mean,
            "types": inst.n_types,
            "type_panels": len(self.distribution.probs),
            "all_panels_meet_quotas": self.all_panels_valid(),
            "seconds": self.seconds,
            "stats": {k: v for k, v in self.stats.items() if v is not None},
            "pool_hash": inst.pool_hash(),
            "quotas_hash": inst.quotas_hash(),
        }.items()
        summary = self.certificate_summary()
        if summary is not None:  # streamed level by level
            yield "certificate", {**self._certificate_head(),
                                  "levels": certificate_levels(self.distribution.certificate), "hash": summary["hash"]}
        if not include_panels:
            return
        if max_panels is not None and count_concrete_panels(inst, self.distribution, max_panels) > max_panels:
            yield "panels", None
            yield "panels_note", (f"more than {max_panels} concrete panels; see type_panel_list "
                                  "(members of a type are interchangeable)")
        else:
            # a concrete panel has its type panel's counts (household members are types of
            # their own), so its quota check is the type panel's, done once per type panel
            valid: dict[bytes, bool] = {}

            def meets(x: np.ndarray) -> bool:
                key = x.tobytes()
                if key not in valid:
                    valid[key] = bool(inst.check_type_panel(x))
                return valid[key]

            yield "panels", ({"members": m, "probability": p, "meets_quotas": meets(x)}
                             for x, m, p in iter_expansion(inst, self.distribution))
        yield "type_panel_list", [
            {"counts": {str(t): v for t, v in zip(ts.tolist(), xs.tolist()) if v}, "probability": float(p)}
            for (ts, xs), p in zip(sparse_rows(self.distribution.panels), self.distribution.probs)
        ]
        yield "type_members", inst.type_members


def _materialise(value: Any) -> Any:
    if isinstance(value, Iterator):
        return [_materialise(v) for v in value]
    if isinstance(value, dict):
        return {k: _materialise(v) for k, v in value.items()}
    return value


def _lazy(value: Any) -> bool:
    return isinstance(value, Iterator) or (isinstance(value, dict) and any(_lazy(v) for v in value.values()))


def _stream(fp: TextIO, value: Any, indent: str, *, expand: bool = False) -> None:
    """JSON of ``value`` to ``fp``; iterators (and dicts holding them, or ``expand``) element by
    element, everything else in one piece."""
    if isinstance(value, Iterator):
        fp.write("[")
        for j, item in enumerate(value):
            fp.write(("," if j else "") + indent + " ")
            _stream(fp, item, indent + " ")
        fp.write(indent + "]")
    elif isinstance(value, dict) and (expand or _lazy(value)):
        fp.write("{")
        for j, (key, item) in enumerate(value.items()):
            fp.write(("," if j else "") + indent + json.dumps(key) + ": ")
            _stream(fp, item, indent + " ")
        fp.write(indent[:-1] + "}")
    else:
        fp.write(json.dumps(value, ensure_ascii=False))


def diagnose_infeasible(inst: Instance) -> str:
    """Smallest total relaxation of the quotas (slack IP) that makes some panel exist."""
    T = inst.n_types
    h = new_highs()
    A = inst.quota_matrix
    nq = A.shape[0]
    # columns: x_t (T), s_lo_q (nq), s_hi_q (nq)
    ncol = T + 2 * nq
    lb = np.zeros(ncol)
    ub = np.concatenate([inst.type_counts.astype(float), np.full(2 * nq, INF)])
    h.addVars(ncol, lb, ub)
    h.changeColsIntegrality(ncol, np.arange(ncol, dtype=np.int32),
                            np.full(ncol, highspy.HighsVarType.kInteger, dtype=np.uint8))
    cost = np.concatenate([np.zeros(T), np.ones(2 * nq)])
    h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32), cost)
    h.addRow(inst.k, inst.k, T, np.arange(T, dtype=np.int32), np.ones(T))
    for j in range(nq):
        ts = np.nonzero(A[j])[0]
        idx = np.concatenate([ts, [T + j]]).astype(np.int32)
        h.addRow(inst.quota_lo[j], INF, len(idx), idx, np.concatenate([np.ones(len(ts)), [1.0]]))
        idx = np.concatenate([ts, [T + nq + j]]).astype(np.int32)
        h.addRow(-INF, inst.quota_hi[j], len(idx), idx, np.concatenate([np.ones(len(ts)), [-1.0]]))
    for hh in inst.households:
        h.addRow(-INF, 1.0, len(hh), np.array(hh, dtype=np.int32), np.ones(len(hh)))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return "no panel of this size exists even without quotas (households or pool too small)"
    v = np.rint(np.array(h.getSolution().col_value)).astype(int)
    parts = []
    cats = set()
    for j, q in enumerate(inst.quotas):
        if v[T + j] > 0:
            parts.append(f"{q.label} min {q.min} -> {q.min - v[T + j]} (by {v[T + j]})")
            cats.add(q.category)
        if v[T + nq + j] > 0:
            parts.append(f"{q.label} max {q.max} -> {q.max + v[T + nq + j]} (by {v[T + nq + j]})")
            cats.add(q.category)
    return (f"no panel of {inst.k} meets all quotas together; the conflicting categories are "
            f"{', '.join(sorted(cats))}; the smallest relaxation that works: " + "; ".join(parts))


def check_feasible(inst: Instance) -> None:
    oracle = PanelOracle(inst)
    _, x, _ = oracle.solve(np.zeros(inst.n_types))
    if x is None:
        raise SortitionInputError(diagnose_infeasible(inst))


def whole_population_types(inst: Instance, counts: list[int], *, progress: Progress | None = None) -> TypeDistribution:
    """The whole-population option (population.py): each volunteer's chance of being in the pool
    ``q_t`` estimated from the population's figures, then the leximin of the end-to-end chances
    ``q_t p_t``; ``stats["population"]`` compares them with LEXIMIN's (its relaxed vector)."""
    from .relaxation import relaxed_leximin

    q, report = participation(inst, counts)
    if progress:
        progress(f"whole population: {report['population']} citizens, estimated chance of volunteering "
                 f"{report['participation_min']:.2e}..{report['participation_max']:.2e}", 0.01)
    share = inst.k / report["population"]
    dist = leximin_types(inst, progress=progress, weights=q / q.max())
    lex, _ = relaxed_leximin(inst)
    report.update(participation=[float(v) for v in q],
                  end_to_end=end_to_end(inst, q, dist.type_probabilities(inst), share),
                  leximin_end_to_end=end_to_end(inst, q, lex, share))
    dist.stats["population"] = report
    return dist


def select(inst: Instance, algorithm: str = "leximin", *, progress: Progress | None = None,
           legacy_samples: int = 1000, seed: int = 0) -> SelectionResult:
    """Run ``algorithm`` (leximin, maximin, nash, legacy or goldilocks, with its options as in
    ``parse_algorithm``: ``goldilocks:cap=3``) on ``inst``."""
    algorithm = algorithm.strip().lower()
    name, options = parse_algorithm(algorithm)
    t0 = time.perf_counter()
    check_feasible(inst)
    if name == "goldilocks":
        cap = options.get("cap")
        dist = goldilocks_types(inst, cap=None if cap is None else cap * inst.k / inst.n,
                                gamma=options.get("gamma", 1.0), progress=progress)
    elif name == "population":
        dist = whole_population_types(inst, options["counts"], progress=progress)
    elif algorithm == "leximin":
        dist = leximin_types(inst, progress=progress)
    elif algorithm == "maximin":
        dist = leximin_types(inst, maximin_only=True, progress=progress)
    elif algorithm == "nash":
        dist = nash_types(inst, progress=progress)
    else:
        dist = legacy_types(inst, samples=legacy_samples, seed=seed, progress=progress)
    secs = time.perf_counter() - t0
    return SelectionResult(inst, algorithm, dist, secs, dict(dist.stats))
