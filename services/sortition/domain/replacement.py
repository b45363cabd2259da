"""Replacing drop-outs, each replacement with a public transcript that replays bit for bit.

A replacement completes the panel after ``dropped`` members left: the candidates (the frozen
pool, or the remaining reserve list) minus the panel, minus the ``excluded`` volunteers (earlier
drop-outs, withdrawals; each with its reason), minus anyone sharing a household with a stayer,
form an instance whose quotas are the original ones minus what the stayers fill and whose panel
size is the number of drop-outs.  LEXIMIN over these completions, rounded to an m-lottery, is
drawn from with the hash PRNG; every completion meets the original quotas.

The replacement transcript (version 2) records every input: the panel and reserve list before,
the drop-outs, the exclusion list, the candidates mode, the lottery (m panels of ids), the
replacement's **fresh randomness** and the ``seed_material`` — ``{seed (the draw's), previous
(hash of the previous transcript: the draw's for replacement 1), number, stayers, dropped,
excluded, candidates, distribution, randomness}`` — whose canonical-JSON SHA-256 is the seed.

Fresh randomness: the draw's seed is public once the panel is drawn, so a replacement seeded by
it alone could be computed in advance by whoever reports the drop-outs (and chooses whom to
report together).  Each replacement therefore reveals a random value committed *before* its
drop-outs were known: the commitment for replacement 1 is published when the panel is drawn,
and every replacement's transcript publishes the commitment for the next one
(``next_commitment``); the service also puts replacement 1's into the draw's transcript
(``replacement_commitment``, covered by its hash).  ``randomness = {commitment, value}`` with
``commitment(value)`` = SHA-256 of the value; the verifier checks the reveal and that each
replacement reveals what the one before it committed to.  Version 1 transcripts (before this)
have no randomness and are still verified as they were.  ``verify_replacement`` replays it from
the frozen pool files; ``verify_replacements`` also checks the chain (draw -> 1 -> 2 -> ...): each panel before
is the previous panel after, each exclusion list keeps the earlier ones and the earlier
drop-outs.  Pseudonymous ids only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .alternates import alternates_hash
from .draw import (HashPRNG, VerificationError, check_pool_files, check_transcript_hash, commitment, lottery_hash,
                   normalise_excluded, verify_transcript)
from .engine import ENGINE_VERSION, select
from .leximin import Progress
from .lottery import make_lottery
from .model import Instance, Quota, SortitionInputError, build_instance, sha256_json

REPLACEMENT_TRANSCRIPT_VERSION = 2
VERSIONS = (1, 2)  # 1: without fresh randomness (transcripts from before it); still verified
MODES = ("pool", "reserves")


@dataclass
class Replacement:
    added: list[str]  # ids of the new members
    panel: list[str]  # the full new panel (stayers + added)
    probabilities: dict[str, float]  # candidate id -> chance of being added (LEXIMIN over completions)
    seed: str
    index: int
    m: int
    max_deviation: float
    lottery: list[list[str]] = field(default_factory=list)  # the m lottery panels (ids)
    seed_material: dict[str, Any] = field(default_factory=dict)


def replacement_candidates(inst: Instance, panel_ids: Sequence[str], dropped: Sequence[str],
                           base: Sequence[str] | None = None, excluded: Sequence[str] = ()) -> list[int]:
    """Row indices of the candidates: ``base`` (default: the whole pool, in pool order) without
    the panel, the excluded volunteers and anyone sharing a household with a stayer."""
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    unknown = [i for i in list(panel_ids) + list(dropped) + list(excluded) if i not in index_of]
    if unknown:
        raise SortitionInputError(f"unknown volunteer id(s): {', '.join(map(str, unknown))}")
    if not dropped:
        raise SortitionInputError("nobody dropped out: nothing to replace")
    if len(set(dropped)) != len(dropped):
        raise SortitionInputError("a member is listed twice in dropped")
    if not set(dropped) <= set(panel_ids):
        raise SortitionInputError("a dropped member is not on the panel")
    stay = [index_of[i] for i in panel_ids if i not in set(dropped)]
    stay_hh = {inst.people[i].household for i in stay if inst.people[i].household}
    off = {index_of[i] for i in panel_ids} | {index_of[i] for i in excluded}
    if base is None:
        cand = list(range(inst.n))
    else:
        miss = [c for c in base if c not in index_of]
        if miss:
            raise SortitionInputError(f"unknown candidate id(s): {', '.join(miss)}")
        cand = [index_of[c] for c in base]
    return [i for i in cand if i not in off
            and not (inst.people[i].household and inst.people[i].household in stay_hh)]


def _seed_material(seed_hex: str, stayers: Sequence[str], dropped: Sequence[str], distribution_hash: str,
                   seed_inputs: dict[str, Any] | None) -> dict[str, Any]:
    return {"seed": seed_hex, "stayers": sorted(stayers), "dropped": sorted(dropped),
            "distribution": distribution_hash, **(seed_inputs or {})}


def replace_members(
    inst: Instance,
    panel_ids: Sequence[str],
    dropped: Sequence[str],
    *,
    seed_hex: str,
    candidates: Sequence[str] | None = None,
    algorithm: str = "leximin",
    m: int = 1000,
    progress: Progress | None = None,
    excluded: Sequence[str] = (),
    seed_inputs: dict[str, Any] | None = None,
) -> Replacement:
    """Replace the ``dropped`` members of a panel by a fair draw conditioned on the stayers.

    The candidates (default: everyone not on the panel; or e.g. the reserve list), without the
    ``excluded`` ids, form a reduced instance whose quotas are the original ones minus what the
    stayers already fill and whose panel size is the number of drop-outs; ``algorithm`` (LEXIMIN
    by default) gives the fairest distribution over valid completions, rounded to an m-lottery
    and drawn with the hash PRNG seeded by ``sha256({seed, stayers, dropped, distribution,
    **seed_inputs})`` so it can be replayed.
    """
    cand = replacement_candidates(inst, panel_ids, dropped, candidates, excluded)
    stayers = [i for i in panel_ids if i not in set(dropped)]
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    filled = inst.panel_counts([index_of[i] for i in stayers])
    quotas = []
    for q in inst.quotas:
        f = filled[q.key]
        if q.max - f < 0:
            raise SortitionInputError(f"the stayers already exceed {q.label} max {q.max}")
        quotas.append(Quota(q.category, q.value, max(0, q.min - f), q.max - f, within=q.within))
    people = [inst.people[i] for i in cand]
    if not people:
        raise SortitionInputError("no replacement candidates left")
    try:
        sub = build_instance(people, quotas, len(dropped), source="replacement candidates")
        res = select(sub, algorithm, progress=progress)
    except SortitionInputError as exc:
        raise SortitionInputError(f"the candidates cannot complete the panel: {exc}") from None
    lot = make_lottery(sub, res.distribution, m)
    ids = [[sub.people[i].id for i in p] for p in lot.panels]
    material = _seed_material(seed_hex, stayers, dropped, lottery_hash(ids), seed_inputs)
    rseed = sha256_json(material)
    idx = HashPRNG(rseed).randbelow(len(ids))
    added = ids[idx]
    return Replacement(
        added=added,
        panel=stayers + added,
        probabilities={p.id: float(v) for p, v in zip(sub.people, res.probabilities)},
        seed=rseed, index=idx, m=len(ids), max_deviation=lot.max_deviation, lottery=ids, seed_material=material,
    )


# ---- the replacement transcript ----------------------------------------------------------


def replacement_exclusions(draw: dict[str, Any], previous: dict[str, Any] | None = None, *,
                           panel_before: Sequence[str], withdrawn: Sequence[str] = (),
                           dropped_earlier: Sequence[str] = ()) -> list[dict[str, str]]:
    """The exclusion list of the next replacement: the previous one's (for the first: the
    draw's), the previous drop-outs ("dropped out"), any ``dropped_earlier`` and the volunteers
    who withdrew since ("withdrawn"); never a member of the panel before (they are not
    candidates anyway).  The first reason given for an id stays."""
    entries = list(previous["excluded"] if previous else draw.get("excluded", []))
    entries += [{"id": x, "reason": "dropped out"} for x in list(previous["dropped"] if previous else [])
                + list(dropped_earlier)]
    entries += [{"id": x, "reason": "withdrawn"} for x in withdrawn]
    on_panel = set(panel_before)
    return [e for e in normalise_excluded(entries) if e["id"] not in on_panel]


def chain_position(draw: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Number, previous hash, panel and reserve list before the next replacement."""
    if previous is None:
        return {"number": 1, "previous_hash": draw["transcript_hash"], "panel_before": list(draw["selected"]),
                "reserves_before": list(draw.get("reserves", []))}
    return {"number": previous["number"] + 1, "previous_hash": previous["transcript_hash"],
            "panel_before": list(previous["panel_after"]), "reserves_before": list(previous["reserves_after"])}


