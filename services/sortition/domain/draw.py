"""Verifiable final draw: seed derivation, deterministic PRNG, transcript, replay, reserves.

Seed.  ``seed = SHA-256(canonical JSON of {engine, algorithm, pool_hash, quotas_hash,
distribution_hash, contributions: [{name, value}] sorted by name, beacon})`` where canonical JSON
is ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8.  Every
contribution is checked against its commitment ``SHA-256(value)`` (hex) published earlier.

PRNG.  SHA-256 in counter mode: block i = ``SHA-256(seed_bytes || i as 8-byte big endian)``;
integers are read 8 bytes at a time (big endian) and ``randbelow(n)`` uses rejection sampling
(discard values >= 2^64 - 2^64 mod n), so it is unbiased and identical on every platform.

Draw.  ``index = randbelow(m)`` picks one of the m lottery panels; then the ordered reserve
list is drawn from the same stream (see :func:`draw_reserves`).

Exclusions (transcript version 2).  Volunteers of the frozen pool who withdrew before the seed
could be known are listed in ``excluded`` ([{id, reason}] sorted by id); the draw runs over the
frozen pool without them (:func:`eligible_instance`) and the list enters the seed material, so
``verify`` replays it from the frozen pool files.  A version 1 transcript has no such field:
nobody was excluded and the seed material has no ``excluded`` key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

from .model import Instance, SortitionInputError, build_instance, sha256_json

TRANSCRIPT_VERSION = 2
KNOWN_VERSIONS = (1, 2)  # 1: before exclusions (no `excluded` field)


class VerificationError(Exception):
    """The transcript does not replay; the message names what differs."""


class HashPRNG:
    def __init__(self, seed_hex: str):
        self.seed = bytes.fromhex(seed_hex)
        self.counter = 0
        self.buf = b""

    def _bytes(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += hashlib.sha256(self.seed + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def u64(self) -> int:
        return int.from_bytes(self._bytes(8), "big")

    def randbelow(self, n: int) -> int:
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            v = self.u64()
            if v < limit:
                return v % n


def commitment(value: str) -> str:
    """The commitment a seed contributor publishes before the pool is frozen."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass
class Contribution:
    name: str
    commitment: str
    value: str | None = None  # revealed after the pool is frozen


def lottery_hash(panel_ids: Sequence[Sequence[str]]) -> str:
    return sha256_json([list(p) for p in panel_ids])


def normalise_excluded(excluded: Sequence[str | dict[str, str]] | None, default_reason: str = "withdrawn"
                       ) -> list[dict[str, str]]:
    """``[{"id", "reason"}]`` sorted by id, one entry per id (the first reason wins); plain ids get
    ``default_reason``."""
    out: dict[str, str] = {}
    for e in excluded or ():
        i, r = (e, default_reason) if isinstance(e, str) else (str(e["id"]), str(e.get("reason") or default_reason))
        out.setdefault(i, r)
    return [{"id": i, "reason": out[i]} for i in sorted(out)]


def eligible_instance(inst: Instance, excluded_ids: Sequence[str]) -> Instance:
    """The pool without the excluded volunteers (same quotas, same k, same order)."""
    if not excluded_ids:
        return inst
    ex = set(excluded_ids)
    unknown = sorted(ex - {p.id for p in inst.people})
    if unknown:
        raise SortitionInputError(f"excluded volunteer(s) not in the pool: {', '.join(unknown)}")
    try:
        return build_instance([p for p in inst.people if p.id not in ex], inst.quotas, inst.k,
                              source="pool without the excluded volunteers")
    except SortitionInputError as exc:
        raise SortitionInputError(f"without the {len(ex)} excluded volunteer(s): {exc}") from None


def check_pool_files(t: dict[str, Any], inst: Instance) -> None:
    """The pool and quota files are the ones the transcript was made from (names the file)."""
    if inst.pool_hash() != t["pool_hash"]:
        raise VerificationError(
            "the pool (respondents / people file) differs from the frozen pool in the transcript "
            f"(pool hash {inst.pool_hash()} != {t['pool_hash']})")
    if inst.quotas_hash() != t["quotas_hash"]:
        raise VerificationError(
            "the quotas (categories / features file) or the panel size differ from the transcript "
            f"(quotas hash {inst.quotas_hash()} != {t['quotas_hash']})")


def check_transcript_hash(t: dict[str, Any]) -> None:
    body = {k: v for k, v in t.items() if k != "transcript_hash"}
    if "transcript_hash" in t and sha256_json(body) != t["transcript_hash"]:
        raise VerificationError("the transcript itself was edited (transcript_hash does not match its content)")


