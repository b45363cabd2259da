"""A drawn member's answer to their place on the panel: they confirm it, or decline it (and
sortition is asked to replace them). A confirmed member may still decline later; a declined
place is given to someone else, so it cannot be confirmed again."""

from __future__ import annotations

from shared.problems import Conflict, InvalidInput

ANSWERS = ("confirmed", "declined")


def answer_place(current: str | None, answer: str) -> str:
    if answer not in ANSWERS:
        raise InvalidInput("answer must be confirmed or declined", code="place_answer")
    if current == "declined":
        raise Conflict("you have declined your place, and it goes to someone else", code="place_declined")
    if current == answer:
        raise Conflict("you have already confirmed your place", code="place_confirmed")
    return answer
