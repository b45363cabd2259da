"""The table planner's rules (no I/O): property tests with fixed seeds, and the figures it reports."""

import dataclasses
import math
import random

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from services.sessions.domain.tables import (
    TableMember,
    TableRules,
    plan_figures,
    plan_tables,
    table_count,
)
from services.sessions.domain.tables_search import design
from shared.problems import InvalidInput

STRATA = {"gender": ["f", "m"], "age": ["18-29", "30-44", "45-59", "60+"], "region": ["DK01", "DK02", "DK03"]}


@st.composite
def panels(draw):
    n = draw(st.integers(12, 60))
    members = []
    for i in range(n):
        strata = {c: draw(st.sampled_from(v)) for c, v in STRATA.items()}
        language = draw(st.sampled_from([None] * 12 + ["en", "ar"]))
        members.append(TableMember(id=f"m{i:03d}", strata=strata, language=language,
                                   accessible=draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans())))
    absent = draw(st.sets(st.integers(0, n - 1), max_size=n // 6))
    present = [m.id for i, m in enumerate(members) if i not in absent]
    ids = [m.id for m in members]
    apart = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=4))
    rules = TableRules(rounds=draw(st.integers(1, 4)), table_size=draw(st.integers(6, 10)),
                       accessible_tables=draw(st.sampled_from([None, 2, 3])),
                       keep_apart=tuple((a, b) for a, b in apart if a != b), seed=draw(st.integers(0, 3)))
    return members, present, rules


def _plan_or_refusal(members, present, rules):
    try:
        return plan_tables(members, rules, present=present)
    except InvalidInput as e:
        # Refusals are allowed only with a code that says what to fix.
        assert e.code in {"restricted_tables_full", "language_tables_exceeded", "no_table_fits", "tables_impossible"}
        return None


@seed(1606)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels())
def test_every_plan_keeps_the_rules(case):
    _keeps_the_rules(*case)


@seed(1607)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels())
def test_every_plan_keeps_the_rules_with_the_mix_first(case):
    # repeat meetings have a price, but languages, keep-apart pairs, accessible places and absences hold
    members, present, rules = case
    _keeps_the_rules(members, present, dataclasses.replace(rules, priority="mix"))


def _keeps_the_rules(members, present, rules):
    plan = _plan_or_refusal(members, present, rules)
    if plan is None:
        return
    by_id = {m.id: m for m in members}
    here = set(present)
    assert len(plan.rounds) == rules.rounds
    capacity = max(len(t) for t in plan.rounds[0])
    for tables in plan.rounds:
        seated = [i for t in tables for i in t]
        # everyone present sits exactly once per round; the absent are left out
        assert sorted(seated) == sorted(here)
        # sizes within bounds (and within one of each other)
        sizes = [len(t) for t in tables]
        assert all(rules.min_size <= s <= rules.max_size for s in sizes), sizes
        assert max(sizes) - min(sizes) <= 1
        for t, table in enumerate(tables):
            for a, b in rules.keep_apart:  # keep-apart pairs never share a table
                assert not (a in table and b in table)
            for i in table:
                if by_id[i].accessible and rules.accessible_tables is not None:
                    assert t < rules.accessible_tables  # accessible places are tables 1..N
        # members who need the same language sit at as few tables as hold them
        for lang in {by_id[i].language for i in here} - {None}:
            at = {t for t, table in enumerate(tables) for i in table if by_id[i].language == lang}
            need = sum(1 for i in here if by_id[i].language == lang)
            assert len(at) <= math.ceil(need / math.ceil(len(here) / len(tables)))
    assert capacity <= rules.max_size


@seed(7)
@settings(max_examples=6, deadline=None)
@given(panels())
def test_a_plan_is_the_same_for_the_same_seed_and_input_order(case):
    members, present, rules = case
    first = _plan_or_refusal(members, present, rules)
    again = _plan_or_refusal(list(reversed(members)), list(reversed(present)), rules)
    assert first == again


def test_no_repeat_meeting_where_a_repeat_free_schedule_exists():
    # 99 members at 11 tables (a prime) over 5 rounds: a repeat-free schedule exists.
    members = [TableMember(id=f"m{i:03d}", strata={"g": "fm"[i % 2], "a": str(i % 4)}) for i in range(99)]
    plan = plan_tables(members, TableRules(rounds=5, tables=11))
    figures = plan_figures(plan.rounds, {m.id: m.strata for m in members})
    assert figures.repeats == 0
    assert figures.unique_pairs == 5 * 11 * math.comb(9, 2)
    assert figures.worst_deviation < 0.3  # sorted round-robin gives 0.5 here


