"""Table plans against the baselines: time, unique pairs met, repeat meetings, per-table deviation.

Panels of 99-200 members over 4-5 rounds, each method given the same number of tables:

  ours          services/sessions/domain/tables.py (design start + swaps; docs/tables.md)
  ours, mix first   the same with priority="mix": repeat meetings let in at a price
  random        a fresh shuffle per round, dealt into the tables
  round-robin   members sorted by their strata, dealt into a grid; round r shifts row i by r*i tables
  GroupSelect   the Sortition Foundation's groupselect-lib (MIT): Legacy, DREAM and HERMES (every
                field at pareto probability 0.5, its most diverse setting), when it can be imported
                from --groupselect (default /tmp/groupselect-peer); never part of Borgerting

Times: CPU seconds of this process (what one free core would take) and wall seconds (which include
whatever else the machine runs). Deviation of a table: the mean over the strata of the L1 distance between the table's category
shares and the panel's; the mean and the worst over every table of every round. "lang" is the
mean number of tables the members who need English sit at per round, against the fewest that hold
them ("asked" rows: the planner is asked to group them; GroupSelect gets the need as its Cluster
field). Panels: the demo's quota categories (gender, age, education, region) with fixed seeds, and
sf_e_110's 7 categories (marginals of ../shared/data/sortition/sf_e_110/intersections.csv) where
that folder is present.

    .venv/bin/python benchmarks/tables.py [--groupselect /tmp/groupselect-peer] [--no-legacy]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from borgerting.scenario import POPULATION_SHARES, REGIONS  # noqa: E402
from services.sessions.domain.tables import TableMember, TableRules, plan_figures, plan_tables  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "sortition"
LANGUAGE_SHARE = 0.06  # members who need English at the table


def apportion(n: int, shares: dict[str, float]) -> list[str]:
    """n values in proportion to the shares (largest remainder), as a stratified panel has them."""
    total = sum(shares.values())
    exact = {v: n * s / total for v, s in shares.items()}
    counts = {v: int(x) for v, x in exact.items()}
    for v in sorted(exact, key=lambda v: exact[v] - counts[v], reverse=True)[: n - sum(counts.values())]:
        counts[v] += 1
    return [v for v, c in counts.items() for _ in range(c)]


def panel(n: int, categories: dict[str, dict[str, float]], seed: int) -> list[TableMember]:
    rng = random.Random(seed)
    columns = {}
    for cat, shares in categories.items():
        values = apportion(n, shares)
        rng.shuffle(values)
        columns[cat] = values
    langs = set(rng.sample(range(n), max(2, round(n * LANGUAGE_SHARE))))
    return [TableMember(id=f"p{i:03d}", strata={c: columns[c][i] for c in categories},
                        language="en" if i in langs else None) for i in range(n)]


def demo_categories() -> dict[str, dict[str, float]]:
    cats = {c: dict(v) for c, v in POPULATION_SHARES.items()}
    cats["region"] = {code: pop for code, _name, pop in REGIONS}
    return cats


def sf_e_categories() -> dict[str, dict[str, float]] | None:
    path = SHARED / "sf_e_110" / "intersections.csv"
    if not path.exists():
        return None
    shares: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    with path.open() as f:
        for row in csv.DictReader(f):
            c1, f1, c2 = row["category 1"], row["feature 1"], row["category 2"]
            shares[c1][c2][f1] = shares[c1][c2].get(f1, 0.0) + float(row["population share"])
    return {c: next(iter(partners.values())) for c, partners in sorted(shares.items())}


def deal(order: list[int], tables: int, rounds: int, step) -> list[list[list[int]]]:
    out = []
    for r in range(rounds):
        round_tables: list[list[int]] = [[] for _ in range(tables)]
        for cell, m in enumerate(order):
            i, j = divmod(cell, tables)
            round_tables[(j + step(r, i)) % tables].append(m)
        out.append(round_tables)
    return out


def random_plan(members, tables, rounds, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(rounds):
        order = list(range(len(members)))
        rng.shuffle(order)
        out.append(deal(order, tables, 1, lambda r, i: 0)[0])
    return out


def round_robin_plan(members, tables, rounds, seed):
    order = sorted(range(len(members)), key=lambda m: tuple(sorted(members[m].strata.items())))
    return deal(order, tables, rounds, lambda r, i: r * i)


def load_groupselect(path: str):
    sys.path.insert(0, path)
    try:
        import numpy as np
        from groupselect import FieldMode, allocate_numpy
    except ImportError:
        return None
    return np, FieldMode, allocate_numpy


def groupselect_plan(gs, algorithm, members, tables, rounds, seed, asked):
    np, FieldMode, allocate_numpy = gs
    cats = sorted(members[0].strata)
    codes = [{v: k for k, v in enumerate(sorted({m.strata[c] for m in members}))} for c in cats]
    rows = [[codes[j][m.strata[c]] for j, c in enumerate(cats)] + [1 if m.language else 0] for m in members]
    participants = np.array(rows, dtype=int)
    fields = {j: FieldMode.Diversify for j in range(len(cats))}
    if asked:
        fields[len(cats)] = FieldMode.Cluster
    settings = {"seed": seed}
    if algorithm == "Hermes":
        settings["pareto_probs"] = {j: 0.5 for j in range(len(cats))}
    size = -(-len(members) // tables)
    result = allocate_numpy(participants, fields, [size] * rounds, algorithm=algorithm, settings=settings)
    return [[[int(p) for p in group] for group in allocation] for allocation in result.ensemble]


def ours_plan(members, tables, rounds, seed, asked, priority="no_repeats"):
    plan = plan_tables(members, TableRules(rounds=rounds, tables=tables, group_languages=asked, seed=seed,
                                           priority=priority))
    index = {m.id: i for i, m in enumerate(members)}
    return [[[index[i] for i in table] for table in round_tables] for round_tables in plan.rounds]


def figures(members, plan):
    ids = [[[members[i].id for i in table] for table in tables] for tables in plan]
    return plan_figures(ids, {m.id: m.strata for m in members}, {m.id: m.language for m in members})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groupselect", default="/tmp/groupselect-peer")
    parser.add_argument("--no-legacy", action="store_true", help="skip GroupSelect Legacy (its 100 attempts are slow)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    gs = load_groupselect(args.groupselect)
    if gs is None:
        print(f"GroupSelect not importable from {args.groupselect}: see docs/tables.md (how to get it); "
              "its rows are left out.\n")
    demo = demo_categories()
    # the shapes where ours was short of a target first (the peer is slow under load)
    shapes = [("demo-99", panel(99, demo, 99), 5, 11), ("demo-200", panel(200, demo, 200), 4, 20),
              ("demo-150", panel(150, demo, 150), 4, 19), ("demo-200", panel(200, demo, 201), 5, 25)]
    sf_e = sf_e_categories()
    if sf_e:
        shapes.insert(1, ("sf_e-110", panel(110, sf_e, 110), 4, 11))
    methods = [("ours", lambda m, t, r, asked: ours_plan(m, t, r, args.seed, asked)),
               ("ours, mix first", lambda m, t, r, asked: ours_plan(m, t, r, args.seed, asked, "mix")),
               ("random", lambda m, t, r, asked: random_plan(m, t, r, args.seed)),
               ("round-robin", lambda m, t, r, asked: round_robin_plan(m, t, r, args.seed))]
    if gs is not None:
        for algorithm in (["Legacy"] if not args.no_legacy else []) + ["Dream", "Hermes"]:
            methods.append((f"GroupSelect {algorithm}",
                            lambda m, t, r, asked, a=algorithm: groupselect_plan(gs, a, m, t, r, args.seed, asked)))
    head = f"{'panel':<9} {'rounds':>6} {'tables':>6}  {'method':<20} {'cpu s':>6} {'wall s':>6} {'pairs':>6} {'repeats':>7} " \
           f"{'mean dev':>8} {'worst':>6}  {'lang':>9}"
    print(head)
    print("-" * len(head))
    for asked in (False, True):
        if asked:
            print("\nasked to group the members who need English:")
        for name, members, rounds, tables in shapes:
            if asked and name not in ("demo-99", "demo-200"):
                continue
            for method, make in methods:
                if asked and method in ("random", "round-robin"):
                    continue
                t0, c0 = time.perf_counter(), time.process_time()
                plan = make(members, tables, rounds, asked)
                took, cpu = time.perf_counter() - t0, time.process_time() - c0
                f = figures(members, plan)
                print(f"{name:<9} {rounds:>6} {tables:>6}  {method:<20} {cpu:>6.2f} {took:>6.2f} {f.unique_pairs:>6} {f.repeats:>7} "
                      f"{f.mean_deviation:>8.4f} {f.worst_deviation:>6.4f}  {f.language_tables:>4.1f}/{f.language_minimum:<4.1f}",
                      flush=True)
    # Re-planning at live check-in: 200 members, 12 not checked in, 4 rounds.
    members = next(m for name, m, rounds, tables in shapes if name == "demo-200" and rounds == 4)
    present = [m.id for m in members][12:]
    t0, c0 = time.perf_counter(), time.process_time()
    plan = plan_tables(members, TableRules(rounds=4, table_size=8, seed=args.seed), present=present)
    cpu, took = time.process_time() - c0, time.perf_counter() - t0
    f = plan_figures(plan.rounds, {m.id: m.strata for m in members}, {m.id: m.language for m in members})
    print(f"\nre-plan at check-in: 188 of 200 present, 4 rounds, tables of ~8 (language members grouped): "
          f"{cpu:.2f} s CPU, {took:.2f} s wall; {f.repeats} repeats, mean dev {f.mean_deviation:.4f}, "
          f"worst {f.worst_deviation:.4f}, lang {f.language_tables:.1f}/{f.language_minimum:.1f}")


if __name__ == "__main__":
    main()
