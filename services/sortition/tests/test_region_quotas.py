"""Per-region quotas (issue 3, item 2): quotas that count only the members of one region."""

from __future__ import annotations

import numpy as np
import pytest

from services.sortition.domain import (Quota, SortitionInputError, build_instance, make_lottery, replace_members,
                                      select)
from services.sortition.domain.io_formats import parse_peer_format
from services.sortition.domain.leximin import leximin_types


def pool(seed: int = 5, n: int = 120):
    """Women are rare in the north: without a per-region quota most panels have few of them."""
    rng = np.random.default_rng(seed)
    people = []
    for i in range(n):
        north = rng.random() < 0.5
        people.append({
            "id": f"p{i}",
            "region": "north" if north else "south",
            "gender": "f" if rng.random() < (0.15 if north else 0.6) else "m",
            "age": ["young", "old"][int(rng.random() < 0.5)],
        })
    plain = [Quota("region", "north", 5, 5), Quota("region", "south", 5, 5),
             Quota("gender", "f", 4, 6), Quota("gender", "m", 4, 6),
             Quota("age", "young", 4, 6), Quota("age", "old", 4, 6)]
    return people, plain, 10


def women_in_north(inst, x) -> int:
    cats = inst.categories
    return int(sum(x[t] for t, fv in enumerate(inst.type_features)
                   if fv[cats.index("gender")] == "f" and fv[cats.index("region")] == "north"))


def test_per_region_quota_holds_in_every_panel_and_stays_exact():
    people, plain, k = pool()
    free = leximin_types(build_instance(people, plain, k))
    free_inst = build_instance(people, plain, k)
    # the quota below binds: without it some panels in use have fewer than 2 women from the north
    assert min(women_in_north(free_inst, x) for x in free.panels) < 2

    inst = build_instance(people, plain + [Quota("gender", "f", 2, 3, within=("region", "north"))], k)
    res = leximin_types(inst)
    assert res.stats["method"] == "relaxation + face walk"
    assert all(inst.check_type_panel(x) for x in res.panels)
    assert all(2 <= women_in_north(inst, x) <= 3 for x in res.panels)
    # exact: the stage-wise column generation over real panels gives the same leximin vector
    cg = leximin_types(inst, method="cg")
    assert np.abs(res.type_probabilities(inst) - cg.type_probabilities(inst)).max() < 1e-6

    out = select(inst, "leximin")
    assert sum(out.probabilities) == pytest.approx(k)
    lottery = make_lottery(inst, out.distribution, 100)
    assert all(inst.check_panel(list(panel)) == [] for panel in lottery.panels)


def test_quota_hash_of_plain_quotas_is_unchanged_and_scope_is_hashed():
    people, plain, k = pool()
    a = build_instance(people, plain, k)
    assert a.quotas_canonical()["quotas"][0] == ["region", "north", 5, 5]
    b = build_instance(people, plain + [Quota("gender", "f", 2, 3, within=("region", "north"))], k)
    c = build_instance(people, plain + [Quota("gender", "f", 2, 3, within=("region", "south"))], k)
    assert len({a.quotas_hash(), b.quotas_hash(), c.quotas_hash()}) == 3


def test_csv_within_column_and_precise_errors():
    features = ("feature,value,min,max,within\n"
                "region,north,5,5,\nregion,south,5,5,\n"
                "gender,f,4,6,\ngender,m,4,6,\ngender,f,2,3,region=north\n")
    people = "id,region,gender\n" + "".join(
        f"p{i},{'north' if i % 2 else 'south'},{'f' if i % 3 == 0 else 'm'}\n" for i in range(60))
    inst = parse_peer_format(features, people, 10)
    assert [q.label for q in inst.quotas][-1] == "gender=f within region=north"

    with pytest.raises(SortitionInputError, match="row 6: within 'regionnorth' must be CATEGORY=VALUE"):
        parse_peer_format(features.replace("region=north", "regionnorth"), people, 10)
    with pytest.raises(SortitionInputError, match="region=west has no plain quota"):
        parse_peer_format(features.replace("region=north", "region=west"), people, 10)
    with pytest.raises(SortitionInputError, match="the region must be another category"):
        parse_peer_format(features.replace("region=north", "gender=m"), people, 10)
    with pytest.raises(SortitionInputError, match="listed twice"):
        parse_peer_format(features + "gender,f,1,3,region=north\n", people, 10)
    with pytest.raises(SortitionInputError,
                       match=r"per-region minimums of gender within region=north sum to 6, more than "
                             r"region=north's max 5 \(by 1\)"):
        parse_peer_format(features + "gender,m,4,5,region=north\n", people, 10)
    with pytest.raises(SortitionInputError, match=r"gender=f within region=north needs at least 11 but only 10"):
        parse_peer_format(features.replace("2,3,region=north", "11,12,region=north"), people, 10)


def test_infeasible_per_region_quota_is_named():
    people, plain, k = pool()
    # 4..6 women overall but at least 5 in the north and at least 2 in the south: impossible
    qs = plain + [Quota("gender", "f", 5, 5, within=("region", "north")),
                  Quota("gender", "f", 2, 5, within=("region", "south"))]
    with pytest.raises(SortitionInputError, match="within region=(north|south)"):
        select(build_instance(people, qs, k), "leximin")


def test_replacement_keeps_per_region_quotas():
    people, plain, k = pool()
    inst = build_instance(people, plain + [Quota("gender", "f", 2, 2, within=("region", "north"))], k)
    out = select(inst, "leximin")
    panel = make_lottery(inst, out.distribution, 50).panels[0]
    ids = [inst.people[i].id for i in panel]
    north_women = [inst.people[i].id for i in panel
                   if (inst.people[i].features["region"], inst.people[i].features["gender"]) == ("north", "f")]
    assert len(north_women) == 2
    rep = replace_members(inst, ids, north_women[:1], seed_hex="00" * 32, m=50)
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    assert inst.check_panel([index_of[i] for i in rep.panel]) == []
    added = inst.people[index_of[rep.added[0]]].features
    assert (added["region"], added["gender"]) == ("north", "f")
