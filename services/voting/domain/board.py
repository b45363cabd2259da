"""The public bulletin board: a hash chain of accepted votes, receipts, signed checkpoints, export.

Entry (every key always present; JSON)::

    {"position": 1,                       # 1, 2, 3, ... without gaps
     "ballot_id": "b1",
     "kind": "online" | "paper" | "postal",
     "choices": {"q1": "yes", ...},       # normalised by Ballot.validate_choices
     "token": {"message": hex, "signature": hex} | null,   # online votes
     "token_hash": hex | null,            # sha256(token message): what the voter looks up
     "sheet_id": str | null,              # paper/postal: serial printed on the ballot sheet
     "officials": {"entered_by": id, "confirmed_by": id} | null,   # paper/postal
     "prev_hash": hex,                    # hash of the previous entry, or the genesis hash
     "hash": hex}                         # sha256(canonical JSON of all the other keys)

Canonical JSON: UTF-8, keys sorted, no whitespace (``canonical_json``). The genesis hash is
sha256 of canonical {"board_id", "format"}, so a chain cannot be moved to another board.
No timestamps are stored on entries: time of casting could link a vote to a token issue.

Receipt = (position, hash). Checkpoint = (board_id, position, head hash, at) signed with the
board's Ed25519 key; export = one JSON document (see ``Board.export``) signed the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .ballots import Ballot
from .blind_rsa import DEFAULT_VARIANT, PublicKey, Variant
from .errors import BoardError
from .tally import BallotResult
from .tokens import VoteToken

FORMAT = "borgerting-voting-board/1"
KINDS = ("online", "paper", "postal")
OFFICIAL_KINDS = ("paper", "postal")
ENTRY_KEYS = ("position", "ballot_id", "kind", "choices", "token", "token_hash", "sheet_id",
              "officials", "prev_hash", "hash")


def canonical_json(obj: Any) -> bytes:
    """The one serialisation that is hashed and signed: sorted keys, no whitespace, UTF-8."""
    # json writes ASCII-only output faster. Both forms differ only where the ASCII one has a
    # \u escape (any character outside space..~ that is not escaped alike, e.g. "ø", DEL):
    # without one they are the same text, with one the UTF-8 form is written.
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    if "\\u" in text:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def genesis_hash(board_id: str) -> str:
    return sha256_hex(canonical_json({"format": FORMAT, "board_id": board_id}))


def entry_hash(entry: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON of every key but ``hash`` (``prev_hash`` included)."""
    return sha256_hex(canonical_json({k: v for k, v in entry.items() if k != "hash"}))


# --------------------------------------------------------------------------------------------
# Board key (Ed25519)
# --------------------------------------------------------------------------------------------


class BoardKey:
    """The board's Ed25519 signing key (checkpoints and exports)."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key

    @classmethod
    def generate(cls) -> BoardKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> BoardKey:
        """From the 32-byte private seed (how the service loads it from its secret store)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_hex(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ).hex()

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_hex)

    def sign(self, payload: Mapping[str, Any]) -> str:
        return self._key.sign(canonical_json(payload)).hex()

    def __repr__(self) -> str:
        return f"BoardKey(public={self.public_hex[:16]}...)"


def verify_signature(public_hex: str, payload: Mapping[str, Any], signature_hex: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        key.verify(bytes.fromhex(signature_hex), canonical_json(payload))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def key_fingerprint(public_hex: str) -> str:
    """sha256 hex of the raw Ed25519 public key: what is published outside the board (the
    ballot-opened event and audit entry, the report) so that a verifier can pin the key."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()


def checkpoint_payload(cp: Mapping[str, Any]) -> dict[str, Any]:
    """What a checkpoint's signature covers. `audit_heads` (the services' audit trail heads the
    board anchors, {service: {seq, hash}}) is signed when the checkpoint carries it."""
    payload = {"type": "checkpoint", "format": FORMAT, "board_id": cp["board_id"],
               "position": cp["position"], "head_hash": cp["head_hash"], "at": cp.get("at")}
    if "audit_heads" in cp:
        payload["audit_heads"] = cp["audit_heads"]
    return payload


def sign_checkpoint(key: BoardKey, board_id: str, position: int, head_hash: str,
                    at: datetime | None, anchors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A checkpoint of a board at `position` (its head then), signed with the board's key; with
    `anchors`, the services' audit trail heads ({service: {seq, hash}}), signed with it."""
    cp: dict[str, Any] = {"board_id": board_id, "position": position, "head_hash": head_hash,
                          "at": at.isoformat() if at else None}
    if anchors is not None:
        cp["audit_heads"] = dict(anchors)
    cp["signature"] = key.sign(checkpoint_payload(cp))
    return cp


