"""The foundation's tally for yes/no/abstain questions (the full ballot types come with issue 4).

Support = yes / (yes + no); abstentions are not valid votes. A question passes when support
reaches the threshold; a simple majority (threshold 0.5) needs strictly more than half.
"""

from __future__ import annotations

from collections.abc import Mapping

CHOICES = ("yes", "no", "abstain")


def passes(yes: int, no: int, threshold: float) -> bool:
    valid = yes + no
    if valid == 0:
        return False
    if threshold == 0.5:
        return 2 * yes > valid
    return yes >= threshold * valid - 1e-12


def result(counts: Mapping[str, int], threshold: float) -> dict:
    yes, no, abstain = (int(counts.get(c, 0)) for c in CHOICES)
    valid = yes + no
    return {
        "yes": yes,
        "no": no,
        "abstain": abstain,
        "support": round(yes / valid, 6) if valid else 0.0,
        "passed": passes(yes, no, threshold),
    }
