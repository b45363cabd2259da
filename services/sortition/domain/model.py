"""Pool, quotas and the validated selection instance (pure data, no I/O).

An :class:`Instance` is what every algorithm works on.  It is built from in-memory data with
:func:`build_instance` (the service calls this with rows from its database; the CSV readers in
``io_formats`` call it too) and validated there, so a bad input fails early with a
:class:`SortitionInputError` whose message says exactly what is wrong.

Volunteers with the same value in every category and no household constraint are
interchangeable: the instance collapses them into *types* (``type_of[i]``, ``type_counts[t]``).
The LP/IP work over types, which is what makes large pools fast.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np


class SortitionInputError(ValueError):
    """Bad input for the selection engine; the message is meant for the organiser."""


@dataclass(frozen=True)
class Quota:
    """Panel members with ``category == value`` must number between ``min`` and ``max``.

    With ``within = (region_category, region_value)`` the quota is a per-region quota: only panel
    members with ``region_category == region_value`` count (e.g. at least 3 women within
    region=North), on top of the plain quotas of both categories.
    """

    category: str
    value: str
    min: int
    max: int
    min_flex: int | None = None  # kept from the sortition-algorithms format, not used to relax
    max_flex: int | None = None
    within: tuple[str, str] | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return (self.category, self.value) if self.within is None else (self.category, self.value, *self.within)

    @property
    def label(self) -> str:
        base = f"{self.category}={self.value}"
        return base if self.within is None else f"{base} within {self.within[0]}={self.within[1]}"

    def applies(self, features: Mapping[str, str]) -> bool:
        return features[self.category] == self.value and (
            self.within is None or features[self.within[0]] == self.within[1])


def parse_within(raw: Any) -> tuple[str, str] | None:
    """``"region=North"`` (CSV column ``within``) or a pair -> ``("region", "North")``; empty -> None."""
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        cat, sep, val = raw.partition("=")
        if not sep or not cat.strip() or not val.strip():
            raise SortitionInputError(f"within '{raw}' must be CATEGORY=VALUE, e.g. region=North")
        return cat.strip(), val.strip()
    if isinstance(raw, (tuple, list)) and len(raw) == 2 and all(isinstance(x, str) and x for x in raw):
        return str(raw[0]).strip(), str(raw[1]).strip()
    raise SortitionInputError(f"within {raw!r} must be CATEGORY=VALUE, e.g. region=North")


@dataclass(frozen=True)
class Person:
    id: str
    features: Mapping[str, str]
    household: str | None = None  # normalised address key; None = no household constraint


@dataclass
class Instance:
    """A validated pool + quotas + panel size, with volunteers collapsed into types."""

    people: list[Person]
    quotas: list[Quota]
    k: int
    categories: list[str]  # category order (first appearance in the quotas)
    values: dict[str, list[str]]  # category -> value order
    # derived
    type_of: np.ndarray = field(default=None)  # person index -> type index
    type_counts: np.ndarray = field(default=None)  # type -> number of people
    type_members: list[list[int]] = field(default=None)  # type -> person indices (input order)
    type_features: list[tuple[str, ...]] = field(default=None)  # type -> value per category
    quota_matrix: np.ndarray = field(default=None)  # (n_quotas, n_types) 0/1
    quota_lo: np.ndarray = field(default=None)
    quota_hi: np.ndarray = field(default=None)
    households: list[list[int]] = field(default=None)  # lists of type indices sharing a household

    @property
    def n(self) -> int:
        return len(self.people)

    @property
    def n_types(self) -> int:
        return len(self.type_counts)

    # ---- hashing for transcripts -------------------------------------------------------------
    def pool_canonical(self) -> list[Any]:
        return [
            [p.id, [p.features[c] for c in self.categories], p.household] for p in self.people
        ]

    def quotas_canonical(self) -> dict[str, Any]:
        return {
            "k": self.k,
            # a per-region quota adds its scope; plain quotas hash as they always did
            "quotas": [[q.category, q.value, q.min, q.max] + ([*q.within] if q.within else [])
                       for q in self.quotas],
        }

    def pool_hash(self) -> str:
        return sha256_json({"categories": self.categories, "people": self.pool_canonical()})

    def quotas_hash(self) -> str:
        return sha256_json(self.quotas_canonical())

    def panel_counts(self, members: Iterable[int]) -> dict[tuple[str, ...], int]:
        """Members per quota, keyed by ``Quota.key``."""
        counts: dict[tuple[str, ...], int] = {q.key: 0 for q in self.quotas}
        scoped = [q for q in self.quotas if q.within is not None]
        for i in members:
            f = self.people[i].features
            for c in self.categories:
                counts[(c, f[c])] += 1
            for q in scoped:
                if q.applies(f):
                    counts[q.key] += 1
        return counts

    def check_panel(self, members: Sequence[int]) -> list[str]:
        """Return the list of violated constraints of a concrete panel (empty = it is valid)."""
        problems: list[str] = []
        if len(members) != self.k:
            problems.append(f"panel has {len(members)} members, not {self.k}")
        if len(set(members)) != len(members):
            problems.append("panel contains a volunteer twice")
        counts = self.panel_counts(members)
        for q in self.quotas:
            c = counts[q.key]
            if c < q.min or c > q.max:
                problems.append(f"{q.label}: {c} members, quota {q.min}..{q.max}")
        seen: dict[str, int] = {}
        for i in members:
            h = self.people[i].household
            if h is not None:
                if h in seen:
                    problems.append(
                        f"volunteers {self.people[seen[h]].id} and {self.people[i].id} share a household"
                    )
                seen[h] = i
        return problems

    def check_type_panel(self, x: np.ndarray) -> bool:
        x = np.asarray(x)
        if x.sum() != self.k or np.any(x < 0) or np.any(x > self.type_counts):
            return False
        s = self.quota_matrix @ x
        if np.any(s < self.quota_lo) or np.any(s > self.quota_hi):
            return False
        return all(x[h].sum() <= 1 for h in self.households)

    def check_sparse_panel(self, types: np.ndarray, counts: np.ndarray) -> bool:
        """``check_type_panel`` of a panel given as (types, counts): O(k) per quota row, not O(T)."""
        t = np.asarray(types, dtype=np.int64)
        c = np.asarray(counts, dtype=np.int64)
        if c.sum() != self.k or np.any(c < 0) or np.any(c > self.type_counts[t]):
            return False
        s = self.quota_matrix[:, t] @ c
        if np.any(s < self.quota_lo) or np.any(s > self.quota_hi):
            return False
        if self.households:
            x = np.zeros(self.n_types, dtype=np.int64)
            x[t] = c
            return all(x[h].sum() <= 1 for h in self.households)
        return True


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_json(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def _norm_household(parts: Sequence[str]) -> str | None:
    cleaned = [" ".join(str(p).strip().lower().split()) for p in parts]
    if not any(cleaned):
        return None
    return "|".join(cleaned)


def build_instance(
    people: Sequence[Mapping[str, Any]] | Sequence[Person],
    quotas: Sequence[Quota] | Sequence[Mapping[str, Any]],
    k: int,
    *,
    id_key: str = "id",
    household_key: str | None = None,
    address_keys: Sequence[str] | None = None,
    source: str = "people",
) -> Instance:
    """Validate in-memory data and build an :class:`Instance`.

    ``people``: dicts with an id (``id_key``; row index when absent) and one value per quota
    category (extra keys are ignored), or :class:`Person` objects.  ``quotas``: :class:`Quota`
    objects or dicts with ``category, value, min, max`` and optionally ``within`` (a per-region
    quota, ``"region=North"``: only members with that value count).  Households: either ``household_key``
    (one key holding a household id) or ``address_keys`` (columns whose joint value is the
    address); volunteers sharing a household can never be on the panel together.
    Raises :class:`SortitionInputError` with a precise message on bad input.
    """
    qs: list[Quota] = []
    for j, q in enumerate(quotas):
        if isinstance(q, Quota):
            qs.append(q)
            continue
        try:
            qs.append(
                Quota(str(q["category"]).strip(), str(q["value"]).strip(), int(q["min"]), int(q["max"]),
                      _opt_int(q.get("min_flex")), _opt_int(q.get("max_flex")), parse_within(q.get("within")))
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise SortitionInputError(f"quota #{j + 1}: needs category, value and integer min/max ({exc})") from None
    if not qs:
        raise SortitionInputError("no quotas given: at least one category with values is needed")
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise SortitionInputError(f"panel size {k!r} is not an integer") from None
    if k <= 0:
        raise SortitionInputError(f"panel size must be positive, got {k}")

    categories: list[str] = []
    values: dict[str, list[str]] = {}
    seen_q: set[tuple[str, ...]] = set()
    for q in qs:
        if q.key in seen_q:
            raise SortitionInputError(f"quota {q.label} is listed twice")
        seen_q.add(q.key)
        if q.min < 0 or q.max < 0:
            raise SortitionInputError(f"quota {q.label}: min and max must be >= 0")
        if q.min > q.max:
            raise SortitionInputError(
                f"quota {q.label}: min {q.min} is larger than max {q.max}"
            )
        if q.within is not None:
            continue  # per-region quotas refer to the plain quotas' categories and values
        if q.category not in values:
            categories.append(q.category)
            values[q.category] = []
        values[q.category].append(q.value)
    for q in qs:
        if q.within is None:
            continue
        for cat, val in ((q.category, q.value), q.within):
            if val not in values.get(cat, []):
                known = f"known values: {', '.join(values[cat])}" if cat in values else (
                    f"categories with quotas: {', '.join(categories)}")
                raise SortitionInputError(
                    f"per-region quota {q.label}: {cat}={val} has no plain quota ({known}); "
                    "add a quota for it first")
        if q.within[0] == q.category:
            raise SortitionInputError(f"per-region quota {q.label}: the region must be another category")

    persons: list[Person] = []
    ids_seen: dict[str, int] = {}
    for r, row in enumerate(people):
        if isinstance(row, Person):
            p = row
        else:
            pid = str(row[id_key]).strip() if id_key in row and row[id_key] not in (None, "") else str(r)
            feats = {}
            for c in categories:
                if c not in row:
                    raise SortitionInputError(
                        f"{source} row {r + 1} (id {pid}): no value for category '{c}'"
                    )
                feats[c] = str(row[c]).strip()
            hh = None
            if household_key and row.get(household_key) not in (None, ""):
                hh = _norm_household([row[household_key]])
            elif address_keys:
                missing = [a for a in address_keys if a not in row]
                if missing:
                    raise SortitionInputError(f"{source}: address column(s) {missing} not found")
                hh = _norm_household([row[a] for a in address_keys])
            p = Person(pid, feats, hh)
        for c in categories:
            v = p.features.get(c)
            if v not in values[c]:
                raise SortitionInputError(
                    f"{source} row {r + 1} (id {p.id}): value '{v}' of category '{c}' is not in the "
                    f"quotas (known values: {', '.join(values[c])})"
                )
        if p.id in ids_seen:
            raise SortitionInputError(
                f"duplicate id '{p.id}' in {source} (rows {ids_seen[p.id] + 1} and {r + 1})"
            )
        ids_seen[p.id] = r
        persons.append(p)
    n = len(persons)
    if n == 0:
        raise SortitionInputError(f"{source}: the pool is empty")

    _check_quota_sums(qs, categories, values, k, n, persons)

    inst = Instance(persons, qs, k, categories, values)
    _collapse_types(inst)
    return inst


def _opt_int(v: Any) -> int | None:
    if v in (None, ""):
        return None
    return int(v)


def _check_quota_sums(qs, categories, values, k, n, persons) -> None:
    if k > n:
        raise SortitionInputError(f"panel size {k} is larger than the pool ({n} volunteers)")
    by_cat: dict[str, list[Quota]] = {c: [] for c in categories}
    for q in qs:
        if q.within is None:
            by_cat[q.category].append(q)
    problems = []
    for c in categories:
        smin = sum(q.min for q in by_cat[c])
        smax = sum(q.max for q in by_cat[c])
        if smin > k:
            problems.append(
                f"category '{c}': the minimums sum to {smin}, more than the panel size {k} (by {smin - k})"
            )
        if smax < k:
            problems.append(
                f"category '{c}': the maximums sum to {smax}, less than the panel size {k} (by {k - smax})"
            )
    if problems:
        lo = max(sum(q.min for q in by_cat[c]) for c in categories)
        hi = min(sum(q.max for q in by_cat[c]) for c in categories)
        rng = f"the quotas allow panel sizes {lo}..{hi}" if lo <= hi else (
            "no panel size is allowed by all categories together")
        raise SortitionInputError(
            f"panel size {k} is outside what the quotas allow ({rng}): " + "; ".join(problems)
        )
    have: dict[tuple[str, ...], int] = {}
    scoped = [q for q in qs if q.within is not None]
    for p in persons:
        for c in categories:
            have[(c, p.features[c])] = have.get((c, p.features[c]), 0) + 1
        for q in scoped:
            if q.applies(p.features):
                have[q.key] = have.get(q.key, 0) + 1
    short = [
        f"{q.label} needs at least {q.min} but only {have.get(q.key, 0)} "
        f"volunteers have it (short by {q.min - have.get(q.key, 0)})"
        for q in qs if have.get(q.key, 0) < q.min
    ]
    # per-region quotas of one category within one region: their minimums must fit the region
    plain = {q.key: q for q in qs if q.within is None}
    groups: dict[tuple[str, str, str], int] = {}
    for q in scoped:
        g = (q.category, *q.within)
        groups[g] = groups.get(g, 0) + q.min
    for (cat, rc, rv), smin in groups.items():
        region_max = plain[(rc, rv)].max
        if smin > region_max:
            short.append(f"the per-region minimums of {cat} within {rc}={rv} sum to {smin}, more than "
                         f"{rc}={rv}'s max {region_max} (by {smin - region_max})")
    if short:
        raise SortitionInputError("quotas cannot be met by this pool: " + "; ".join(short))


def _collapse_types(inst: Instance) -> None:
    hh_count: dict[str, int] = {}
    for p in inst.people:
        if p.household is not None:
            hh_count[p.household] = hh_count.get(p.household, 0) + 1
    key_to_type: dict[tuple, int] = {}
    type_of = np.empty(inst.n, dtype=np.int64)
    members: list[list[int]] = []
    feats: list[tuple[str, ...]] = []
    hh_types: dict[str, list[int]] = {}
    for i, p in enumerate(inst.people):
        fv = tuple(p.features[c] for c in inst.categories)
        shared = p.household is not None and hh_count[p.household] > 1
        key = ("person", i) if shared else ("type", fv)
        t = key_to_type.get(key)
        if t is None:
            t = len(members)
            key_to_type[key] = t
            members.append([])
            feats.append(fv)
        members[t].append(i)
        type_of[i] = t
        if shared:
            hh_types.setdefault(p.household, []).append(t)
    inst.type_of = type_of
    inst.type_members = members
    inst.type_features = feats
    inst.type_counts = np.array([len(m) for m in members], dtype=np.int64)
    nq = len(inst.quotas)
    qidx = {q.key: j for j, q in enumerate(inst.quotas)}
    A = np.zeros((nq, len(members)), dtype=np.float64)
    for t, fv in enumerate(feats):
        for c, v in zip(inst.categories, fv):
            A[qidx[(c, v)], t] = 1.0
        f = dict(zip(inst.categories, fv))
        for j, q in enumerate(inst.quotas):
            if q.within is not None and q.applies(f):
                A[j, t] = 1.0
    inst.quota_matrix = A
    inst.quota_lo = np.array([q.min for q in inst.quotas], dtype=np.float64)
    inst.quota_hi = np.array([q.max for q in inst.quotas], dtype=np.float64)
    inst.households = [ts for ts in hh_types.values()]
