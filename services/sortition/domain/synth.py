"""Synthetic national pools for tests and benchmarks (seeded, pure numpy; no personal data).

``synth_pool(n, k, categories=10)`` draws ``n`` volunteers whose answers to ``categories``
categories follow a self-selected pool (older, more educated, more concerned volunteers over-
represented) while the quotas follow the population: ``k * share`` rounded, with a band of
``band`` seats below and ``band + 1`` above.  With 10 categories (2, 5, 4, 8, 2, 3, 3, 4, 2, 3
values: 92,160 possible profiles) 100,000 volunteers have about 40,000 distinct profiles, the
shape of a national register reply.  ``categories=6`` takes the first six (1,920 profiles).
"""

from __future__ import annotations

import numpy as np

# name: (values, population shares, pool shares (self-selection))
CATEGORIES: list[tuple[str, list[str], list[float], list[float]]] = [
    ("gender", ["female", "male"], [0.51, 0.49], [0.55, 0.45]),
    ("age", ["16-29", "30-44", "45-59", "60-74", "75+"], [0.22, 0.25, 0.25, 0.19, 0.09],
     [0.12, 0.20, 0.27, 0.30, 0.11]),
    ("education", ["none", "level1", "level2_3", "level4+"], [0.22, 0.25, 0.28, 0.25], [0.08, 0.17, 0.30, 0.45]),
    ("region", [f"r{i}" for i in range(8)], [0.2, 0.15, 0.14, 0.12, 0.12, 0.1, 0.1, 0.07],
     [0.26, 0.17, 0.13, 0.11, 0.11, 0.09, 0.09, 0.04]),
    ("settlement", ["urban", "rural"], [0.7, 0.3], [0.78, 0.22]),
    ("attitude", ["not_concerned", "somewhat", "very"], [0.3, 0.45, 0.25], [0.12, 0.43, 0.45]),
    ("ethnicity", ["majority", "minority_a", "minority_b"], [0.82, 0.1, 0.08], [0.88, 0.07, 0.05]),
    ("income", ["q1", "q2", "q3", "q4"], [0.25, 0.25, 0.25, 0.25], [0.17, 0.23, 0.27, 0.33]),
    ("disability", ["no", "yes"], [0.82, 0.18], [0.87, 0.13]),
    ("housing", ["owner", "renter", "social"], [0.63, 0.2, 0.17], [0.7, 0.19, 0.11]),
]


def synth_pool(n: int, k: int, *, categories: int = 10, seed: int = 2026, band: int = 1
               ) -> tuple[list[dict[str, str]], list[dict], int]:
    """(people dicts with ``id`` and one answer per category, quota dicts, k)."""
    if not 1 <= categories <= len(CATEGORIES):
        raise ValueError(f"categories must be 1..{len(CATEGORIES)}")
    rng = np.random.default_rng(seed)
    cats = CATEGORIES[:categories]
    cols = [rng.choice(len(vals), size=n, p=np.array(pool) / sum(pool)) for _, vals, _, pool in cats]
    people = [{"id": f"v{i}", **{name: vals[col[i]] for (name, vals, _, _), col in zip(cats, cols)}}
              for i in range(n)]
    quotas = []
    for name, vals, pop, _ in cats:
        for v, s in zip(vals, pop):
            t = k * s
            quotas.append({"category": name, "value": v, "min": max(0, int(t) - band), "max": int(t) + band + 1})
    return people, quotas, k
