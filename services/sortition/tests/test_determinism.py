"""The draw replays identically on a slow or loaded machine (issue 17: verifiability).

Everything a replay recomputes (LEXIMIN with the face walk, the lottery's rounding) must not depend
on the wall clock: no solver time limits, one thread, a fixed seed.  A "slow machine" here is HiGHS
itself made slow: every solve sleeps first, and every wall-clock limit a caller sets shrinks
10,000-fold (what a limit sized on a fast, idle machine leaves on a loaded one).  No
infrastructure is involved; the solver is real.
"""

from __future__ import annotations

import json
import time

import highspy
import numpy as np
import pytest

from services.sortition.domain import (Contribution, build_instance, commitment, draw_replacement, final_draw,
                                       make_lottery, select, verify_replacements)
from services.sortition.domain import lottery as lottery_mod
from services.sortition.domain.synth import synth_pool

_Highs = highspy.Highs


class _SlowHighs(_Highs):
    limits: list[float] = []

    def setOptionValue(self, name, value):  # noqa: N802 (HiGHS' name)
        if name == "time_limit":
            type(self).limits.append(float(value))
            value = float(value) / 1e4
        return super().setOptionValue(name, value)

    def run(self):
        time.sleep(0.002)
        return super().run()


@pytest.fixture
def slow_machine(monkeypatch):
    def on():
        _SlowHighs.limits = []
        monkeypatch.setattr(highspy, "Highs", _SlowHighs)
    return on


def _pool():
    people, quotas, k = synth_pool(160, 12, categories=6, seed=11, band=1)
    return build_instance(people, quotas, k)


def test_the_draw_and_a_replacement_replay_identically_on_a_slow_machine(slow_machine):
    inst = _pool()
    res = select(inst, "leximin")
    assert res.distribution.stats["method"].startswith("relaxation + face walk")
    lot = make_lottery(inst, res.distribution, 300)
    contribs = [Contribution("alice", commitment("s1"), "s1")]
    t = json.loads(json.dumps(final_draw(inst, res, contribs, lottery=lot, n_reserves=3)))
    r1 = json.loads(json.dumps(draw_replacement(inst, t, t["selected"][:2], from_reserves=False, m=200)))

    slow_machine()
    again = select(inst, "leximin")
    assert np.array_equal(again.distribution.panels, res.distribution.panels)
    assert np.array_equal(again.distribution.probs, res.distribution.probs)
    lot2 = make_lottery(inst, again.distribution, 300)
    assert lot2.panels == lot.panels and np.array_equal(lot2.tickets, lot.tickets)
    assert final_draw(inst, again, contribs, lottery=lot2, n_reserves=3) == t
    # the replay of the replacement (LEXIMIN over the completions, rounding, draw) on the slow machine
    assert verify_replacements([r1], inst, draw=t, recompute=True)[0]["number"] == 1
    assert _SlowHighs.limits == []  # no solver on the draw's path was given a wall-clock limit


def test_the_rounding_is_deterministic_and_never_worse_than_the_systematic_start():
    inst = _pool()
    dist = select(inst, "leximin").distribution
    target = dist.type_probabilities(inst)
    start = lottery_mod._systematic(dist.probs, 300)
    t1, dev1 = lottery_mod.round_types(inst, dist, 300)
    t2, dev2 = lottery_mod.round_types(inst, dist, 300)
    assert np.array_equal(t1, t2) and dev1 == dev2
    assert t1.sum() == 300 and np.all(np.abs(t1 - 300 * dist.probs) < 1.0)  # floor or ceil of m p
    assert dev1 <= lottery_mod._deviation(inst, dist, start, 300, target)
    assert dev1 == pytest.approx(np.max(np.abs((t1 @ dist.panels) / (300 * inst.type_counts) - target)))