def _seed_inputs(number: int, previous_hash: str | None, excluded: list[dict[str, str]], mode: str,
                 randomness: str | None = None) -> dict[str, Any]:
    inputs = {"number": number, "previous": previous_hash, "excluded": excluded, "candidates": mode}
    if randomness is not None:
        inputs["randomness"] = randomness
    return inputs


def fresh_randomness() -> dict[str, str]:
    """A new random value for a future replacement and its commitment: publish the commitment
    before the replacement's drop-outs are known, keep the value secret until the replacement."""
    import secrets

    value = secrets.token_hex(32)
    return {"commitment": commitment(value), "value": value}


def _is_hex64(x: Any) -> bool:
    return isinstance(x, str) and len(x) == 64 and all(c in "0123456789abcdef" for c in x)


def check_randomness(randomness: Any, next_commitment: Any = None, *, number: int | str = "") -> None:
    """A revealed value matches its commitment; the next commitment is a sha256 hex."""
    if not isinstance(randomness, dict) or not _is_hex64(randomness.get("commitment")) \
            or not _is_hex64(randomness.get("value")) or set(randomness) != {"commitment", "value"}:
        raise VerificationError(f"replacement {number}: randomness must be {{commitment, value}}, each 64 hex digits")
    if commitment(randomness["value"]) != randomness["commitment"]:
        raise VerificationError(f"replacement {number}: the revealed randomness does not match its commitment "
                                f"(value chosen after the commitment was published)")
    if not _is_hex64(next_commitment):
        raise VerificationError(f"replacement {number}: next_commitment must be 64 hex digits")


