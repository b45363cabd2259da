"""The voting service's keys, derived from its secret (no I/O): the Ed25519 key of each assembly's
bulletin board (and the checkpoints it signs), and the password that encrypts each ballot's
token-signing key at rest."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any

from .board import BoardKey, board_id_for, sign_checkpoint


def derive(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode(), label.encode(), hashlib.sha256).digest()


def board_key(secret: str, assembly_id: uuid.UUID) -> BoardKey:
    """The board's Ed25519 key, derived from the service secret (one board per assembly)."""
    return BoardKey.from_seed(derive(secret, f"voting/board-key/{assembly_id}"))


def ballot_key_password(secret: str, ballot_id: uuid.UUID) -> bytes:
    return derive(secret, f"voting/ballot-key/{ballot_id}").hex().encode()


def checkpoint_body(secret: str, assembly_id: uuid.UUID, position: int, head_hash: str,
                    at: datetime, anchors: dict[str, Any] | None = None) -> dict[str, Any]:
    """A checkpoint of the assembly's board at `position`, signed with the board's key (with the
    audit trail heads it anchors, if given)."""
    return sign_checkpoint(board_key(secret, assembly_id), board_id_for(assembly_id), position, head_hash, at,
                           anchors)
