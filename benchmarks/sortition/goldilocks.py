"""Benchmark: GOLDILOCKS against LEXIMIN on the handbook's pools (issue 17, item 4).

    .venv/bin/python benchmarks/sortition/goldilocks.py [--only NAME ...] [--caps 3 2]

For each pool: LEXIMIN's minimum and maximum probability (and the maximum as a multiple of k/n),
GOLDILOCKS with the cap its objective chooses (gamma = 1), and GOLDILOCKS with the organisers'
caps (default 3 x and 2 x k/n; "below the bound" when the quotas force someone higher): minimum,
maximum, the price of the cap in the minimum (LEXIMIN's minimum - GOLDILOCKS'), the objective
``max / (k/n) + (k/n) / min``, CPU seconds, whether every panel meets every quota, and whether
`certify` (the independent checker) proves the capped leximin.  One process, one run at a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "sortition"
sys.path.insert(0, str(ROOT))

from services.sortition.certify import CertificateError, certify, read_pool  # noqa: E402
from services.sortition.domain import SortitionInputError, build_instance, select  # noqa: E402
from services.sortition.domain.goldilocks import goldilocks_value  # noqa: E402
from services.sortition.domain.io_formats import read_replication  # noqa: E402
from services.sortition.domain.synth import synth_pool  # noqa: E402

INSTANCES = [("example_small_20", 20), ("scotland_150_22", 22), ("synth_skew_400_40", 40),
             ("synth_1000_6cat", 20)]


def load(name: str, k: int):
    if name == "synth_1000_6cat":  # seeded synthetic pool (domain/synth.py), no pool files
        people, quotas, k = synth_pool(1000, k, categories=6, seed=2026)
        return build_instance(people, quotas, k), None
    d = DATA / name
    inst = read_replication(d / "categories.csv", d / "respondents.csv", k)
    return inst, read_pool(categories=d / "categories.csv", respondents=d / "respondents.csv")


def row(name, label, res, share, lex_min, pool) -> str:
    t0 = time.process_time()
    cert = "-"
    if pool is not None and res.distribution.certificate is not None:
        try:
            out = certify(res.to_dict(max_panels=0), pool)
            cert = f"yes ({out['levels_proved']} levels)"
        except CertificateError as exc:
            cert = f"NO: {exc}"
    g = res.stats.get("goldilocks") or {}
    mn, mx = res.min_probability, res.max_probability
    return (f"| {name} | {label} | {g.get('cap', float('nan')):.5f} | {mn:.5f} | {mx:.5f} | {mx / share:.2f} | "
            f"{lex_min - mn:.5f} | {goldilocks_value(mx, mn, share, 1.0):.3f} | {res.seconds:.1f} | "
            f"{res.all_panels_valid()} | {cert} ({time.process_time() - t0:.1f} s) |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--caps", nargs="*", type=float, default=[3.0, 2.0])
    args = ap.parse_args()
    print(f"# GOLDILOCKS vs LEXIMIN, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    print("| pool | algorithm | cap | min | max | max / (k/n) | price in min | objective | s | panels ok | certified |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, k in INSTANCES:
        if args.only and name not in args.only:
            continue
        inst, pool = load(name, k)
        share = inst.k / inst.n
        lex = select(inst, "leximin")
        print(row(name, "leximin", lex, share, lex.min_probability, pool).replace("| nan |", "| - |", 1), flush=True)
        for spec in ["goldilocks"] + [f"goldilocks:cap={c:g}" for c in args.caps]:
            try:
                res = select(inst, spec)
            except SortitionInputError as exc:
                print(f"| {name} | {spec} | - | - | - | - | - | - | - | - | {exc} |", flush=True)
                continue
            print(row(name, spec, res, share, lex.min_probability, pool), flush=True)


if __name__ == "__main__":
    main()