def draw_replacement(
    inst: Instance,
    draw: dict[str, Any],
    dropped: Sequence[str],
    *,
    previous: dict[str, Any] | None = None,
    excluded: Sequence[str | dict[str, str]] = (),
    from_reserves: bool = False,
    algorithm: str = "leximin",
    m: int = 1000,
    progress: Progress | None = None,
    position: dict[str, Any] | None = None,
    randomness: dict[str, str] | None = None,
    next_commitment: str | None = None,
) -> dict[str, Any]:
    """Replace ``dropped`` after the draw ``draw`` (its transcript) and the ``previous``
    replacement (its transcript; None for the first); returns the replacement transcript.

    ``excluded``: ids or {id, reason} that may not be drawn (see :func:`replacement_exclusions`).
    ``position`` overrides :func:`chain_position` (a service whose earlier replacements have no
    transcript). ``randomness``: {commitment, value} committed before the drop-outs were known
    (see :func:`fresh_randomness`), and ``next_commitment`` the next replacement's; without them
    the transcript is version 1 (seeded by the draw's public seed alone: predictable)."""
    pos = position or chain_position(draw, previous)
    excl = normalise_excluded(excluded)
    mode = MODES[1] if from_reserves else MODES[0]
    if randomness is not None:
        check_randomness(randomness, next_commitment, number=pos["number"])
    elif next_commitment is not None:
        raise SortitionInputError("next_commitment without randomness")
    rep = replace_members(inst, pos["panel_before"], list(dropped), seed_hex=draw["seed"],
                          candidates=pos["reserves_before"] if from_reserves else None,
                          excluded=[e["id"] for e in excl], algorithm=algorithm, m=m, progress=progress,
                          seed_inputs=_seed_inputs(pos["number"], pos["previous_hash"], excl, mode,
                                                   randomness["value"] if randomness else None))
    added = set(rep.added)
    probs = list(rep.probabilities.values())
    t = {
        "replacement_transcript_version": REPLACEMENT_TRANSCRIPT_VERSION if randomness else 1,
        "number": pos["number"],
        "engine": ENGINE_VERSION,
        "algorithm": algorithm,
        "k": inst.k,
        "n": inst.n,
        "pool_hash": inst.pool_hash(),
        "quotas_hash": inst.quotas_hash(),
        "draw_transcript_hash": draw["transcript_hash"],
        "draw_seed": draw["seed"],
        "previous_hash": pos["previous_hash"],
        "panel_before": pos["panel_before"],
        "reserves_before": pos["reserves_before"],
        **({"alternates": pos["alternates"]} if pos.get("alternates") else {}),
        "dropped": list(dropped),
        "excluded": excl,
        "candidates": mode,
        "n_candidates": len(rep.probabilities),
        "lottery": {"m": rep.m, "panels": rep.lottery, "max_deviation": rep.max_deviation},
        "distribution_hash": lottery_hash(rep.lottery),
        "seed_material": rep.seed_material,
        "seed": rep.seed,
        "prng": "sha256-counter-v1",
        "selected_index": rep.index,
        "added": rep.added,
        "panel_after": rep.panel,
        "reserves_after": [x for x in pos["reserves_before"] if x not in added],
        "fairness": {"min_probability": min(probs), "max_probability": max(probs)},
    }
    if randomness is not None:
        t["randomness"] = {"commitment": randomness["commitment"], "value": randomness["value"]}
        t["next_commitment"] = next_commitment
    t["transcript_hash"] = sha256_json(t)
    return t


