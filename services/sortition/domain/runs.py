"""What a sortition job computes, pure (data in, data out, called in the worker's thread): the
draw with its fairness report, and a replacement; their inputs were fixed at the freeze, the
reveal or the request, so a job run again computes the same."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Callable

from shared.problems import Conflict

from .api import (Contribution, SortitionInputError, draw_replacement, eligible_instance, final_draw, make_lottery,
                  select, verify_replacement, verify_transcript)
from .engine import ENGINE_VERSION
from .freeze import frozen_instance
from .model import sha256_json

Progress = Callable[[str, float], None]


class JobLost(Conflict):
    """Another worker took the job over (our heartbeat went stale); drop our result."""

    code = "job_lost"

    def __init__(self) -> None:
        super().__init__("another worker has taken this job over")


class JobRejected(Conflict):
    """A job's inputs or outcome no longer fit the assembly's state; the job fails with this."""

    code = "job_rejected"


def _phase(progress: Progress, lo: float, hi: float) -> Progress:
    return lambda msg, frac: progress(msg, lo + (hi - lo) * min(1.0, max(0.0, float(frac))))


def _summary(res) -> dict:
    return {"min": res.min_probability, "max": res.max_probability, "mean": float(res.probabilities.mean()),
            "gini": res.gini, "geometric_mean": res.geometric_mean,
            "zero_probability": int((res.probabilities <= 1e-12).sum())}


def fairness_report(inst, res, transcript: dict, legacy=None, *, legacy_samples: int = 0) -> dict:
    """Probabilities summary, per-category quota check, profiles, LEGACY comparison."""
    probs = res.probabilities
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    selected = [index_of[i] for i in transcript["selected"]]
    counts = inst.panel_counts(selected)
    per_category = []
    for q in inst.quotas:
        rows = [i for i, p in enumerate(inst.people) if q.applies(p.features)]
        expected = float(probs[rows].sum()) if rows else 0.0
        panel = counts[q.key]
        per_category.append({"category": q.category, "value": q.value, "min": q.min, "max": q.max,
                             **({"within": "=".join(q.within)} if q.within else {}),
                             "pool": len(rows), "expected_on_panel": round(expected, 6), "panel": panel,
                             "within_quota": q.min <= panel <= q.max})
    profiles: dict[tuple, list[float]] = defaultdict(list)
    for i, p in enumerate(inst.people):
        profiles[tuple(p.features[c] for c in inst.categories)].append(float(probs[i]))
    return {
        "algorithm": res.algorithm,
        "engine": ENGINE_VERSION,
        "n": inst.n,
        "k": inst.k,
        "seconds": round(res.seconds, 3),
        "probabilities": _summary(res),
        "all_panels_meet_quotas": res.all_panels_valid(),
        "lottery": {"m": transcript["lottery"]["m"], "max_deviation": transcript["lottery"]["max_deviation"]},
        "selected_meets_quotas": not inst.check_panel(selected),
        "per_category": per_category,
        "profiles": sorted(({"features": dict(zip(inst.categories, key)), "volunteers": len(v),
                             "probability": round(sum(v) / len(v), 6)} for key, v in profiles.items()),
                           key=lambda r: (r["probability"], sorted(r["features"].items()))),
        "legacy": None if legacy is None else {**_summary(legacy), "samples": legacy_samples,
                                               "note": "LEGACY (greedy) probabilities are frequencies over "
                                                       "simulated draws"},
        "transcript_hash": transcript["transcript_hash"],
        "pool_hash": transcript["pool_hash"],
        "certificate": res.certificate_summary(),
        # GOLDILOCKS: the cap, LEXIMIN's minimum and maximum, the price of the cap in the minimum
        "goldilocks": res.stats.get("goldilocks"),
        # the whole-population option: the end-to-end chances against LEXIMIN's (no per-volunteer figures)
        "population": ({key: v for key, v in res.stats["population"].items() if key != "participation"}
                       if res.stats.get("population") else None),
    }


def run_draw(freeze: dict, contributions: list[dict], params: dict, progress: Progress, *,
             replacement_commitment: str | None = None) -> dict:
    """The draw, its transcript and fairness report. ``replacement_commitment``: the commitment
    to replacement 1's fresh randomness (its value stays secret until that replacement), published
    in the transcript (covered by its hash, not part of the seed)."""
    clock, seconds = time.perf_counter(), {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name], clock = round(now - clock, 3), now

    pool = frozen_instance(freeze)
    excluded = freeze.get("excluded") or []
    try:
        inst = eligible_instance(pool, [e["id"] for e in excluded])
    except SortitionInputError as exc:
        raise SortitionInputError(f"volunteers who withdrew before the first seed reveal are left out of the draw, "
                                  f"and the rest cannot form a panel: {exc}") from None
    left_out = f" ({len(excluded)} withdrawn left out)" if excluded else ""
    progress(f"{freeze['algorithm']}: {inst.n} volunteers{left_out}, {inst.n_types} profiles, panel of {inst.k}",
             0.0)
    res = select(inst, freeze["algorithm"], progress=_phase(progress, 0.0, 0.6))
    lap(freeze["algorithm"])
    legacy = None
    samples = int(params.get("legacy_samples") or 0)
    if samples and freeze["algorithm"] != "legacy":
        progress(f"LEGACY comparison ({samples} simulated draws)", 0.6)
        legacy = select(inst, "legacy", legacy_samples=samples, seed=0, progress=_phase(progress, 0.6, 0.75))
        lap("legacy")
    progress(f"rounding to a lottery of {freeze['lottery_size']} panels", 0.75)
    lot = make_lottery(inst, res.distribution, freeze["lottery_size"])
    lap("lottery")
    progress("drawing from the lottery", 0.95)
    contribs = [Contribution(c["name"], c["commitment"], c["value"]) for c in contributions]
    t = final_draw(inst, res, contribs, beacon=params.get("beacon_value"), n_reserves=freeze["reserves"],
                   lottery=lot, excluded=excluded, frozen_pool=pool)
    t["beacon_source"] = freeze.get("beacon")  # not part of the seed; the hash covers it like the rest
    if replacement_commitment is not None:
        t["replacement_commitment"] = replacement_commitment
    certificate = res.certificate_summary()  # of the LEXIMIN distribution (`borgerting sortition certify`)
    if certificate is not None:
        t["certificate_hash"] = certificate["hash"]
    t["transcript_hash"] = sha256_json({k: v for k, v in t.items() if k != "transcript_hash"})
    verify_transcript(t, pool)  # self-check: what we publish replays from the frozen pool
    lap("draw_and_verify")
    progress("done", 1.0)
    # the LEXIMIN result with its certificate (its concrete panels left out: the type panels are
    # checked), for `borgerting sortition certify` with the frozen pool files; ``excluded``: the
    # volunteers left out of the draw, whom certify leaves out of those files
    published = None
    if certificate is not None:
        result = res.to_dict(max_panels=0)  # the type panels only (no concrete panel is built)
        published = {**{key: v for key, v in result.items() if key not in ("panels", "panels_note")},
                     "excluded": [e["id"] for e in excluded]}
    return {"transcript": t, "fairness": fairness_report(inst, res, t, legacy, legacy_samples=samples),
            "certificate": published, "min_probability": res.min_probability, "seconds": seconds}


def run_replacement(freeze: dict, draw: dict, position: dict, params: dict, progress: Progress, *,
                    randomness: dict | None = None, next_commitment: str | None = None) -> dict:
    """A replacement and its public transcript (replays with `borgerting sortition verify-replacement`).
    ``randomness``: {commitment, value} committed before the drop-outs were known, revealed in the
    transcript; ``next_commitment``: the commitment to the next replacement's randomness."""
    inst = frozen_instance(freeze)
    algorithm = freeze["algorithm"] if freeze["algorithm"] in ("leximin", "maximin", "nash") else "leximin"
    dropped = params["dropped"]
    progress(f"{algorithm} over the completions for {len(dropped)} seat(s) "
             f"({len(params['excluded'])} volunteers excluded)", 0.0)
    r = draw_replacement(inst, draw, dropped, excluded=params["excluded"], from_reserves=params["from_reserves"],
                         algorithm=algorithm, m=freeze["lottery_size"], progress=_phase(progress, 0.0, 0.9),
                         position=position, randomness=randomness, next_commitment=next_commitment)
    verify_replacement(r, inst)  # self-check: what we publish replays (and every completion meets the quotas)
    progress("done", 1.0)
    return {"transcript": r, "added": r["added"], "panel": r["panel_after"], "dropped": list(dropped),
            "seed": r["seed"], "index": r["selected_index"], "m": r["lottery"]["m"],
            "max_deviation": r["lottery"]["max_deviation"], "algorithm": algorithm, "candidates": r["n_candidates"],
            "candidates_mode": r["candidates"], "excluded": len(r["excluded"]), "meets_quotas": True,
            "randomness_commitment": (r.get("randomness") or {}).get("commitment"),
            "next_commitment": r.get("next_commitment"),
            "candidate_probabilities": {"min": r["fairness"]["min_probability"],
                                        "max": r["fairness"]["max_probability"]}}