def _random_rounds(ids: list[str], tables: int, rounds: int, seed: int) -> list[list[list[str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(rounds):
        order = rng.sample(ids, len(ids))
        out.append([order[t::tables] for t in range(tables)])
    return out


def test_the_mix_first_gives_more_diverse_tables_for_fewer_repeats_than_chance():
    # 99 members at 11 tables over 5 rounds: repeat-free plans exist, but with the mix first the tables
    # are closer to the panel's mix (docs/tables.md: mean 0.18 against 0.135 with ~100 repeats)
    members = _panel_99(1)
    strata = {m.id: m.strata for m in members}
    default = plan_tables(members, TableRules(rounds=5, tables=11, seed=1))
    assert plan_tables(members, TableRules(rounds=5, tables=11, seed=1, priority="no_repeats")) == default
    mix = plan_tables(members, TableRules(rounds=5, tables=11, seed=1, priority="mix"))
    first, second = plan_figures(default.rounds, strata), plan_figures(mix.rounds, strata)
    chance = plan_figures(_random_rounds([m.id for m in members], 11, 5, 1), strata)
    assert first.repeats == 0
    assert second.mean_deviation < first.mean_deviation - 0.02
    assert second.worst_deviation <= first.worst_deviation
    assert 0 < second.repeats < chance.repeats / 2


def test_an_unknown_priority_is_refused():
    members = _panel_99(1)
    with pytest.raises(InvalidInput) as e:
        plan_tables(members, TableRules(rounds=2, priority="best"))  # type: ignore[arg-type]
    assert e.value.code == "priority_invalid"


def test_design_offsets_are_repeat_free_for_a_prime_number_of_tables():
    import random

    off = design(11, 9, 5, random.Random(0))
    for r in range(5):
        for q in range(r):
            diffs = [(off[r][i] - off[q][i]) % 11 for i in range(9)]
            assert len(set(diffs)) == 9


def test_facilitators_limit_the_tables_and_say_what_to_fix():
    assert table_count(60, TableRules(table_size=6, facilitators=8)) == 8
    with pytest.raises(InvalidInput) as e:
        table_count(60, TableRules(facilitators=5))
    assert e.value.code == "too_few_facilitators"
    with pytest.raises(InvalidInput) as e:
        table_count(5, TableRules())
    assert e.value.code == "tables_impossible"


def test_figures_count_pairs_repeats_and_deviation():
    strata = {"a": {"g": "f"}, "b": {"g": "m"}, "c": {"g": "f"}, "d": {"g": "m"}}
    rounds = [[["a", "b"], ["c", "d"]], [["a", "b"], ["c", "d"]]]
    f = plan_figures(rounds, strata)
    assert (f.unique_pairs, f.repeats) == (2, 2)
    assert f.mean_deviation == 0.0
    f = plan_figures([[["a", "c"], ["b", "d"]]], strata)
    assert f.worst_deviation == pytest.approx(1.0)  # all women: |1 - .5| + |0 - .5|


def _state(seed: int, n: int = 40, tables: int = 5, rounds: int = 3, apart=((0, 1), (2, 3))):
    """A seating under search for a random panel (the search's own classes, no plan around them)."""
    import random

    from services.sessions.domain import tables_search as ts
    from services.sessions.domain.tables_fast import FastSeating

    rng = random.Random(seed)
    features = [[rng.randrange(2), 2 + rng.randrange(4), 6 + rng.randrange(3)] for _ in range(n)]
    state = FastSeating(n, tables, rounds, features, 9, [None] * n, list(apart))
    state.load(ts.start(n, tables, rounds, features, rng))
    return state, rng


@pytest.mark.parametrize("seed", range(4))
def test_the_fast_scores_are_the_exact_changes(seed):
    # mix_all / repeats_all (numpy, all partners at once) against the exact change after each swap made
    state, rng = _state(seed)
    for _ in range(60):
        r, a = rng.randrange(state.R), rng.randrange(state.n)
        mix, rep = state.mix_all(r, a), state.repeats_all(r, a)
        b = rng.choice([m for m in range(state.n) if state.where[r][m] != state.where[r][a]])
        cost, repeats = state.mix_cost(), state.repeats
        assert state.mix_delta(r, a, b) == pytest.approx(mix[b])
        state.swap(r, a, b)
        assert state.mix_cost() - cost == pytest.approx(mix[b])
        assert state.repeats - repeats == rep[b]
    # the incremental totals are still the tables' own
    fresh = [state.table_cost(r, t) for r in range(state.R) for t in range(state.T)]
    assert [t for totals in state.totals for t in totals] == pytest.approx(fresh)


def _panel_99(panel_seed: int) -> list[TableMember]:
    """99 members with four strata (the demo's kind of panel)."""
    import random

    rng = random.Random(panel_seed)
    cats = {"gender": ["f"] * 51 + ["m"] * 49, "age": ["18-29"] * 20 + ["30-44"] * 25 + ["45-59"] * 25 + ["60+"] * 30,
            "education": ["short"] * 30 + ["medium"] * 45 + ["long"] * 25,
            "region": [f"DK0{i}" for i in range(1, 6) for _ in range(20)]}
    return [TableMember(id=f"m{i:03d}", strata={c: rng.choice(v) for c, v in cats.items()}) for i in range(99)]


@pytest.mark.parametrize("panel_seed", [1, 2])
def test_the_worst_table_is_pressed_towards_the_panels_mix(panel_seed):
    # 99 members with four strata at 11 tables over 5 rounds, repeat-free: the table term keeps the worst
    # table near the mean (without it the worst table of these panels was 0.283 and 0.263)
    members = _panel_99(panel_seed)
    plan = plan_tables(members, TableRules(rounds=5, tables=11))
    figures = plan_figures(plan.rounds, {m.id: m.strata for m in members})
    assert figures.repeats == 0
    assert figures.worst_deviation < 0.26


@pytest.mark.parametrize("seed", range(3))
def test_the_annealing_never_adds_a_repeat_or_a_keep_apart_breach(seed):
    from services.sessions.domain.tables_fast import improve_fast

    # 25 members at 5 tables of 5 over 3 rounds: the design starts repeat-free (5 is prime)
    state, rng = _state(seed, n=25, apart=((0, 1), (2, 3), (4, 5)))
    breaches = lambda: sum(state.met[a][b] for a, b in ((0, 1), (2, 3), (4, 5)))  # noqa: E731
    before = (state.repeats, breaches())
    assert state.repeats == 0
    improve_fast(state, rng, 400, 0.05, 0.002, 0.5)
    assert state.repeats == 0
    assert breaches() <= before[1]
    # and what it keeps is what the seats say
    fresh = state.met.copy()
    state.load([[list(t) for t in tables] for tables in state.seats])
    assert (state.met == fresh).all()


def test_the_assignment_is_the_least_cost_one():
    import itertools
    import random

    import numpy as np

    from services.sessions.domain.tables_assign import assignment

    rng = random.Random(5)
    for n in range(1, 7):
        for _ in range(15):
            cost = np.array([[rng.choice([rng.random(), float(rng.randrange(3)), 1e9]) for _ in range(n)] for _ in range(n)])
            col = assignment(cost)
            assert sorted(col.tolist()) == list(range(n))
            best = min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n)))
            assert cost[np.arange(n), col].sum() == pytest.approx(best)