def board_id_for(assembly_id: Any) -> str:
    """One board per assembly."""
    return f"assembly-{assembly_id}"


def public_entry(entry: dict[str, Any], hidden: bool) -> dict[str, Any]:
    """While its ballot is open an entry is shown without its choices (position and hash prove it
    is there); the choices appear when the ballot closes, so no running count leaks."""
    if not hidden:
        return {**entry, "choices_hidden": False}
    return {**{k: v for k, v in entry.items() if k not in ("choices", "token")}, "choices": None, "token": None,
            "choices_hidden": True}


def export_payload(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "signature"}


# --------------------------------------------------------------------------------------------
# Receipts, entries, the board
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the voter keeps: where their vote is on the board and its hash."""

    board_id: str
    position: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"board_id": self.board_id, "position": self.position, "hash": self.hash}

    @property
    def code(self) -> str:
        """Short form to show or type: ``POSITION:HASH``."""
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, code: str, board_id: str = "") -> Receipt:
        try:
            pos, h = code.split(":", 1)
            return cls(board_id, int(pos), h.strip().lower())
        except ValueError:
            raise BoardError(f"receipt {code!r} is not POSITION:HASH") from None


@dataclass(frozen=True)
class BallotPublication:
    """What the board publishes about one ballot besides its votes."""

    ballot: Ballot
    token_key: PublicKey
    issued: Mapping[str, int]  # {"online": tokens issued, "paper": sheets, "postal": sheets}
    result: BallotResult | None = None  # only once the ballot is closed and tallied
    variant: Variant = DEFAULT_VARIANT

    def to_dict(self) -> dict[str, Any]:
        return {
            "definition": self.ballot.to_dict(),
            "token_key": {"alg": self.variant.name, "key_id": self.token_key.key_id,
                          "pem": self.token_key.to_pem()},
            "issued": {k: int(self.issued.get(k, 0)) for k in KINDS},
            "result": self.result.to_dict() if self.result else None,
        }


def make_entry(*, position: int, prev_hash: str, ballot_id: str, kind: str, choices: Mapping[str, Any],
               token: VoteToken | None = None, sheet_id: str | None = None,
               officials: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build one chained entry (pure): the service can call this inside its own transaction."""
    return chain_entry(position=position, prev_hash=prev_hash, ballot_id=ballot_id, kind=kind, choices=choices,
                       token=token, sheet_id=sheet_id, officials=officials)[0]


def chain_entry(*, position: int, prev_hash: str, ballot_id: str, kind: str, choices: Mapping[str, Any],
                token: VoteToken | None = None, sheet_id: str | None = None,
                officials: Mapping[str, str] | None = None) -> tuple[dict[str, Any], bytes]:
    """`make_entry`, and the canonical JSON of the entry without its hash (what the hash is
    over), for a writer that stores the entry as JSON text."""
    if kind not in KINDS:
        raise BoardError(f"kind must be one of {', '.join(KINDS)}")
    entry: dict[str, Any] = {
        "position": position,
        "ballot_id": ballot_id,
        "kind": kind,
        "choices": dict(choices),
        "token": token.to_dict() if token else None,
        "token_hash": token.token_hash if token else None,
        "sheet_id": sheet_id,
        "officials": dict(officials) if officials else None,
        "prev_hash": prev_hash,
    }
    body = canonical_json(entry)
    entry["hash"] = sha256_hex(body)
    return entry, body