def verify_replacement(r: dict[str, Any], inst: Instance) -> dict[str, Any]:
    """Replay one replacement transcript against the frozen pool files; raise VerificationError
    naming what differs."""
    try:
        version = r.get("replacement_transcript_version")
        if version not in VERSIONS or isinstance(version, bool):
            raise VerificationError(f"unknown replacement transcript version {version!r}"
                                    " (is this the draw's transcript? verify that with `verify`)")
        fresh = None
        if version >= 2:
            check_randomness(r["randomness"], r["next_commitment"], number=r["number"])
            fresh = r["randomness"]["value"]
        elif "randomness" in r or "next_commitment" in r:
            raise VerificationError("a version 1 transcript carries randomness fields")
        check_pool_files(r, inst)
        before, dropped, mode = list(r["panel_before"]), list(r["dropped"]), r["candidates"]
        excluded = r["excluded"]
        if normalise_excluded(excluded) != excluded:
            raise VerificationError("the excluded list is not sorted by id with one {id, reason} per volunteer")
        if mode not in MODES:
            raise VerificationError(f"unknown candidates mode {mode!r} (pool or reserves)")
        # every input is in the seed material: name the one that no longer matches it
        stayers = [i for i in before if i not in set(dropped)]
        material = _seed_material(r["draw_seed"], stayers, dropped, r["distribution_hash"],
                                  _seed_inputs(r["number"], r["previous_hash"], excluded, mode, fresh))
        recorded = r["seed_material"]
        for key in material:
            if recorded.get(key) != material[key]:
                raise VerificationError(f"the seed material's {key!r} does not match the transcript's inputs "
                                        f"(an input was altered after the replacement was drawn)")
        if set(recorded) != set(material):
            raise VerificationError("the seed material has unexpected fields")
        seed = sha256_json(material)
        if seed != r["seed"]:
            raise VerificationError(f"the seed does not follow from the seed material (recomputed {seed}, "
                                    f"transcript {r['seed']})")
        index_of = {p.id: i for i, p in enumerate(inst.people)}
        if any(i not in index_of for i in before):
            raise VerificationError("panel_before names a volunteer who is not in the frozen pool")
        bad = inst.check_panel([index_of[i] for i in before])
        if bad:
            raise VerificationError(f"panel_before is not a valid panel: {'; '.join(bad)}")
        reason = {e["id"]: e["reason"] for e in excluded}
        try:
            cand = replacement_candidates(inst, before, dropped, r["reserves_before"] if mode == "reserves" else None,
                                          list(reason))
        except SortitionInputError as exc:
            raise VerificationError(str(exc)) from None
        on_panel = [i for i in before if i in reason]
        if on_panel:
            raise VerificationError(f"{on_panel[0]} is on panel_before and in the excluded list")
        cand_ids = {inst.people[i].id for i in cand}
        if len(cand_ids) != r["n_candidates"]:
            raise VerificationError(f"the inputs (panel before, dropped, excluded, candidates mode) give "
                                    f"{len(cand_ids)} candidates, the transcript says {r['n_candidates']}")
        panels = r["lottery"]["panels"]
        if r["lottery"]["m"] != len(panels):
            raise VerificationError(f"the lottery has {len(panels)} panels, the transcript says m = {r['lottery']['m']}")
        if lottery_hash(panels) != r["distribution_hash"]:
            raise VerificationError("the lottery panels in the transcript do not match distribution_hash")
        for j, p in enumerate(panels):
            strangers = [i for i in p if i not in cand_ids]
            if strangers:
                x = strangers[0]
                why = (f"excluded ({reason[x]})" if x in reason else "on the panel before" if x in before
                       else "not in the frozen pool" if x not in index_of
                       else "not on the reserve list before" if mode == "reserves"
                       else "sharing a household with a member who stays")
                raise VerificationError(f"lottery panel {j} draws {x}, who is not a candidate: {why}")
            bad = inst.check_panel([index_of[i] for i in stayers + list(p)])
            if bad:
                raise VerificationError(f"lottery panel {j} does not complete a valid panel: {'; '.join(bad)}")
        index = HashPRNG(seed).randbelow(len(panels))
        if index != r["selected_index"] or list(panels[index]) != list(r["added"]):
            raise VerificationError(f"the members added differ: replay draws lottery panel {index}, transcript says "
                                    f"{r['selected_index']}")
        if list(r["panel_after"]) != stayers + list(panels[index]):
            raise VerificationError("panel_after is not the stayers plus the members drawn")
        added = set(panels[index])
        if list(r["reserves_after"]) != [x for x in r["reserves_before"] if x not in added]:
            raise VerificationError("reserves_after is not the reserve list before without the members drawn")
        check_transcript_hash(r)
    except KeyError as exc:
        raise VerificationError(f"the replacement transcript lacks the field {exc.args[0]!r}") from None
    return {"ok": True, "number": r["number"], "added": r["added"], "panel_after": r["panel_after"],
            "seed": r["seed"], "selected_index": r["selected_index"], "m": len(panels),
            "randomness_commitment": r["randomness"]["commitment"] if fresh else None}


