"""A small, honest election run end to end in memory: the reference for how the pieces fit.

Used by the tests (the tampering cases start from it) and by ``borgerting voting example-board``.
Choices and token randomness come from ``seed``; the RSA key is generated unless one is given.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import officials
from .ballot_box import BallotBox
from .ballots import Ballot, Question, Quorum, Threshold
from .blind_rsa import SecretKey
from .board import BallotPublication, Board, BoardKey, Receipt
from .tally import tally
from .tokens import TokenIssuer, finish_token, request_token

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def example_ballot(members: int = 30) -> Ballot:
    return Ballot(
        id="b1",
        title="Recommendations, session 4",
        members=members,
        threshold=Threshold.simple_majority(),
        quorum=Quorum(min_ballots=5),
        opens_at=T0,
        closes_at=T0 + timedelta(hours=2),
        questions=(
            Question.yes_no("q1", "Recommendation 1: more cycle lanes"),
            Question.agree_scale("q2", "Recommendation 2: car-free centre", points=5),
            Question.approval("q3", ["tram", "bus", "bike"], "Which transport to fund first?"),
            Question.ranking("q4", ["health", "housing", "climate"], "Order of priority"),
        ),
    )


def random_choices(ballot: Ballot, rnd: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q in ballot.questions:
        if rnd.random() < 0.1:
            out[q.id] = "abstain"
        elif q.type.value == "yes_no_abstain":
            out[q.id] = rnd.choice(["yes", "yes", "no"])
        elif q.type.value == "agree_scale":
            out[q.id] = rnd.choice(q.points)
        elif q.type.value == "approval":
            out[q.id] = [o for o in q.options if rnd.random() < 0.5]
        else:
            opts = list(q.options)
            rnd.shuffle(opts)
            out[q.id] = opts
    return out


@dataclass
class ExampleElection:
    export: dict[str, Any]
    board: Board
    ballot: Ballot
    receipts: list[Receipt] = field(default_factory=list)


def run_example(*, online: int = 12, paper: int = 2, postal: int = 1, seed: int = 1,
                rsa_key: SecretKey | None = None, members: int = 30) -> ExampleElection:
    rnd = random.Random(seed)
    rng = rnd.randbytes
    ballot = example_ballot(members)
    sk = rsa_key or SecretKey.generate(2048)
    issuer = TokenIssuer(ballot.id, sk)
    board_key = BoardKey.from_seed(hashlib.sha256(f"example-board-{seed}".encode()).digest())
    board = Board("assembly-example", board_key)
    box = BallotBox(board)
    box.add_ballot(ballot, sk.public_key)
    now = T0 + timedelta(minutes=5)
    receipts: list[Receipt] = []

    # Tokens are issued in bulk at check-in, then votes are cast later (unlinkable by timing).
    tokens = []
    for i in range(online):
        req = request_token(sk.public_key, ballot.id, rng=rng)
        blind_sig = issuer.issue(req.blinded_msg, member_id=f"m{i:03d}", on_roster=True, checked_in=True,
                                 already_issued=False)
        tokens.append(finish_token(sk.public_key, req, blind_sig))
    for tok in tokens:
        receipts.append(box.cast(ballot.id, random_choices(ballot, rnd), tok, now=now))
        if len(board) % 5 == 0:
            board.checkpoint(at=now)

    for i, kind in enumerate(["paper"] * paper + ["postal"] * postal):
        choices = random_choices(ballot, rnd)
        pending, _ = officials.enter(ballot, entry_id=f"e{i}", kind=kind, sheet_id=f"S-{1000 + i}",
                                     choices=choices, official_id="official-anna", at=now)
        _, confirmed, _ = officials.confirm(ballot, pending, official_id="official-bo", at=now, choices=choices)
        receipts.append(box.enter_official(confirmed, now=now))

    closed = ballot.close(T0 + timedelta(hours=1))
    box.replace_ballot(closed)
    board.checkpoint(at=closed.closed_at)
    result = tally(closed, board.votes(ballot.id), now=closed.closed_at)  # type: ignore[arg-type]
    pub = BallotPublication(closed, sk.public_key, {"online": online, "paper": paper, "postal": postal}, result)
    return ExampleElection(board.export([pub]), board, closed, receipts)
