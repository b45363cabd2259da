"""Benchmark: alternates chosen for drop-outs against reserves drawn like the panel (issue 17, item 4).

    .venv/bin/python benchmarks/sortition/alternates.py [--only NAME ...] [--trials 200]

For each pool: a LEXIMIN panel drawn with a fixed numpy seed, seeded drop-out rates per
(category, value) (uniform in [0, --max-rate]; a volunteer's rate combines those of their
answers), and three lists of ``a`` alternates: chosen by `alternates.choose_alternates` (100
scenarios), drawn like the panel (in proportion to the selection probability), and the engine's
draw reserves (`draw.draw_reserves`, look-alikes of shuffled members); plus no alternates.  The
simulation (the same seeded trials for every list: members and alternates drop out, the best
completion from the alternates left) prints how often the panel ends full and within every quota,
the mean seats left empty and the mean quota violation.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "sortition"
sys.path.insert(0, str(ROOT))

from services.sortition.domain import build_instance, select  # noqa: E402
from services.sortition.domain.alternates import (choose_alternates, dropout_rates, like_the_panel,  # noqa: E402
                                                  simulate)
from services.sortition.domain.draw import HashPRNG, draw_reserves  # noqa: E402
from services.sortition.domain.io_formats import read_replication  # noqa: E402
from services.sortition.domain.synth import synth_pool  # noqa: E402

# name, k, alternates
INSTANCES = [("synth_120_3cat", 12, 4), ("scotland_150_22", 22, 6), ("synth_skew_400_40", 40, 8)]


def load(name: str, k: int):
    if name == "synth_120_3cat":  # the unit test's pool (domain/synth.py)
        people, quotas, k = synth_pool(120, k, categories=3, seed=4, band=0)
        return build_instance(people, quotas, k)
    d = DATA / name
    return read_replication(d / "categories.csv", d / "respondents.csv", k)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--max-rate", type=float, default=0.05)
    args = ap.parse_args()
    print(f"# alternates, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, {args.trials} trials, "
          f"rates per value uniform in [0, {args.max_rate}]")
    print("| pool | k | a | mean drop-out on the panel | alternates | full and within quotas | seats short | "
          "quota violation | choice s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, k, a in INSTANCES:
        if args.only and name not in args.only:
            continue
        inst = load(name, k)
        res = select(inst, "leximin")
        rng = np.random.default_rng(7)
        panels = res.panels()
        w = np.array([p for _, p in panels])
        panel = panels[int(rng.choice(len(panels), p=w / w.sum()))][0]
        rates = {(q.category, q.value): float(np.round(rng.uniform(0.0, args.max_rate), 3)) for q in inst.quotas}
        r = dropout_rates(inst, rates)
        t0 = time.process_time()
        chosen = choose_alternates(inst, panel, a, r, scenarios=100, seed=1)
        secs = time.process_time() - t0
        lists = {"chosen for drop-outs": chosen,
                 "drawn like the panel": like_the_panel(inst, panel, a, res.probabilities, seed=1),
                 "draw reserves (look-alikes)": draw_reserves(inst, panel, HashPRNG("00" * 32), a),
                 "none": []}
        for label, lst in lists.items():
            s = simulate(inst, panel, lst, r, trials=args.trials, seed=3)
            print(f"| {name} | {k} | {a} | {r[panel].mean():.3f} | {label} | {s['full_and_within_quotas']:.3f} | "
                  f"{s['mean_seats_short']:.3f} | {s['mean_quota_violation']:.3f} | "
                  f"{f'{secs:.1f}' if lst is chosen else ''} |", flush=True)


if __name__ == "__main__":
    main()
