"""Benchmark: this engine (and the peer library sortition-algorithms, when installed) side by side.

    .venv/bin/python benchmarks/sortition/run.py [--only NAME ...] [--peer] [--timeout S]

Each (instance, engine) runs in its own subprocess, sequentially, so the peak memory
(resource.getrusage ru_maxrss of that process) and the wall time belong to that run alone.
Instances: the folders of ../shared/data/sortition and a synthetic national pool
(synth_national_10000_200: 10,000 volunteers, 6 categories, k=200, numpy seed 2026).
Prints min probability, wall seconds and CPU seconds (process time: on a shared machine the
wall time includes waiting for other jobs), peak memory and the time ratios peer / ours.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "sortition"
sys.path.insert(0, str(ROOT))

INSTANCES = [
    ("example_small_20", 20),
    ("scotland_150_22", 22),
    ("synth_skew_400_40", 40),
    ("example_large_200", 200),
    ("synth_national_10000_200", 200),
]
REFERENCE = {"example_small_20": 0.10, "example_large_200": 0.10, "scotland_150_22": 0.09091,
             "synth_skew_400_40": 0.05309}


def synth_national(n: int = 10_000, k: int = 200, seed: int = 2026):
    """A national pool with self-selection skew: 6 categories (2+5+4+8+2+3 values).

    Population shares define the quotas (k * share, rounded, +-1 band); the pool over-represents
    older, higher-educated, urban and concerned volunteers.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    cats = {
        "gender": (["female", "male"], [0.51, 0.49], [0.55, 0.45]),
        "age": (["16-29", "30-44", "45-59", "60-74", "75+"], [0.22, 0.25, 0.25, 0.19, 0.09],
                [0.12, 0.20, 0.27, 0.30, 0.11]),
        "education": (["none", "level1", "level2_3", "level4+"], [0.22, 0.25, 0.28, 0.25],
                      [0.08, 0.17, 0.30, 0.45]),
        "region": ([f"r{i}" for i in range(8)], [0.2, 0.15, 0.14, 0.12, 0.12, 0.1, 0.1, 0.07],
                   [0.26, 0.17, 0.13, 0.11, 0.11, 0.09, 0.09, 0.04]),
        "settlement": (["urban", "rural"], [0.7, 0.3], [0.78, 0.22]),
        "attitude": (["not_concerned", "somewhat", "very"], [0.3, 0.45, 0.25], [0.12, 0.43, 0.45]),
    }
    people = []
    cols = {c: rng.choice(len(v[0]), size=n, p=np.array(v[2]) / sum(v[2])) for c, v in cats.items()}
    for i in range(n):
        people.append({"id": f"v{i}", **{c: cats[c][0][cols[c][i]] for c in cats}})
    quotas = []
    for c, (vals, pop, _) in cats.items():
        for v, s in zip(vals, pop):
            t = k * s
            quotas.append({"category": c, "value": v, "min": max(0, int(t) - 1), "max": int(t) + 2})
    return people, quotas, k


def load(name: str, k: int):
    from services.sortition.domain import build_instance
    from services.sortition.domain.io_formats import read_replication

    if name == "synth_national_10000_200":
        people, quotas, k = synth_national()
        return build_instance(people, quotas, k)
    return read_replication(DATA / name / "categories.csv", DATA / name / "respondents.csv", k)


def worker_ours(name: str, k: int) -> dict:
    from services.sortition.domain import select

    inst = load(name, k)
    t0, c0 = time.perf_counter(), time.process_time()
    res = select(inst, "leximin")
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    levels = res.stats.get("levels") or [None]
    return {"min": res.min_probability, "max": res.max_probability, "gini": res.gini, "seconds": secs,
            "cpu": cpu, "method": res.stats.get("method"), "relaxed_min": levels[0], "certified": certified(name, res, inst),
            "n": inst.n, "types": inst.n_types, "panels": len(res.distribution.probs),
            "all_panels_valid": res.all_panels_valid(), "stats": {k2: v for k2, v in res.stats.items()
                                                                   if isinstance(v, (int, float))}}


def certified(name: str, res, inst) -> str:
    """`certify` (the independent checker) on the result: from the pool files of the data folder's
    instances, from the generated pool for the synthetic one; all levels, with its CPU time."""
    from services.sortition.certify import CertificateError, Pool, certify, read_pool

    c0 = time.process_time()
    if name == "synth_national_10000_200":
        people, quotas, _ = synth_national()
        pool = Pool([p["id"] for p in people], people, [None] * len(people),
                    [(q["category"], q["value"], q["min"], q["max"], None) for q in quotas])
    else:
        pool = read_pool(categories=DATA / name / "categories.csv", respondents=DATA / name / "respondents.csv")
    try:
        out = certify(res.to_dict(max_panels=0), pool)
    except CertificateError as exc:
        return f"NOT certified: {exc}"
    return f"certified ({out['levels_proved']} of {out['levels']} levels, cpu {time.process_time() - c0:.1f} s)"