@pytest.mark.parametrize("seed", range(3))
def test_everywhere_scores_and_reseating_a_row_are_exact(seed):
    # trading places in every round, and re-seating a row of the design (members who never meet) by an
    # assignment, change the cost by what was scored and never the repeat meetings
    import numpy as np

    state, rng = _state(seed, n=35, tables=7, rounds=3)
    apart = ((0, 1), (2, 3))
    cost = lambda: state.mix_cost() + 1e6 * sum(int(state.M[a, b]) for a, b in apart)  # noqa: E731
    for _ in range(20):
        a = rng.randrange(state.n)
        scores, moved = state.mix_rounds(state.all_rounds, a)
        b = rng.choice([m for m in range(state.n) if moved[m]])
        before, repeats = cost(), state.repeats
        expected = scores[b] + 1e6 * state.breaches(None, a, b)
        state.swap_everywhere(a, b)
        assert cost() - before == pytest.approx(expected)
        assert state.repeats == repeats == 0
    rows = [[m for m in range(state.n) if not state.M[m, x]] for x in range(2)]
    for row in rows:
        X = [row[0]]
        for m in row[1:]:
            if not state.M[m, X].any():
                X.append(m)
        before = cost()
        gain = state.reseat(np.array(X))
        assert before - cost() == pytest.approx(gain)
        assert gain >= 0 and state.repeats == 0