def recompute_replacement(r: dict[str, Any], inst: Instance, progress: Progress | None = None) -> None:
    """Run the replacement again from the transcript's inputs (LEXIMIN, rounding, draw) and raise
    VerificationError naming the first field that comes out differently.  Nothing on this path
    depends on the clock (no solver time limits, one thread, fixed seeds; the rounding is a
    bounded local search), so a slow or loaded machine recomputes the same transcript."""
    draw = {"seed": r["draw_seed"], "transcript_hash": r["draw_transcript_hash"]}
    position = {k: r[k] for k in ("number", "previous_hash", "panel_before", "reserves_before", "alternates") if k in r}
    try:
        again = draw_replacement(inst, draw, r["dropped"], excluded=r["excluded"],
                                 from_reserves=r["candidates"] == "reserves", algorithm=r["algorithm"],
                                 m=r["lottery"]["m"], progress=progress, position=position,
                                 randomness=r.get("randomness"), next_commitment=r.get("next_commitment"))
    except SortitionInputError as exc:
        raise VerificationError(f"replacement {r['number']} cannot be recomputed: {exc}") from None
    for key in again:
        if again[key] != r.get(key):
            raise VerificationError(f"replacement {r['number']} recomputed from its inputs gives another {key!r}")


def _check_link(r: dict[str, Any], draw: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """``r`` follows ``previous`` (or, as number 1, the draw) in the chain."""
    n = r["number"]
    if r["draw_transcript_hash"] != draw["transcript_hash"] or r["draw_seed"] != draw["seed"]:
        raise VerificationError(f"replacement {n} belongs to another draw (draw transcript hash or seed differs)")
    pos = chain_position(draw, previous)
    what = "the draw" if previous is None else f"replacement {previous['number']}"
    if n != pos["number"]:
        raise VerificationError(f"replacement {n} does not follow {what} (expected number {pos['number']})")
    if r["previous_hash"] != pos["previous_hash"]:
        raise VerificationError(f"replacement {n}'s previous_hash is not the transcript hash of {what}")
    if list(r["panel_before"]) != pos["panel_before"]:
        raise VerificationError(f"replacement {n}'s panel_before is not the panel after {what}")
    alt = r.get("alternates")  # alternates chosen for drop-outs since: they are the reserve list now
    if alt is not None:
        if alternates_hash(alt) != alt.get("hash"):
            raise VerificationError(f"replacement {n}'s alternates do not match their hash")
        if list(r["reserves_before"]) != list(alt["ids"]):
            raise VerificationError(f"replacement {n}'s reserves_before is not the alternates it names")
    elif list(r["reserves_before"]) != pos["reserves_before"]:
        raise VerificationError(f"replacement {n}'s reserves_before is not the reserve list after {what}")
    now = {e["id"] for e in r["excluded"]}
    must = replacement_exclusions(draw, previous, panel_before=r["panel_before"])
    lost = [e for e in must if e["id"] not in now]
    if lost:
        raise VerificationError(f"replacement {n}'s excluded list lacks {lost[0]['id']} ({lost[0]['reason']} "
                                f"before {what}): an excluded volunteer may not become a candidate again")
    committed = previous.get("next_commitment") if previous is not None else draw.get("replacement_commitment")
    if committed is not None:
        field_ = "next_commitment" if previous is not None else "replacement_commitment"
        if "randomness" not in r:
            raise VerificationError(f"replacement {n} reveals no randomness, but {what} committed to it")
        if r["randomness"]["commitment"] != committed:
            raise VerificationError(f"replacement {n} reveals randomness under another commitment than the one "
                                    f"{what} published ({field_}): chosen after the drop-outs were known?")


def verify_replacements(transcripts: Sequence[dict[str, Any]], inst: Instance,
                        draw: dict[str, Any] | None = None, *, recompute: bool = False,
                        first_commitment: str | None = None) -> list[dict[str, Any]]:
    """Replay consecutive replacement transcripts and check that they form a chain; with the
    draw's transcript, also replay the draw and check that the first one follows it (number 1)
    or, for a later first one, only that it belongs to that draw.  ``recompute``: also run each
    replacement again (:func:`recompute_replacement`).  ``first_commitment``: the randomness commitment
    published for the first transcript before it (at the draw, or in the replacement before);
    each later one must reveal what its predecessor committed to (``next_commitment``)."""
    out = []
    if draw is not None:
        verify_transcript(draw, inst)
    prev = None
    for r in transcripts:
        res = verify_replacement(r, inst)
        if prev is None and first_commitment is not None:
            published = first_commitment.strip().lower()
            got = r["randomness"]["commitment"] if "randomness" in r else None
            if got != published:
                raise VerificationError(f"replacement {r['number']} reveals randomness under "
                                        f"{'no' if got is None else 'another'} commitment than the published "
                                        f"{published[:16]}…: chosen after the drop-outs were known?")
        if prev is not None:
            _check_link(r, draw or {"transcript_hash": prev["draw_transcript_hash"], "seed": prev["draw_seed"]}, prev)
        elif draw is not None:
            if r["number"] == 1:
                _check_link(r, draw, None)
            elif r["draw_transcript_hash"] != draw["transcript_hash"] or r["draw_seed"] != draw["seed"]:
                raise VerificationError(f"replacement {r['number']} belongs to another draw")
        if recompute:
            recompute_replacement(r, inst)
        out.append(res)
        prev = r
    return out
