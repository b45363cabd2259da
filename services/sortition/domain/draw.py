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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

from .model import Instance, SortitionInputError, canonical_json, sha256_json

TRANSCRIPT_VERSION = 1


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


def seed_material(*, engine: str, algorithm: str, pool_hash: str, quotas_hash: str,
                  distribution_hash: str, contributions: Sequence[Contribution],
                  beacon: str | None) -> dict[str, Any]:
    return {
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
) -> dict[str, Any]:
    """Run the final draw and return the transcript (a JSON-able dict)."""
    check_contributions(contributions)
    ids = [[inst.people[i].id for i in p] for p in lottery_panels]
    dist_hash = lottery_hash(ids)
    material = seed_material(engine=engine, algorithm=algorithm, pool_hash=inst.pool_hash(),
                             quotas_hash=inst.quotas_hash(), distribution_hash=dist_hash,
                             contributions=contributions, beacon=beacon)
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
        "n": inst.n,
        "pool_hash": inst.pool_hash(),
        "quotas_hash": inst.quotas_hash(),
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
        if t.get("transcript_version") != TRANSCRIPT_VERSION:
            raise VerificationError(f"unknown transcript version {t.get('transcript_version')!r}")
        if inst.pool_hash() != t["pool_hash"]:
            raise VerificationError(
                "the pool (respondents / people file) differs from the frozen pool in the transcript "
                f"(pool hash {inst.pool_hash()} != {t['pool_hash']})")
        if inst.quotas_hash() != t["quotas_hash"]:
            raise VerificationError(
                "the quotas (categories / features file) or the panel size differ from the transcript "
                f"(quotas hash {inst.quotas_hash()} != {t['quotas_hash']})")
        panels = t["lottery"]["panels"]
        if lottery_hash(panels) != t["distribution_hash"]:
            raise VerificationError("the lottery panels in the transcript do not match distribution_hash")
        index_of = {p.id: i for i, p in enumerate(inst.people)}
        for j, p in enumerate(panels):
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
                                 contributions=contribs, beacon=t.get("beacon"))
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
        body = {k: v for k, v in t.items() if k != "transcript_hash"}
        if "transcript_hash" in t and sha256_json(body) != t["transcript_hash"]:
            raise VerificationError("the transcript itself was edited (transcript_hash does not match its content)")
    except KeyError as exc:
        raise VerificationError(f"the transcript lacks the field {exc.args[0]!r}") from None
    return {"ok": True, "selected": t["selected"], "selected_index": t["selected_index"], "seed": t["seed"],
            "reserves": t.get("reserves", [])}