def worker_peer(name: str, k: int) -> dict:
    from sortition_algorithms.committee_generation import GUROBI_AVAILABLE, find_distribution_leximin
    from sortition_algorithms.features import read_in_features
    from sortition_algorithms.people import read_in_people
    from sortition_algorithms.settings import Settings

    if not GUROBI_AVAILABLE:
        return {"error": "peer LEXIMIN needs gurobipy, which is not installed"}
    inst = load(name, k)
    fhead = ["feature", "value", "min", "max"]
    fbody = [{"feature": q.category, "value": q.value, "min": str(q.min), "max": str(q.max)} for q in inst.quotas]
    features, _, _ = read_in_features(fhead, fbody, k)
    settings = Settings(id_column="id", columns_to_keep=[], check_same_address=False,
                        check_same_address_columns=[], selection_algorithm="leximin")
    phead = ["id", *inst.categories]
    pbody = [{"id": p.id, **p.features} for p in inst.people]
    people, _ = read_in_people(phead, pbody, features, settings)
    t0, c0 = time.perf_counter(), time.process_time()
    committees, probs, _ = find_distribution_leximin(features, people, k, [])
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    marg = {p.id: 0.0 for p in inst.people}
    for c, pr in zip(committees, probs):
        for i in c:
            marg[i] += pr
    return {"min": min(marg.values()), "max": max(marg.values()), "seconds": secs, "cpu": cpu,
            "panels": len(committees)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="instance names")
    ap.add_argument("--peer", action="store_true", help="also run the peer library (slow)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    ap.add_argument("--worker", nargs=3, metavar=("ENGINE", "NAME", "K"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        engine, name, k = args.worker
        try:
            out = (worker_ours if engine == "ours" else worker_peer)(name, int(k))
        except ImportError as exc:
            out = {"error": f"not installed: {exc.name}"}
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT " + json.dumps(out))
        return
    if not DATA.is_dir():
        print(f"data folder {DATA} not found; only the synthetic instance runs")
    rows = []
    for name, k in INSTANCES:
        if args.only and name not in args.only:
            continue
        if name != "synth_national_10000_200" and not (DATA / name).is_dir():
            continue
        res = {}
        for engine in ["ours"] + (["peer"] if args.peer else []):
            try:
                p = subprocess.run([sys.executable, __file__, "--worker", engine, name, str(k)],
                                   capture_output=True, text=True, timeout=args.timeout,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
                line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
                res[engine] = json.loads(line[-1][7:]) if line else {"error": (p.stderr or "no output")[-300:]}
            except subprocess.TimeoutExpired:
                res[engine] = {"error": f"timeout after {args.timeout:.0f} s"}
            r = res[engine]
            if "error" in r:
                print(f"{name:26s} {engine:5s} ERROR {r['error']}", flush=True)
            else:
                ref = REFERENCE.get(name)
                ok = "" if ref is None else ("  ref OK" if r["min"] >= ref - 1e-4 else f"  BELOW ref {ref}")
                if r.get("relaxed_min") is not None and "relaxation" in (r.get("method") or ""):
                    # the relaxed leximin is an upper bound: reaching its minimum proves exactness
                    ok += ("  = relaxed bound" if r["min"] >= r["relaxed_min"] - 1e-7
                           else f"  below relaxed bound {r['relaxed_min']:.7f}")
                    if "max_shortfall" in r["stats"]:  # every type, not just the minimum
                        ok += f" (largest shortfall {r['stats']['max_shortfall']:.1e})"
                print(f"{name:26s} {engine:5s} min {r['min']:.5f}  max {r['max']:.5f}  {r['seconds']:8.2f} s "
                      f"(cpu {r.get('cpu', float('nan')):7.2f} s)  "
                      f"peak {r['peak_mb']:7.1f} MB  panels {r.get('panels')}{ok}"
                      + (f"  types {r['types']}  all panels meet quotas: {r['all_panels_valid']}  ({r['method']})"
                         f"  {r['certified']}"
                         if engine == "ours" else ""),
                      flush=True)
        if "peer" in res and "error" not in res["peer"] and "error" not in res["ours"]:
            print(f"{name:26s} ratio peer/ours: {res['peer']['seconds'] / res['ours']['seconds']:.1f}x wall, "
                  f"{res['peer']['cpu'] / res['ours']['cpu']:.1f}x cpu", flush=True)
        rows.append((name, res))


if __name__ == "__main__":
    main()
