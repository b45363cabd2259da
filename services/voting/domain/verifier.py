"""The independent verifier: checks a board export and names the first problem.

Anyone can run it (``borgerting voting verify BOARD_EXPORT --fingerprint FP``); it needs only the
export and the board key's fingerprint published outside the board (the ballot-opened event and
audit entry, the report), no server and no secret. Checks, in this order (the first failure is
reported):

0. the board key is the published one (when a fingerprint is given): whoever holds another key
   can sign any board, so without this pin a rewritten board re-signed with a fresh key passes;
1. the document's shape, ballot definitions and keys;
2. entry by entry, from position 1: no gap, the entry's hash, the link to the previous entry,
   a known ballot, valid choices, then for online votes the token (bound to the ballot, signature
   valid under the ballot's published RSA key, never used before) and for paper/postal votes two
   different officials and a sheet never entered before;
3. the head (no entries cut off the end);
4. every checkpoint: signature under the board key, and the board still has that hash at that
   position (nothing rewritten after a checkpoint);
5. receipts given on the command line are on the board with the same hash;
6. per ballot and kind: votes <= tokens (or sheets) issued;
7. per ballot with a published result: the ballot is closed and a recount equals the result;
8. the export's own signature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ballots import Ballot
from .blind_rsa import VARIANTS, BlindRSAError, PublicKey
from .board import (
    ENTRY_KEYS,
    FORMAT,
    KINDS,
    OFFICIAL_KINDS,
    checkpoint_payload,
    entry_hash,
    export_payload,
    genesis_hash,
    key_fingerprint,
    verify_signature,
)
from .errors import InvalidTokenError, VotingError
from .tally import count
from .tokens import VoteToken, verify_token


class Problem(Exception):
    """The first thing wrong with an export."""


@dataclass
class Report:
    ok: bool
    problem: str | None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class _BallotInfo:
    ballot: Ballot
    key: PublicKey
    variant: Any
    issued: dict[str, int]
    result: Mapping[str, Any] | None
    votes: list[Mapping[str, Any]] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _diff(published: Any, recount: Any, path: str) -> tuple[str, Any, Any] | None:
    """First difference between two JSON values, as (path, published, recount)."""
    if isinstance(published, Mapping) and isinstance(recount, Mapping):
        for k in list(recount) + [k for k in published if k not in recount]:
            d = _diff(published.get(k, "<missing>"), recount.get(k, "<missing>"), f"{path}.{k}" if path else k)
            if d:
                return d
        return None
    if published != recount:
        return path, published, recount
    return None


def _compare_result(bid: str, published: Mapping[str, Any], recount: Mapping[str, Any]) -> None:
    for key in ("ballot_id", "members", "ballots_cast", "quorum_met"):
        if published.get(key) != recount[key]:
            raise Problem(f"published result for ballot {bid} says {key}={_fmt(published.get(key))} "
                          f"but recount gives {key}={_fmt(recount[key])}")
    pq = published.get("questions")
    if not isinstance(pq, Mapping):
        raise Problem(f"published result for ballot {bid} has no questions")
    for qid, rq in recount["questions"].items():
        if qid not in pq:
            raise Problem(f"published result for ballot {bid} has no question {qid}")
        p = pq[qid] if isinstance(pq[qid], Mapping) else {}
        pc = p.get("counts") if isinstance(p.get("counts"), Mapping) else {}
        for option, n in rq["counts"].items():
            if pc.get(option) != n:
                raise Problem(f"published result for question {qid} says {option}={_fmt(pc.get(option))} "
                              f"but recount gives {option}={n} (ballot {bid})")
        d = _diff(p, rq, "")
        if d:
            raise Problem(f"published result for question {qid} says {d[0]}={_fmt(d[1])} "
                          f"but recount gives {d[0]}={_fmt(d[2])} (ballot {bid})")
    extra = [q for q in pq if q not in recount["questions"]]
    if extra:
        raise Problem(f"published result for ballot {bid} has a question {extra[0]} the ballot does not have")


def _load(doc: Any) -> tuple[str, str, dict[str, _BallotInfo]]:
    if not isinstance(doc, Mapping):
        raise Problem("export is not a JSON object")
    if doc.get("format") != FORMAT:
        raise Problem(f"export format is {doc.get('format')!r}, expected {FORMAT!r}")
    board_id = doc.get("board_id")
    if not isinstance(board_id, str) or not board_id:
        raise Problem("export has no board_id")
    bk = doc.get("board_key")
    if not isinstance(bk, Mapping) or bk.get("alg") != "Ed25519" or not isinstance(bk.get("public_key"), str):
        raise Problem("export has no Ed25519 board_key")
    for key in ("ballots", "entries", "checkpoints"):
        if not isinstance(doc.get(key), list):
            raise Problem(f"export has no list of {key}")
    ballots: dict[str, _BallotInfo] = {}
    for i, b in enumerate(doc["ballots"], 1):
        if not isinstance(b, Mapping):
            raise Problem(f"ballot #{i} is not an object")
        try:
            ballot = Ballot.from_dict(b.get("definition"))
        except VotingError as exc:
            raise Problem(f"ballot #{i}: invalid definition: {exc}") from None
        except (TypeError, ValueError, AttributeError, KeyError):
            raise Problem(f"ballot #{i}: malformed definition") from None
        if ballot.id in ballots:
            raise Problem(f"ballot {ballot.id} is published twice")
        tk = b.get("token_key")
        if not isinstance(tk, Mapping) or tk.get("alg") not in VARIANTS:
            raise Problem(f"ballot {ballot.id}: token key algorithm must be one of {', '.join(VARIANTS)}")
        try:
            key = PublicKey.from_pem(tk.get("pem", ""))
        except BlindRSAError as exc:
            raise Problem(f"ballot {ballot.id}: unreadable token key: {exc}") from None
        if tk.get("key_id") not in (None, key.key_id):
            raise Problem(f"ballot {ballot.id}: token key_id does not match the published key")
        issued = b.get("issued")
        if not isinstance(issued, Mapping) or not all(
            isinstance(issued.get(k), int) and not isinstance(issued.get(k), bool) and issued.get(k) >= 0
            for k in KINDS
        ):
            raise Problem(f"ballot {ballot.id}: 'issued' must give online, paper and postal counts")
        result = b.get("result")
        if result is not None and not isinstance(result, Mapping):
            raise Problem(f"ballot {ballot.id}: result is not an object")
        ballots[ballot.id] = _BallotInfo(ballot, key, VARIANTS[tk["alg"]], dict(issued), result)
    return board_id, bk["public_key"], ballots


def _check_entries(board_id: str, entries: list[Any], ballots: dict[str, _BallotInfo]) -> list[str]:
    """Walk the chain; return the hash at each position (index 0 = genesis)."""
    hashes = [genesis_hash(board_id)]
    tokens: dict[str, int] = {}
    sheets: dict[tuple[str, str], int] = {}
    for e in entries:
        expected = len(hashes)
        if not isinstance(e, Mapping):
            raise Problem(f"entry {expected}: not an object")
        missing = [k for k in ENTRY_KEYS if k not in e]
        pos = e.get("position")
        if missing or not isinstance(pos, int) or isinstance(pos, bool):
            label = pos if isinstance(pos, int) else expected
            raise Problem(f"entry {label}: malformed (missing or bad {', '.join(missing) or 'position'})")
        extra = [k for k in e if k not in ENTRY_KEYS]
        if pos > expected:
            before = str(expected - 1) if expected > 1 else "the start"
            which = f"entry {expected}" if pos == expected + 1 else f"entries {expected}-{pos - 1}"
            raise Problem(f"{which} missing: chain broken between {before} and {pos}")
        if pos < expected:
            raise Problem(f"entry {pos}: appears again after entry {expected - 1} (duplicated or reordered)")
        if entry_hash(e) != e["hash"]:
            raise Problem(f"entry {pos}: hash mismatch (entry altered)")
        if extra:
            raise Problem(f"entry {pos}: unexpected field {extra[0]!r}")
        if e["prev_hash"] != hashes[-1]:
            before = f"entry {pos - 1}" if pos > 1 else "the board's genesis"
            raise Problem(f"entry {pos}: prev_hash does not match {before} (chain broken)")
        hashes.append(e["hash"])

        info = ballots.get(e["ballot_id"]) if isinstance(e["ballot_id"], str) else None
        if info is None:
            raise Problem(f"entry {pos}: unknown ballot {e['ballot_id']!r}")
        try:
            choices = info.ballot.validate_choices(e["choices"])
        except VotingError as exc:
            raise Problem(f"entry {pos}: invalid vote: {exc}") from None
        if choices != e["choices"]:
            raise Problem(f"entry {pos}: choices are not in normalised form")
        kind = e["kind"]
        if kind == "online":
            if e["sheet_id"] is not None or e["officials"] is not None:
                raise Problem(f"entry {pos}: an online vote carries officials' fields")
            try:
                token = VoteToken.from_dict(e["token"])
                th = verify_token(info.key, token, info.ballot.id, info.variant)
            except InvalidTokenError as exc:
                msg = str(exc)
                if "forged" not in msg:
                    msg = f"token invalid: {msg}"
                raise Problem(f"entry {pos}: {msg}") from None
            if e["token_hash"] != th:
                raise Problem(f"entry {pos}: token_hash does not match the token")
            if th in tokens:
                raise Problem(f"entry {pos}: token already used in entry {tokens[th]} (reused token)")
            tokens[th] = pos
        elif kind in OFFICIAL_KINDS:
            if e["token"] is not None or e["token_hash"] is not None:
                raise Problem(f"entry {pos}: a {kind} vote carries a token")
            off = e["officials"]
            if not isinstance(off, Mapping) or not off.get("entered_by") or not off.get("confirmed_by"):
                raise Problem(f"entry {pos}: {kind} vote lacks the entering and confirming officials")
            if off["entered_by"] == off["confirmed_by"]:
                raise Problem(f"entry {pos}: {kind} vote entered and confirmed by the same official "
                              f"{off['entered_by']}")
            sid = e["sheet_id"]
            if not isinstance(sid, str) or not sid:
                raise Problem(f"entry {pos}: {kind} vote has no sheet_id")
            if (info.ballot.id, sid) in sheets:
                raise Problem(f"entry {pos}: sheet {sid} already entered in entry "
                              f"{sheets[(info.ballot.id, sid)]} (sheet counted twice)")
            sheets[(info.ballot.id, sid)] = pos
        else:
            raise Problem(f"entry {pos}: unknown kind {kind!r}")
        info.votes.append(choices)
        info.by_kind[kind] += 1
    return hashes


def normalise_fingerprint(text: str) -> str:
    """A published fingerprint as typed or copied: hex, optionally `sha256:`, colons or spaces."""
    h = text.strip().lower().removeprefix("sha256:").replace(":", "").replace(" ", "")
    if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        raise ValueError(f"{text!r} is not a sha256 fingerprint (64 hex digits)")
    return h


def verify_export(doc: Any, *, receipts: Iterable[tuple[int, str]] = (), fingerprint: str | None = None) -> Report:
    """Verify a board export (parsed JSON). Never raises for a bad export: see ``Report``.
    `fingerprint`: the board key's fingerprint as published outside the board; the export must
    be signed with that key."""
    summary: dict[str, Any] = {}
    receipts = list(receipts)
    try:
        board_id, board_pub, ballots = _load(doc)
        try:
            actual = key_fingerprint(board_pub)
        except ValueError:
            raise Problem("export's board_key is not a hex Ed25519 public key") from None
        summary.update(board_id=board_id, board_key=board_pub, board_key_fingerprint=actual,
                       key_pinned=fingerprint is not None, entries=len(doc["entries"]))
        if fingerprint is not None and actual != fingerprint:
            raise Problem(f"the board key's fingerprint {actual} is not the published one {fingerprint}: "
                          f"this board was signed with another key (re-signed?), so its checkpoints and "
                          f"signature prove nothing")
        hashes = _check_entries(board_id, doc["entries"], ballots)
        last = len(hashes) - 1

        head = doc.get("head")
        if not isinstance(head, Mapping):
            raise Problem("export has no head")
        if head.get("position") != last:
            hp = head.get("position")
            if isinstance(hp, int) and hp > last:
                which = f"entry {hp}" if hp == last + 1 else f"entries {last + 1}-{hp}"
                raise Problem(f"{which} missing: the head says position {hp} "
                              f"but the board ends at {last} (votes removed)")
            raise Problem(f"head says position {hp} but the board ends at {last}")
        if head.get("hash") != hashes[last]:
            raise Problem(f"head hash does not match entry {last}")
        summary["head"] = {"position": last, "hash": hashes[last]}

        for cp in doc["checkpoints"]:
            if not isinstance(cp, Mapping) or not isinstance(cp.get("position"), int):
                raise Problem("a checkpoint is malformed")
            p = cp["position"]
            if cp.get("board_id") != board_id or not verify_signature(
                board_pub, checkpoint_payload(cp), str(cp.get("signature", ""))
            ):
                raise Problem(f"checkpoint at position {p}: signature invalid")
            if p > last or p < 0:
                raise Problem(f"checkpoint at position {p}: the board ends at {last} (entries removed "
                              f"after the checkpoint)")
            if hashes[p] != cp.get("head_hash"):
                raise Problem(f"checkpoint at position {p}: the board's hash there differs from the "
                              f"signed one (board rewritten after the checkpoint)")
        summary["checkpoints"] = len(doc["checkpoints"])

        for pos, h in receipts:
            if not 1 <= pos <= last:
                raise Problem(f"receipt {pos}:{h[:12]}: there is no entry {pos} on the board (vote removed)")
            if hashes[pos] != h.lower():
                raise Problem(f"receipt {pos}:{h[:12]}: entry {pos} has another hash (vote altered or replaced)")
        summary["receipts_checked"] = len(receipts)

        summary["ballots"] = {}
        for bid, info in ballots.items():
            for kind in KINDS:
                n, issued = info.by_kind[kind], info.issued[kind]
                if n > issued:
                    what = "tokens" if kind == "online" else f"{kind} sheets"
                    raise Problem(f"ballot {bid}: {n} {kind} votes on the board but only {issued} {what} issued")
            s: dict[str, Any] = {"title": info.ballot.title, "votes": dict(info.by_kind),
                                 "issued": dict(info.issued), "result": None}
            if info.result is not None:
                if info.ballot.effective_close() is None:
                    raise Problem(f"ballot {bid}: a result is published but the ballot is not closed")
                recount = count(info.ballot, info.votes).to_dict()
                _compare_result(bid, info.result, recount)
                s["result"] = recount
            summary["ballots"][bid] = s

        if not verify_signature(board_pub, export_payload(doc), str(doc.get("signature", ""))):
            raise Problem("export signature invalid (document altered after it was signed)")
    except Problem as p:
        return Report(False, str(p), summary)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        # Hostile or broken input the checks above did not foresee: still a clear failure.
        return Report(False, f"malformed export ({type(exc).__name__}: {exc})", summary)
    return Report(True, None, summary)