def _random_seating(seed: int, n: int, tables: int, rounds: int, apart=(), allowed=None):
    """A seating with every member at a random table per round (sizes within one), not a design."""
    import random

    from services.sessions.domain.tables_fast import FastSeating

    rng = random.Random(seed)
    features = [[rng.randrange(2), 2 + rng.randrange(4), 6 + rng.randrange(3)] for _ in range(n)]
    state = FastSeating(n, tables, rounds, features, 9, allowed or [None] * n, list(apart))
    seats = []
    for _ in range(rounds):
        order = list(range(n))
        rng.shuffle(order)
        seats.append([order[t::tables] for t in range(tables)])
    state.load(seats)
    return state, rng


def _pinned_seating(seed: int, n: int, tables: int, rounds: int, apart, allowed):
    """A random seating (`_random_seating`) with the pinned members moved to their tables 1-2."""
    state, rng = _random_seating(seed, n=n, tables=tables, rounds=rounds, apart=apart, allowed=allowed)
    for r in range(state.R):
        for m in range(state.n):
            if allowed[m] is not None and state.W[r, m] not in allowed[m]:
                t = state.W[r, m]
                other = next(o for o in state.seats[r][0] + state.seats[r][1] if allowed[o] is None)
                state.swap(r, m, other)
                assert state.W[r, m] in allowed[m] and state.W[r, other] == t
    return state, rng


def _sizes_seats_and_counts_kept(state, sizes, allowed):
    """The tables' sizes are `sizes`, every pinned member sits at an allowed table, and the counts kept
    under search are those of the seats."""
    assert [[len(t) for t in tables] for tables in state.seats] == sizes
    for r in range(state.R):
        for m in range(state.n):
            assert allowed[m] is None or state.W[r, m] in allowed[m]
    fresh_met, fresh_totals = state.M.copy(), [list(t) for t in state.totals]
    state.load([[list(t) for t in tables] for tables in state.seats])
    assert (state.M == fresh_met).all()
    assert [t for ts_ in state.totals for t in ts_] == pytest.approx([t for ts_ in fresh_totals for t in ts_])


@pytest.mark.parametrize("seed", range(4))
def test_cyclic_exchanges_lower_the_cost_by_what_they_score_and_add_no_repeat(seed):
    # property: whatever the start (repeats or not, members pinned to tables, keep-apart pairs), the
    # cyclic exchanges lower the mix cost by exactly the gain they report, never add a repeat meeting
    # or a keep-apart breach, keep every pinned member at an allowed table and the tables' sizes, and
    # the counts kept under search are those of the seats
    from services.sessions.domain.tables_exchange import exchange

    apart = ((0, 1), (2, 3), (4, 5))
    allowed = [frozenset({0, 1}) if m % 9 == 0 else None for m in range(48)]
    state, rng = _pinned_seating(seed, 48, 8, 3, apart, allowed)
    breaches = lambda: sum(int(state.M[a, b]) for a, b in apart)  # noqa: E731
    sizes = [[len(t) for t in tables] for tables in state.seats]
    before, repeats, apart_before = state.mix_cost(), state.repeats, breaches()
    gain = exchange(state, rng)
    assert gain > 0  # a random seating always has a better one within reach
    assert before - state.mix_cost() == pytest.approx(gain)
    assert state.repeats <= repeats and breaches() <= apart_before
    _sizes_seats_and_counts_kept(state, sizes, allowed)


def test_a_negative_cycle_is_found_over_distinct_tables_and_only_if_there_is_one():
    import numpy as np

    from services.sessions.domain.tables_exchange import negative_cycle

    W = np.array([0, 0, 1, 1, 2, 2])  # members 0..5 at tables 0, 0, 1, 1, 2, 2
    arcs = [(0, 2, -3.0), (2, 4, 1.0), (4, 0, 1.0),  # 0 -> 2 -> 4 -> 0: -1 over tables 1, 2, 0
            (0, 1, -9.0), (1, 3, 2.0), (3, 0, 1.0)]  # -9 would be best, but 0 and 1 share a table
    i, j, cost = (np.array(x) for x in zip(*arcs))
    back = np.full((6, 6), np.inf)
    back[i, j] = cost
    total, members = negative_cycle(W, i.astype(np.int64), j.astype(np.int64), cost.astype(float), 5, back)
    assert total == pytest.approx(-1.0)
    assert members in ([0, 2, 4], [2, 4, 0], [4, 0, 2])
    cost[0] = -1.5  # now 0 -> 2 -> 4 -> 0 costs +0.5: nothing to gain
    back[i, j] = cost
    assert negative_cycle(W, i.astype(np.int64), j.astype(np.int64), cost.astype(float), 5, back) is None


