"""Table plans: who sits at which table in each round of a session (the rules and the figures; no I/O).

A plan seats the members present at tables of `min_size`..`max_size` for several rounds. Hard
rules: everyone present sits at exactly one table per round, the absent are left out, no more
tables than facilitators, keep-apart pairs never share a table, members who need the same
language sit at that language's tables (as few as hold them), members who need an accessible
place sit at the accessible tables. Soft goals, in this order: as few repeat meetings across
rounds as possible, then every table as close to the panel's mix on the strata as possible (with
`priority="mix"` the mix comes first and repeat meetings are let in at a price).
The search itself is in `tables_search.py`; docs/tables.md explains the objective.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from services.sessions.domain.tables_fast import search
from services.sessions.domain.tables_search import W_REPEAT, W_REPEAT_MIX
from shared.problems import InvalidInput

MAX_ROUNDS = 12
MAX_MEMBERS = 1000


@dataclass(frozen=True)
class TableMember:
    """A member to seat: a pseudonymous id, the strata answers, and needs staff set for the plan."""

    id: str
    strata: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None  # a language the member needs at the table (None: the session's own)
    accessible: bool = False  # needs a table at an accessible place


@dataclass(frozen=True)
class TableRules:
    rounds: int = 3
    table_size: int = 8  # the size aimed at; the number of tables follows from it
    min_size: int = 6
    max_size: int = 10
    tables: int | None = None  # exactly this many tables (overrides table_size)
    facilitators: int | None = None  # at most this many tables (one facilitator per table)
    accessible_tables: int | None = None  # tables 1..N are at accessible places (None: all are)
    group_languages: bool = True
    keep_apart: tuple[tuple[str, str], ...] = ()
    seed: int = 0
    # "no_repeats": as few repeat meetings as possible, then the mix; "mix": the tables' mix first,
    # repeat meetings allowed at a price (on small dense panels: more diverse tables, some repeats)
    priority: Literal["no_repeats", "mix"] = "no_repeats"


PRIORITIES = ("no_repeats", "mix")


@dataclass(frozen=True)
class TablePlan:
    """rounds[r][t] = the ids at table t+1 in round r+1 (each table's ids sorted)."""

    rounds: tuple[tuple[tuple[str, ...], ...], ...]

    def tables_of(self, member_id: str) -> list[int | None]:
        """The member's table number (1-based) in each round, None where not seated."""
        out: list[int | None] = []
        for tables in self.rounds:
            out.append(next((t + 1 for t, ids in enumerate(tables) if member_id in ids), None))
        return out


@dataclass(frozen=True)
class PlanFigures:
    members: int
    tables: int
    unique_pairs: int
    repeats: int  # sum over pairs of (times met - 1)
    mean_deviation: float  # per table: mean over strata of the L1 distance of shares to the panel's
    worst_deviation: float
    language_tables: float  # mean over (round, language) of the tables its members sit at
    language_minimum: float  # the same, if each language sat at as few tables as hold it


@dataclass(frozen=True)
class Layout:
    """The validated problem: members sorted by id, the number of tables, who may sit where."""

    members: tuple[TableMember, ...]
    tables: int
    rounds: int
    allowed: tuple[frozenset[int] | None, ...]  # per member: the tables they may sit at (None: any)
    keep_apart: tuple[tuple[int, int], ...]
    seed: int


def _invalid(message: str, code: str, field_name: str) -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"field": field_name, "problem": message}])


def table_count(n: int, rules: TableRules) -> int:
    """How many tables for n members: the target size, within the size bounds and the facilitators."""
    if not 2 <= rules.min_size <= rules.max_size <= 30:
        raise _invalid("Table sizes must satisfy 2 <= smallest <= largest <= 30.", "table_size_invalid", "min_size")
    fewest = math.ceil(n / rules.max_size)
    most = n // rules.min_size
    if rules.facilitators is not None:
        if rules.facilitators < 1:
            raise _invalid("At least one facilitator is needed.", "no_facilitators", "facilitators")
        most = min(most, rules.facilitators)
    if fewest > most:
        if rules.facilitators is not None and rules.facilitators < fewest:
            raise _invalid(
                f"{n} members at tables of at most {rules.max_size} need {fewest} tables, but there are only "
                f"{rules.facilitators} facilitators: add facilitators or allow larger tables.",
                "too_few_facilitators", "facilitators")
        raise _invalid(
            f"{n} members cannot sit at tables of {rules.min_size}-{rules.max_size}: "
            "check members in or change the table sizes.", "tables_impossible", "min_size")
    if rules.tables is not None:
        if not fewest <= rules.tables <= most:
            raise _invalid(f"{n} members fit at {fewest}-{most} tables, not {rules.tables}.",
                           "table_count_invalid", "tables")
        return rules.tables
    size = rules.table_size if rules.table_size > 0 else (rules.min_size + rules.max_size) // 2
    return min(most, max(fewest, round(n / size)))