class Board:
    """An append-only board held in memory; the service persists ``entries`` and rebuilds with
    ``Board(board_id, entries=rows)`` (the chain is re-checked on load)."""

    def __init__(self, board_id: str, key: BoardKey | None = None, entries: Iterable[Mapping[str, Any]] = (),
                 checkpoints: Iterable[Mapping[str, Any]] = ()):
        self.board_id = board_id
        self.key = key
        self._entries: list[dict[str, Any]] = []
        self._by_token: dict[str, int] = {}
        self._by_sheet: dict[tuple[str, str], int] = {}
        self.checkpoints: list[dict[str, Any]] = [dict(c) for c in checkpoints]
        for e in entries:
            self._load(dict(e))

    def _load(self, e: dict[str, Any]) -> None:
        pos, prev = self.head
        if e.get("position") != pos + 1 or e.get("prev_hash") != prev or entry_hash(e) != e.get("hash"):
            raise BoardError(f"stored entry {e.get('position')} does not continue the chain at {pos}")
        self._index(e)

    def _index(self, e: dict[str, Any]) -> None:
        self._entries.append(e)
        if e["token_hash"]:
            self._by_token[e["token_hash"]] = e["position"]
        if e["sheet_id"]:
            self._by_sheet[(e["ballot_id"], e["sheet_id"])] = e["position"]

    # ---- reading ---------------------------------------------------------------------------

    @property
    def head(self) -> tuple[int, str]:
        if not self._entries:
            return 0, genesis_hash(self.board_id)
        last = self._entries[-1]
        return last["position"], last["hash"]

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, position: int) -> dict[str, Any]:
        if not 1 <= position <= len(self._entries):
            raise BoardError(f"there is no entry {position} on board {self.board_id}")
        return self._entries[position - 1]

    def find(self, receipt: Receipt) -> dict[str, Any]:
        """The entry a receipt points to; ``BoardError`` if absent or its hash differs."""
        e = self.entry(receipt.position)
        if e["hash"] != receipt.hash:
            raise BoardError(f"entry {receipt.position} has another hash than the receipt")
        return e

    def find_by_token(self, token_hash: str) -> dict[str, Any] | None:
        pos = self._by_token.get(token_hash)
        return self._entries[pos - 1] if pos else None

    def token_used(self, token_hash: str) -> bool:
        return token_hash in self._by_token

    def sheet_used(self, ballot_id: str, sheet_id: str) -> bool:
        return (ballot_id, sheet_id) in self._by_sheet

    def votes(self, ballot_id: str) -> list[dict[str, Any]]:
        return [e["choices"] for e in self._entries if e["ballot_id"] == ballot_id]

    # ---- appending -------------------------------------------------------------------------

    def _append(self, **fields: Any) -> Receipt:
        pos, prev = self.head
        e = make_entry(position=pos + 1, prev_hash=prev, **fields)
        self._index(e)
        return Receipt(self.board_id, e["position"], e["hash"])

    def append_vote(self, ballot_id: str, choices: Mapping[str, Any], token: VoteToken) -> Receipt:
        """Append an online vote. No checks here: the ballot box validates first."""
        return self._append(ballot_id=ballot_id, kind="online", choices=choices, token=token)

    def append_official(self, ballot_id: str, choices: Mapping[str, Any], *, kind: str, sheet_id: str,
                        entered_by: str, confirmed_by: str) -> Receipt:
        """Append a confirmed paper/postal vote (see ``officials.confirm``)."""
        if kind not in OFFICIAL_KINDS:
            raise BoardError(f"officials enter only {' or '.join(OFFICIAL_KINDS)} votes")
        return self._append(ballot_id=ballot_id, kind=kind, choices=choices, sheet_id=sheet_id,
                            officials={"entered_by": entered_by, "confirmed_by": confirmed_by})

    # ---- signing ---------------------------------------------------------------------------

    def _require_key(self) -> BoardKey:
        if self.key is None:
            raise BoardError("this board has no signing key")
        return self.key

    def checkpoint(self, at: datetime | None = None) -> dict[str, Any]:
        """Sign the current head; the checkpoint is kept and published."""
        pos, h = self.head
        cp = sign_checkpoint(self._require_key(), self.board_id, pos, h, at)
        self.checkpoints.append(cp)
        return cp

    def export(self, ballots: Iterable[BallotPublication]) -> dict[str, Any]:
        """The whole board as one signed JSON document (the verifier's input)."""
        key = self._require_key()
        pos, h = self.head
        doc: dict[str, Any] = {
            "format": FORMAT,
            "board_id": self.board_id,
            "board_key": {"alg": "Ed25519", "public_key": key.public_hex},
            "ballots": [b.to_dict() for b in ballots],
            "entries": self.entries,
            "checkpoints": list(self.checkpoints),
            "head": {"position": pos, "hash": h},
        }
        doc["signature"] = key.sign(export_payload(doc))
        return doc