def seed_material(*, engine: str, algorithm: str, pool_hash: str, quotas_hash: str,
                  distribution_hash: str, contributions: Sequence[Contribution],
                  beacon: str | None, excluded: list[dict[str, str]] | None = None) -> dict[str, Any]:
    extra = {} if excluded is None else {"excluded": excluded}  # version 1: no such key
    return {**extra,
        "engine": engine,
        "algorithm": algorithm,
        "pool_hash": pool_hash,
        "quotas_hash": quotas_hash,
        "distribution_hash": distribution_hash,
        "contributions": [{"name": c.name, "value": c.value}
                          for c in sorted(contributions, key=lambda c: c.name)],
        "beacon": beacon,
    }


def check_contributions(contributions: Sequence[Contribution]) -> None:
    names = [c.name for c in contributions]
    if len(set(names)) != len(names):
        raise SortitionInputError("two seed contributions have the same name")
    for c in contributions:
        if c.value is None:
            raise SortitionInputError(f"seed contribution '{c.name}' has not been revealed")
        if commitment(c.value) != c.commitment.lower():
            raise SortitionInputError(
                f"seed contribution '{c.name}' does not match its commitment "
                f"(sha256 of the revealed value is {commitment(c.value)}, committed {c.commitment})"
            )


def draw_reserves(inst: Instance, panel: Sequence[int], prng: HashPRNG, n_reserves: int) -> list[int]:
    """Ordered reserve list.  Position j shadows panel member ``order[j mod k]`` (the panel in a
    PRNG-shuffled order): among volunteers not yet on the panel or the list (and not sharing a
    household with a panel member), those sharing the most category values with that member
    are eligible, and one is taken uniformly with the PRNG.  So each likely drop-out has a
    look-alike early in the list, which keeps the quotas reachable for replacements."""
    panel = list(panel)
    order = panel[:]
    for i in range(len(order) - 1, 0, -1):  # Fisher-Yates with the PRNG
        j = prng.randbelow(i + 1)
        order[i], order[j] = order[j], order[i]
    taken = set(panel)
    hh_taken = {inst.people[i].household for i in panel if inst.people[i].household}
    feats = [tuple(p.features[c] for c in inst.categories) for p in inst.people]
    out: list[int] = []
    n_reserves = min(n_reserves, inst.n - len(panel))
    j = 0
    while len(out) < n_reserves:
        target = feats[order[j % len(order)]]
        j += 1
        best, cands = -1, []
        for i in range(inst.n):
            if i in taken or (inst.people[i].household and inst.people[i].household in hh_taken):
                continue
            s = sum(a == b for a, b in zip(feats[i], target))
            if s > best:
                best, cands = s, [i]
            elif s == best:
                cands.append(i)
        if not cands:
            break
        pick = cands[prng.randbelow(len(cands))]
        out.append(pick)
        taken.add(pick)
    return out


def build_transcript(
    inst: Instance,
    *,
    algorithm: str,
    engine: str,
    lottery_panels: Sequence[Sequence[int]],
    lottery_max_deviation: float,
    contributions: Sequence[Contribution],
    beacon: str | None = None,
    n_reserves: int = 0,
    extra: dict[str, Any] | None = None,
    excluded: Sequence[str | dict[str, str]] = (),
    frozen_pool: Instance | None = None,
) -> dict[str, Any]:
    """Run the final draw and return the transcript (a JSON-able dict).

    ``inst`` is the instance the lottery was made over: the frozen pool, or with ``excluded``
    volunteers the frozen pool without them (``frozen_pool`` is then the whole frozen pool,
    whose hash the transcript carries)."""
    check_contributions(contributions)
    pool = frozen_pool or inst
    excl = normalise_excluded(excluded)
    if excl and inst is pool:
        raise SortitionInputError("give the frozen pool as frozen_pool when volunteers are excluded")
    ids = [[inst.people[i].id for i in p] for p in lottery_panels]
    dist_hash = lottery_hash(ids)
    material = seed_material(engine=engine, algorithm=algorithm, pool_hash=pool.pool_hash(),
                             quotas_hash=pool.quotas_hash(), distribution_hash=dist_hash,
                             contributions=contributions, beacon=beacon, excluded=excl)
    seed = sha256_json(material)
    prng = HashPRNG(seed)
    index = prng.randbelow(len(lottery_panels))
    panel = list(lottery_panels[index])
    reserves = draw_reserves(inst, panel, prng, n_reserves) if n_reserves else []
    t = {
        "transcript_version": TRANSCRIPT_VERSION,
        "engine": engine,
        "algorithm": algorithm,
        "k": inst.k,
        "n": pool.n,
        "pool_hash": pool.pool_hash(),
        "quotas_hash": pool.quotas_hash(),
        "excluded": excl,
        "lottery": {"m": len(ids), "panels": ids, "max_deviation": lottery_max_deviation},
        "distribution_hash": dist_hash,
        "contributions": [{"name": c.name, "commitment": c.commitment, "value": c.value}
                          for c in contributions],
        "beacon": beacon,
        "seed_material_hash": sha256_json(material),
        "seed": seed,
        "prng": "sha256-counter-v1",
        "selected_index": index,
        "selected": [inst.people[i].id for i in panel],
        "n_reserves": n_reserves,
        "reserves": [inst.people[i].id for i in reserves],
    }
    if extra:
        t.update(extra)
    t["transcript_hash"] = sha256_json({k: v for k, v in t.items() if k != "transcript_hash"})
    return t


