"""Benchmark: the whole-population option against LEXIMIN (issue 17, item 4).

    .venv/bin/python benchmarks/sortition/population.py [--only NAME ...] [--reply 0.02]

Seeded synthetic pools (domain/synth.py: the pool over-represents the older, the more educated and
the more concerned; the quotas follow the population).  The population is ``n / reply`` citizens
with the synth module's population shares per value (rounded); each volunteer's chance of having
volunteered is estimated from those figures (raking), then the end-to-end chances (volunteering x
selection) are made as equal as possible.  For LEXIMIN (its relaxed vector, the same as its
distribution's marginals) and the whole-population result: the end-to-end chance's lowest and
highest multiple of k/N (the uniform draw from the population), the share of the population
within 10 % of k/N and below half of it, the population-weighted Gini of the end-to-end
chances, the selection probabilities' min and max, CPU seconds, whether every panel meets every
quota, and whether `certify` proves every level of the weighted certificate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.sortition.certify import CertificateError, Pool, certify  # noqa: E402
from services.sortition.domain import build_instance, select  # noqa: E402
from services.sortition.domain.population import counts_in_order, population_spec  # noqa: E402
from services.sortition.domain.synth import CATEGORIES, synth_pool  # noqa: E402

INSTANCES = {"synth_400_4cat": (400, 20, 4), "synth_1000_4cat": (1000, 30, 4), "synth_2000_5cat": (2000, 40, 5)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--reply", type=float, default=0.02, help="share of the population in the pool")
    args = ap.parse_args()
    print(f"# whole population vs LEXIMIN, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, "
          f"pool = {args.reply:.0%} of the population")
    print("| pool | N | k | algorithm | end-to-end min / (k/N) | max / (k/N) | population within 10 % | below half | "
          "Gini (population) | selection min | selection max | CPU s | panels ok | certified |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (n, k, cats) in INSTANCES.items():
        if args.only and name not in args.only:
            continue
        people, quotas, k = synth_pool(n, k, categories=cats, seed=2026)
        inst = build_instance(people, quotas, k)
        N = round(n / args.reply)
        figures = {(c, v): round(N * s) for c, vals, pop, _ in CATEGORIES[:cats] for v, s in zip(vals, pop)}
        t0 = time.process_time()
        res = select(inst, population_spec(counts_in_order(inst, figures)))
        cpu = time.process_time() - t0
        p = res.stats["population"]
        pool = Pool([x["id"] for x in people], people, [None] * n,
                    [(q["category"], q["value"], q["min"], q["max"], None) for q in quotas])
        try:
            out = certify(res.to_dict(max_panels=0), pool)
            cert = f"yes ({out['levels_proved']} levels)"
        except CertificateError as exc:
            cert = f"NO: {exc}"
        for label, e, sel in (("leximin", p["leximin_end_to_end"], "-"),
                              ("population", p["end_to_end"], f"{res.min_probability:.5f} | {res.max_probability:.5f}")):
            sel = sel if sel != "-" else "- | -"
            tail = f"{cpu:.1f} | {res.all_panels_valid()} | {cert}" if label == "population" else "- | - | -"
            print(f"| {name} | {p['population']:,} | {k} | {label} | {e['min_multiple']:.3f} | {e['max_multiple']:.3f} | "
                  f"{e['population_within_10_percent']:.1%} | {e['population_below_half']:.1%} | {e['gini']:.3f} | "
                  f"{sel} | {tail} |", flush=True)


if __name__ == "__main__":
    main()
