"""Stipends without I/O: the ledger from attendance at held sessions and approved claims, the
four-eyes approvals, claims' checks, the payment file's amounts, a member's answer to their place."""

import pytest

from services.recruitment.domain.places import answer_place
from services.recruitment.domain.stipends import (Claim, Rates, amount_dkk, approve, check_claim, incomplete, ledgers,
                                                 paid_key, payable, payment_text, receipt_type, reject)
from shared.problems import Conflict, InvalidInput

HELD = [("s1", 75_000), ("s2", 75_000), ("s3", 80_000)]
MARKS = {("s1", "ann"): True, ("s2", "ann"): True, ("s3", "ann"): True,
         ("s1", "bo"): True, ("s2", "bo"): False,  # bo: no mark at s3 counts as absent
         ("s1", "cy"): False, ("s2", "cy"): False, ("s3", "cy"): False}


def test_the_ledger_pays_the_present_at_each_held_session_and_not_the_absent():
    books = ledgers(HELD, MARKS, [], {})
    assert books["ann"].earned_ore == 230_000 and books["ann"].sessions_present == 3
    assert books["bo"].earned_ore == 75_000 and [x.status for x in books["bo"].lines] == ["present", "absent", "absent"]
    assert books["cy"].earned_ore == 0 and payable(books["cy"]) == []
    assert all(isinstance(x.amount_ore, int) for b in books.values() for x in b.lines)


def test_a_session_not_yet_held_pays_nothing_and_the_panel_is_listed_without_marks():
    books = ledgers(HELD[:1], {**MARKS, ("s2", "ann"): True}, [], {}, members=["dan"])
    assert books["ann"].earned_ore == 75_000
    assert books["dan"].earned_ore == 0 and len(books["dan"].lines) == 1


def test_claims_pay_once_approved_and_paid_lines_keep_what_was_paid():
    claims = [Claim("c1", "ann", "s1", "travel", 12_350, "approved"), Claim("c2", "ann", "s2", "childcare", 40_000, "pending"),
              Claim("c3", "bo", "s1", "travel", 9_900, "rejected")]
    books = ledgers(HELD, MARKS, claims, {("session:ann", "s1"): 70_000})
    ann = books["ann"]
    assert ann.earned_ore == 70_000 + 75_000 + 80_000 + 12_350
    assert ann.paid_ore == 70_000 and ann.due_ore == ann.earned_ore - 70_000
    assert [(x.kind, x.ref) for x in payable(ann)] == [("session", "s2"), ("session", "s3"), ("travel", "c1")]
    assert books["bo"].earned_ore == 75_000
    line = payable(ann)[0]
    assert paid_key(line, "ann") == ("session:ann", "s2")


def test_two_different_staff_approve_a_claim_and_the_same_person_cannot_approve_twice():
    status, approvals = approve("pending", [], "issuer|alice")
    assert (status, approvals) == ("pending", ("issuer|alice",))
    with pytest.raises(Conflict) as same:
        approve(status, approvals, "issuer|alice")
    assert same.value.code == "same_approver"
    status, approvals = approve(status, approvals, "issuer|bob")
    assert status == "approved" and len(approvals) == 2
    with pytest.raises(Conflict):
        approve(status, approvals, "issuer|carl")
    with pytest.raises(Conflict):
        reject("approved")
    assert reject("pending") == "rejected"


RATES = Rates(75_000, travel_cap_ore=50_000, childcare_cap_ore=0)


@pytest.mark.parametrize("kw, code", [
    ({"kind": "taxi"}, "claim_kind"),
    ({"kind": "childcare"}, "claim_not_paid"),
    ({"amount_ore": 0}, "claim_amount"),
    ({"amount_ore": 50_001}, "claim_above_cap"),
    ({"present": False}, "claim_not_present"),
    ({"present": None}, "claim_not_present"),
    ({"earlier": 1}, "claim_duplicate"),
    ({"receipt_type": None}, "claim_receipt"),
    ({"receipt_size": 6 * 1024 * 1024}, "claim_receipt"),
])
def test_a_claim_is_refused_with_what_to_fix(kw, code):
    args = {"kind": "travel", "amount_ore": 50_000, "present": True, "earlier": 0, "receipt_type": "application/pdf",
            "receipt_size": 1000, **kw}
    with pytest.raises((InvalidInput, Conflict)) as exc:
        check_claim(RATES, **args)
    assert exc.value.code == code


def test_a_claim_within_the_cap_for_an_attended_session_with_a_receipt_is_accepted():
    check_claim(RATES, kind="travel", amount_ore=50_000, present=True, earlier=0, receipt_type="image/png",
                receipt_size=5 * 1024 * 1024)


def test_receipts_are_known_by_their_bytes_and_amounts_print_without_floats():
    assert receipt_type(b"%PDF-1.7 ...") == "application/pdf"
    assert receipt_type(b"\x89PNG\r\n\x1a\nxxxx") == "image/png"
    assert receipt_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert receipt_type(b"<html>") is None
    assert [amount_dkk(x) for x in (0, 5, 123_450, 75_000, -250)] == ["0,00", "0,05", "1234,50", "750,00", "-2,50"]
    books = ledgers(HELD, MARKS, [Claim("c1", "ann", "s1", "travel", 100, "approved")], {})
    assert payment_text(payable(books["ann"])) == "Borgerting 3 mødedage, 1 udlæg"
    assert payment_text(payable(books["bo"])) == "Borgerting 1 mødedag"
    assert len(payment_text(payable(books["ann"]))) <= 35


def test_attendance_still_arriving_is_noticed():
    assert incomplete([("s1", 2), ("s2", 1), ("s3", None)], {"s1": 2}) == ["s2"]


def test_a_member_confirms_or_declines_and_a_declined_place_stays_declined():
    assert answer_place(None, "confirmed") == "confirmed"
    assert answer_place("confirmed", "declined") == "declined"
    for current, answer, code in (("declined", "confirmed", "place_declined"), ("confirmed", "confirmed", "place_confirmed"),
                                  (None, "maybe", "place_answer")):
        with pytest.raises((InvalidInput, Conflict)) as exc:
            answer_place(current, answer)
        assert exc.value.code == code