def test_the_dense_design_leaves_no_repeat_free_move_in_one_round():
    # 99 members at 11 tables over 5 rounds (the affine plane's design): wherever a member went in one
    # round, to anyone's seat, they would meet someone again; so the cyclic exchanges have no arc there
    # (what docs/tables.md says of demo 99 x 5)
    import random

    import numpy as np

    from services.sessions.domain import tables_search as ts
    from services.sessions.domain.tables_exchange import arcs
    from services.sessions.domain.tables_fast import FastSeating

    rng = random.Random(3)
    features = [[rng.randrange(2), 2 + rng.randrange(4)] for _ in range(99)]
    state = FastSeating(99, 11, 5, features, 6, [None] * 99, [])
    state.load(ts.start(99, 11, 5, features, rng))
    assert state.repeats == 0
    for r in range(5):
        W = state.W[r]
        met_elsewhere = (state.M - (W[:, None] == W[None, :])) >= 1
        np.fill_diagonal(met_elsewhere, False)
        assert len(arcs(state, r, met_elsewhere)[0]) == 0


def _worst(state) -> float:
    """The plan's reported worst table (plan_figures), from the seats alone."""
    strata = {str(m): {str(j): str(f) for j, f in enumerate(state.F[m])} for m in range(state.n)}
    rounds = [[[str(m) for m in table] for table in tables] for tables in state.seats]
    return plan_figures(rounds, strata).worst_deviation


@pytest.mark.parametrize("seed", range(6))
def test_the_polish_lowers_the_worst_table_and_keeps_every_rule(seed):
    # property: from a random seating (repeats, members pinned to tables 1-2, keep-apart pairs) or the
    # repeat-free design, the worst-table polish lowers the reported worst table (never raises it),
    # adds no repeat meeting or keep-apart breach, keeps the pinned members at their tables and the
    # tables' sizes, and the counts kept under search are those of the seats; the same seating gives
    # the same result
    from services.sessions.domain.tables_polish import polish

    apart = ((0, 1), (2, 3), (4, 5))
    if seed % 2:
        state, _ = _state(seed, n=49, tables=7, rounds=3, apart=apart)  # 7 is prime: repeat-free
        allowed = [None] * state.n
        assert state.repeats == 0
    else:
        allowed = [frozenset({0, 1}) if m % 9 == 0 else None for m in range(48)]
        state, _ = _pinned_seating(seed, 48, 8, 3, apart, allowed)
    breaches = lambda: sum(int(state.M[a, b]) for a, b in apart)  # noqa: E731
    sizes = [[len(t) for t in tables] for tables in state.seats]
    worst, repeats, apart_before = _worst(state), state.repeats, breaches()
    seats = [[list(t) for t in tables] for tables in state.seats]
    trace: list = []
    assert polish(state, trace) > 0
    assert _worst(state) < worst - 1e-9
    assert trace[0][0] == pytest.approx(worst) and trace[-1][0] == pytest.approx(_worst(state))
    assert state.repeats <= repeats and breaches() <= apart_before
    _sizes_seats_and_counts_kept(state, sizes, allowed)
    results = []
    for _ in range(2):  # deterministic: the same seating loaded, the same seats after
        state.load([[list(t) for t in tables] for tables in seats])
        polish(state)
        results.append(state.seats)
    assert results[0] == results[1]


@pytest.mark.parametrize("panel_seed", [1, 3])
def test_the_polish_lowers_the_worst_table_of_the_dense_design_for_a_little_mean(panel_seed, monkeypatch):
    # 99 members at 11 tables over 5 rounds (the affine plane's design, where no one can move in one round
    # without a repeat): without the polish the worst tables of these panels were 0.2424 and 0.2677, with
    # it 0.2222 and 0.2424; the plan stays repeat-free and the mean rises by less than 0.01
    from services.sessions.domain import tables_fast

    members = _panel_99(panel_seed)
    rules = TableRules(rounds=5, tables=11)
    strata = {m.id: m.strata for m in members}
    polished = plan_figures(plan_tables(members, rules).rounds, strata)
    monkeypatch.setattr(tables_fast, "polish", lambda state: 0)
    plain = plan_figures(plan_tables(members, rules).rounds, strata)
    assert polished.repeats == plain.repeats == 0
    assert polished.worst_deviation < plain.worst_deviation - 0.01
    assert polished.worst_deviation < 0.25
    assert plain.mean_deviation <= polished.mean_deviation < plain.mean_deviation + 0.01
