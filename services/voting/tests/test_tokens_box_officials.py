"""Token issuance, the ballot box, the board's receipts and checkpoints, officials' entries."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.voting.domain import officials
from services.voting.domain.ballot_box import BallotBox, validate_vote
from services.voting.domain.ballots import Ballot, Question
from services.voting.domain.board import Board, BoardKey, Receipt, entry_hash, genesis_hash
from services.voting.domain.errors import (
    BallotClosedError,
    BoardError,
    DuplicateSheetError,
    InvalidChoiceError,
    InvalidTokenError,
    NotCheckedInError,
    NotEligibleError,
    OfficialEntryError,
    SameOfficialError,
    TokenAlreadyIssuedError,
    TokenAlreadyUsedError,
)
from services.voting.domain.tokens import (
    TokenIssuer,
    VoteToken,
    finish_token,
    request_token,
    token_ballot_id,
    verify_token,
)

T0 = datetime(2025, 1, 1, 10, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)


@pytest.fixture
def rng():
    return random.Random(42).randbytes


@pytest.fixture
def ballot() -> Ballot:
    return Ballot("b1", "t", (Question.yes_no("q1"), Question.agree_scale("q2")), members=10,
                  opens_at=T0, closes_at=T0 + timedelta(hours=1))


def get_token(key, ballot_id, rng, member="m1") -> VoteToken:
    issuer = TokenIssuer(ballot_id, key)
    req = request_token(key.public_key, ballot_id, rng=rng)
    return finish_token(key.public_key, req, issuer.issue(req.blinded_msg, member_id=member, on_roster=True,
                                                          checked_in=True, already_issued=False))


# ---- issuance --------------------------------------------------------------------------------

def test_issuer_rules(rsa_key, rng):
    issuer = TokenIssuer("b1", rsa_key)
    req = request_token(rsa_key.public_key, "b1", rng=rng)
    kw = dict(member_id="m7", on_roster=True, checked_in=True, already_issued=False)
    with pytest.raises(NotEligibleError, match="not on the roster"):
        issuer.issue(req.blinded_msg, **{**kw, "on_roster": False})
    with pytest.raises(NotCheckedInError, match="checked in"):
        issuer.issue(req.blinded_msg, **{**kw, "checked_in": False})
    with pytest.raises(TokenAlreadyIssuedError, match="already received a token"):
        issuer.issue(req.blinded_msg, **{**kw, "already_issued": True})
    assert (NotCheckedInError.kind, TokenAlreadyIssuedError.kind) == ("forbidden", "conflict")
    token = finish_token(rsa_key.public_key, req, issuer.issue(req.blinded_msg, **kw))
    # The issuer saw only the blinded message: neither the token message nor its signature.
    assert token.message not in req.blinded_msg and token.signature != req.blinded_msg
    assert verify_token(rsa_key.public_key, token, "b1") == token.token_hash
    assert token_ballot_id(token) == "b1"


def test_finish_token_rejects_a_bad_issuer_answer(rsa_key, other_rsa_key, rng):
    req = request_token(rsa_key.public_key, "b1", rng=rng)
    wrong = TokenIssuer("b1", other_rsa_key).issue(request_token(other_rsa_key.public_key, "b1", rng=rng).blinded_msg,
                                                   member_id="m", on_roster=True, checked_in=True,
                                                   already_issued=False)
    with pytest.raises(InvalidTokenError, match="does not verify"):
        finish_token(rsa_key.public_key, req, wrong)


def test_token_bound_to_its_ballot_and_key(rsa_key, other_rsa_key, rng):
    tok = get_token(rsa_key, "b1", rng)
    with pytest.raises(InvalidTokenError, match="made for ballot 'b1'"):
        verify_token(rsa_key.public_key, tok, "b2")
    with pytest.raises(InvalidTokenError, match="forged"):
        verify_token(other_rsa_key.public_key, tok, "b1")
    forged = VoteToken(tok.message, bytes(len(tok.signature)))
    with pytest.raises(InvalidTokenError, match="forged"):
        verify_token(rsa_key.public_key, forged, "b1")
    with pytest.raises(InvalidTokenError, match="not a vote token"):
        verify_token(rsa_key.public_key, VoteToken(b"x" * 80, tok.signature), "b1")
    with pytest.raises(InvalidTokenError, match="hex"):
        VoteToken.from_dict({"message": "zz"})


# ---- ballot box ------------------------------------------------------------------------------

def test_ballot_box_accepts_once_and_gives_receipt(rsa_key, ballot, rng):
    board = Board("board", BoardKey.from_seed(bytes(32)))
    box = BallotBox(board)
    box.add_ballot(ballot, rsa_key.public_key)
    tok = get_token(rsa_key, "b1", rng)
    r = box.cast("b1", {"q1": "yes", "q2": 5}, tok.to_dict(), now=NOW)
    assert (r.position, r.board_id) == (1, "board")
    e = board.find(r)
    assert e["token_hash"] == tok.token_hash and e["kind"] == "online" and e["choices"]["q1"] == "yes"
    assert board.find_by_token(tok.token_hash) == e
    with pytest.raises(TokenAlreadyUsedError):
        box.cast("b1", {"q1": "no", "q2": 1}, tok, now=NOW)
    assert len(board) == 1


def test_ballot_box_refusals(rsa_key, other_rsa_key, ballot, rng):
    box = BallotBox(Board("board"))
    box.add_ballot(ballot, rsa_key.public_key)
    tok = get_token(rsa_key, "b1", rng)
    with pytest.raises(InvalidChoiceError):
        box.cast("b1", {"q1": "yes"}, tok, now=NOW)
    with pytest.raises(InvalidTokenError):
        box.cast("b1", {"q1": "yes", "q2": 1}, get_token(other_rsa_key, "b1", rng), now=NOW)
    with pytest.raises(BallotClosedError):
        box.cast("b1", {"q1": "yes", "q2": 1}, tok, now=T0 + timedelta(hours=2))
    with pytest.raises(InvalidTokenError):
        box.cast("b1", {"q1": "yes", "q2": 1}, {"message": "", "signature": ""}, now=NOW)
    assert len(box.board) == 0
    # The pure rule the service calls (it holds the used-token check in its own transaction):
    acc = validate_vote(ballot, rsa_key.public_key, {"q2": 3, "q1": "no"}, tok, now=NOW)
    assert acc.token_hash == tok.token_hash and acc.choices == {"q1": "no", "q2": 3}
    with pytest.raises(TokenAlreadyUsedError):
        validate_vote(ballot, rsa_key.public_key, {"q2": 3, "q1": "no"}, tok, now=NOW, token_used=True)


# ---- board -----------------------------------------------------------------------------------

def test_board_chain_receipts_checkpoints(rsa_key, rng):
    board = Board("bd", BoardKey.from_seed(bytes(range(32))))
    assert board.head == (0, genesis_hash("bd"))
    r1 = board.append_vote("b1", {"q1": "yes"}, get_token(rsa_key, "b1", rng))
    r2 = board.append_official("b1", {"q1": "no"}, kind="paper", sheet_id="S1", entered_by="a", confirmed_by="b")
    e1, e2 = board.entry(1), board.entry(2)
    assert e1["prev_hash"] == genesis_hash("bd") and e2["prev_hash"] == e1["hash"]
    assert entry_hash(e2) == e2["hash"] == r2.hash and board.head == (2, r2.hash)
    assert Receipt.parse(r1.code) == Receipt("", 1, r1.hash)
    with pytest.raises(BoardError):
        board.find(Receipt("bd", 1, r2.hash))
    with pytest.raises(BoardError):
        board.entry(3)
    cp = board.checkpoint(at=NOW)
    assert cp["position"] == 2 and cp["head_hash"] == r2.hash and len(cp["signature"]) == 128
    # Reloading from stored rows re-checks the chain.
    assert Board("bd", entries=board.entries).head == board.head
    bad = board.entries
    bad[0] = {**bad[0], "choices": {"q1": "no"}}
    with pytest.raises(BoardError, match="does not continue the chain"):
        Board("bd", entries=bad)
    with pytest.raises(BoardError, match="paper or postal"):
        board.append_official("b1", {}, kind="online", sheet_id="x", entered_by="a", confirmed_by="b")


# ---- officials -------------------------------------------------------------------------------

def test_official_entry_needs_a_second_official(ballot):
    p, rec = officials.enter(ballot, entry_id="e1", kind="paper", sheet_id="S-1",
                             choices={"q1": "yes", "q2": 4}, official_id="anna", at=NOW)
    assert p.status is officials.EntryStatus.PENDING
    assert rec.action == "official_entry.entered" and rec.official_id == "anna"
    assert "q1" not in str(rec.to_dict())  # only a digest of the choices in the audit trail
    with pytest.raises(SameOfficialError, match="different official"):
        officials.confirm(ballot, p, official_id="anna", at=NOW)
    with pytest.raises(OfficialEntryError, match="second reading"):
        officials.confirm(ballot, p, official_id="bo", at=NOW, choices={"q1": "no", "q2": 4})
    refused = officials.refused_record(p, "anna", NOW, "same official")
    assert refused.action == "official_entry.confirmation_refused"
    done, conf, rec2 = officials.confirm(ballot, p, official_id="bo", at=NOW, choices={"q2": 4, "q1": "yes"})
    assert done.status is officials.EntryStatus.CONFIRMED and rec2.action == "official_entry.confirmed"
    assert (conf.entered_by, conf.confirmed_by) == ("anna", "bo")
    with pytest.raises(OfficialEntryError, match="already confirmed"):
        officials.confirm(ballot, done, official_id="carl", at=NOW)


def test_official_entry_validation_and_rejection(ballot):
    with pytest.raises(InvalidChoiceError):
        officials.enter(ballot, entry_id="e", kind="postal", sheet_id="S", choices={"q1": "x", "q2": 1},
                        official_id="a", at=NOW)
    with pytest.raises(OfficialEntryError, match="kind"):
        officials.enter(ballot, entry_id="e", kind="online", sheet_id="S", choices={}, official_id="a", at=NOW)
    p, _ = officials.enter(ballot, entry_id="e", kind="postal", sheet_id="S", choices={"q1": "no", "q2": 1},
                           official_id="a", at=NOW)
    rejected, rec = officials.reject(p, official_id="b", at=NOW, reason="sheet unreadable")
    assert rejected.status is officials.EntryStatus.REJECTED and rec.action == "official_entry.rejected"
    with pytest.raises(OfficialEntryError):
        officials.confirm(ballot, rejected, official_id="c", at=NOW)


def test_confirmed_entry_goes_on_board_once(ballot):
    box = BallotBox(Board("bd"))
    box.add_ballot(ballot, None)  # type: ignore[arg-type]  # no online votes here
    p, _ = officials.enter(ballot, entry_id="e", kind="paper", sheet_id="S-9", choices={"q1": "yes", "q2": 2},
                           official_id="a", at=NOW)
    _, conf, _ = officials.confirm(ballot, p, official_id="b", at=NOW)
    r = box.enter_official(conf, now=NOW)
    e = box.board.find(r)
    assert e["kind"] == "paper" and e["officials"] == {"entered_by": "a", "confirmed_by": "b"}
    assert e["token"] is None
    with pytest.raises(DuplicateSheetError):
        box.enter_official(conf, now=NOW)


def test_canonical_json_is_the_utf8_form_whatever_the_text():
    """The fast ASCII path of canonical_json must give the very bytes of the UTF-8 form (what is
    hashed and signed), for any text: non-ASCII, DEL, control characters, backslashes, quotes."""
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from services.voting.domain.board import canonical_json

    leaves = st.none() | st.booleans() | st.integers() | st.text()
    values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)

    @settings(max_examples=400, deadline=None)
    @given(values)
    def check(obj):
        assert canonical_json(obj) == json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                                 allow_nan=False).encode("utf-8")

    check()
    for text in ["æøå", "\x7f", "\x01", "a\\u00e6", '"\\', "\u2028", "😀"]:
        assert canonical_json({"k": text, text: [text]}) == json.dumps(
            {"k": text, text: [text]}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