def verify_transcript(t: dict[str, Any], inst: Instance) -> dict[str, Any]:
    """Replay a transcript against the input files; raise VerificationError naming what differs."""
    try:
        version = t.get("transcript_version")
        if version not in KNOWN_VERSIONS:
            raise VerificationError(f"unknown transcript version {version!r} (this verifier knows {KNOWN_VERSIONS})")
        check_pool_files(t, inst)
        excluded = None  # version 1: nobody excluded, and no such key in the seed material
        if version >= 2:
            excluded = t["excluded"]
            if normalise_excluded(excluded) != excluded:
                raise VerificationError("the excluded list is not sorted by id with one {id, reason} per volunteer")
        elif "excluded" in t:
            raise VerificationError("a version 1 transcript has no excluded list")
        reason = {e["id"]: e["reason"] for e in excluded or ()}
        try:
            inst = eligible_instance(inst, list(reason))
        except SortitionInputError as exc:
            raise VerificationError(str(exc)) from None
        panels = t["lottery"]["panels"]
        if lottery_hash(panels) != t["distribution_hash"]:
            raise VerificationError("the lottery panels in the transcript do not match distribution_hash")
        index_of = {p.id: i for i, p in enumerate(inst.people)}
        for j, p in enumerate(panels):
            gone = [i for i in p if i in reason]
            if gone:
                raise VerificationError(f"lottery panel {j} contains {gone[0]}, who is excluded ({reason[gone[0]]})")
            try:
                rows = [index_of[i] for i in p]
            except KeyError as exc:
                raise VerificationError(f"lottery panel {j} names unknown volunteer {exc.args[0]}") from None
            bad = inst.check_panel(rows)
            if bad:
                raise VerificationError(f"lottery panel {j} breaks the quotas: {'; '.join(bad)}")
        contribs = [Contribution(c["name"], c["commitment"], c.get("value")) for c in t["contributions"]]
        try:
            check_contributions(contribs)
        except SortitionInputError as exc:
            raise VerificationError(str(exc)) from None
        material = seed_material(engine=t["engine"], algorithm=t["algorithm"], pool_hash=t["pool_hash"],
                                 quotas_hash=t["quotas_hash"], distribution_hash=t["distribution_hash"],
                                 contributions=contribs, beacon=t.get("beacon"), excluded=excluded)
        seed = sha256_json(material)
        if seed != t["seed"]:
            raise VerificationError(f"the seed does not follow from the inputs (recomputed {seed}, transcript {t['seed']})")
        prng = HashPRNG(seed)
        index = prng.randbelow(len(panels))
        if index != t["selected_index"] or list(panels[index]) != list(t["selected"]):
            raise VerificationError(
                f"the selected panel differs: replay draws lottery panel {index}, transcript says "
                f"{t['selected_index']}")
        reserves = []
        if t.get("n_reserves"):
            reserves = draw_reserves(inst, [index_of[i] for i in panels[index]], prng, t["n_reserves"])
        if [inst.people[i].id for i in reserves] != list(t.get("reserves", [])):
            raise VerificationError("the reserve list differs from the replay")
        check_transcript_hash(t)
    except KeyError as exc:
        raise VerificationError(f"the transcript lacks the field {exc.args[0]!r}") from None
    return {"ok": True, "selected": t["selected"], "selected_index": t["selected_index"], "seed": t["seed"],
            "reserves": t.get("reserves", []), "excluded": len(reason)}