def layout(members: Iterable[TableMember], rules: TableRules, present: Iterable[str] | None = None) -> Layout:
    """Validate the inputs and derive who may sit where; the absent (not in `present`) are left out."""
    if not 1 <= rules.rounds <= MAX_ROUNDS:
        raise _invalid(f"A session has 1-{MAX_ROUNDS} rounds of tables.", "rounds_invalid", "rounds")
    here = None if present is None else set(present)
    seated = sorted((m for m in members if here is None or m.id in here), key=lambda m: m.id)
    if len({m.id for m in seated}) != len(seated):
        raise _invalid("A member appears twice.", "member_duplicate", "members")
    if not seated:
        raise _invalid("No member is checked in: there is no one to seat.", "no_members", "members")
    if len(seated) > MAX_MEMBERS:
        raise _invalid(f"At most {MAX_MEMBERS} members per plan.", "too_many_members", "members")
    n = len(seated)
    tables = table_count(n, rules)
    capacity = math.ceil(n / tables)
    index = {m.id: i for i, m in enumerate(seated)}

    # Language tables from table 1 up, in the languages' order; accessible places are tables 1..N.
    language_tables: dict[str, frozenset[int]] = {}
    if rules.group_languages:
        need = Counter(m.language for m in seated if m.language)
        first = 0
        for lang in sorted(need):
            k = math.ceil(need[lang] / capacity)
            language_tables[lang] = frozenset(range(first, first + k))
            first += k
        if first > tables:
            raise _invalid(f"The language groups need {first} tables, but there are {tables}.",
                           "language_tables_exceeded", "language")
    accessible = None
    if rules.accessible_tables is not None:
        if rules.accessible_tables < 0:
            raise _invalid("The number of accessible tables cannot be negative.", "accessible_invalid",
                           "accessible_tables")
        accessible = frozenset(range(min(tables, rules.accessible_tables)))
    allowed: list[frozenset[int] | None] = []
    for m in seated:
        sets = []
        if m.language and m.language in language_tables:
            sets.append(language_tables[m.language])
        if m.accessible and accessible is not None:
            sets.append(accessible)
        allow = frozenset.intersection(*sets) if sets else None
        if allow is not None and not allow:
            raise _invalid("A member who needs an accessible place and a language table has no table with both: "
                           "make more tables accessible.", "no_table_fits", "accessible_tables")
        allowed.append(allow)
    for allow in set(a for a in allowed if a is not None):
        members_in = sum(1 for a in allowed if a is not None and a <= allow)
        if members_in > len(allow) * (n // tables):
            raise _invalid(f"{members_in} members must sit at {len(allow)} tables that seat {len(allow) * (n // tables)}: "
                           "make more tables accessible or allow larger tables.", "restricted_tables_full",
                           "accessible_tables")
    pairs = []
    for a, b in rules.keep_apart:
        if a in index and b in index and a != b:
            pairs.append((min(index[a], index[b]), max(index[a], index[b])))
    return Layout(tuple(seated), tables, rules.rounds, tuple(allowed), tuple(sorted(set(pairs))), rules.seed)


def plan_tables(members: Iterable[TableMember], rules: TableRules, present: Iterable[str] | None = None) -> TablePlan:
    """The plan for the members present (all members if `present` is None); deterministic for a seed."""
    if rules.priority not in PRIORITIES:
        raise _invalid(f"The priority is one of {', '.join(PRIORITIES)}.", "priority_invalid", "priority")
    lay = layout(members, rules, present)
    categories = sorted({c for m in lay.members for c in m.strata})
    index: dict[tuple[str, str | None], int] = {}
    features = [[index.setdefault((c, m.strata.get(c)), len(index)) for c in categories] for m in lay.members]
    price = W_REPEAT_MIX if rules.priority == "mix" else W_REPEAT
    seats = search(len(lay.members), lay.tables, lay.rounds, features, len(index), lay.allowed, lay.keep_apart,
                   lay.seed, price)
    ids = [m.id for m in lay.members]
    return TablePlan(tuple(tuple(tuple(sorted(ids[i] for i in table)) for table in tables) for tables in seats))


def deviation(table: Sequence[str], strata: Mapping[str, Mapping[str, str]], panel: Mapping[str, Counter]) -> float:
    """Mean over the strata of the L1 distance between the table's shares and the panel's."""
    if not panel or not table:
        return 0.0
    total = 0.0
    for category, counts in panel.items():
        n_panel = sum(counts.values())
        here = Counter(strata[i].get(category) for i in table)
        total += sum(abs(here.get(v, 0) / len(table) - c / n_panel) for v, c in counts.items())
    return total / len(panel)


def panel_counts(ids: Iterable[str], strata: Mapping[str, Mapping[str, str]]) -> dict[str, Counter]:
    ids = list(ids)
    categories = sorted({c for i in ids for c in strata[i]})
    return {c: Counter(strata[i].get(c) for i in ids) for c in categories}


def plan_figures(rounds: Sequence[Sequence[Sequence[str]]], strata: Mapping[str, Mapping[str, str]],
                 language: Mapping[str, str | None] | None = None) -> PlanFigures:
    """The figures reported per plan (and compared in benchmarks/tables.py)."""
    met: Counter = Counter()
    seated: set[str] = set()
    for tables in rounds:
        for table in tables:
            seated.update(table)
            met.update(itertools.combinations(sorted(table), 2))
    panel = panel_counts(seated, strata)
    devs = [deviation(table, strata, panel) for tables in rounds for table in tables]
    language = language or {}
    used, least = [], []
    for tables in rounds:
        if not tables:
            continue
        capacity = max(len(t) for t in tables)
        per_lang: dict[str, set[int]] = {}
        for t, table in enumerate(tables):
            for i in table:
                if language.get(i):
                    per_lang.setdefault(language[i], set()).add(t)
        for lang, at in per_lang.items():
            used.append(len(at))
            n_lang = sum(1 for table in tables for i in table if language.get(i) == lang)
            least.append(math.ceil(n_lang / capacity))
    return PlanFigures(
        members=len(seated), tables=max((len(t) for t in rounds), default=0),
        unique_pairs=len(met), repeats=sum(c - 1 for c in met.values()),
        mean_deviation=sum(devs) / len(devs) if devs else 0.0, worst_deviation=max(devs, default=0.0),
        language_tables=sum(used) / len(used) if used else 0.0,
        language_minimum=sum(least) / len(least) if least else 0.0)
