"""The invitation sample by stratum on the real stack: a register extract with age bands and
genders streams in (problems found across the whole file, duplicates in the database), expected
reply rates per stratum set by API and page, the plan shown on the invitations page with the
expected pool, and the batch drawn as planned."""

from __future__ import annotations

import sqlalchemy as sa

from services.recruitment import models as m
from tests.integration.test_apis import assert_error, client
from tests.integration.test_pages import csrf
from tests.integration.test_recruitment_pages import browser

REGIONS = [{"code": "N", "name": "North", "population": 300}, {"code": "S", "name": "South", "population": 100}]
STRATA = [{"category": "gender", "quotas": [{"value": "female", "min": 1, "max": 3}, {"value": "male", "min": 1, "max": 3}]},
          {"category": "age", "quotas": [{"value": "18-29", "min": 0, "max": 4}, {"value": "30+", "min": 0, "max": 4}]},
          {"category": "region", "quotas": [{"value": "N", "min": 1, "max": 3}, {"value": "S", "min": 1, "max": 3}]}]
HEADER = "person_id,name,address,region,age_band,gender\n"


def extract(n: int, start: int = 0) -> str:
    return HEADER + "".join(f"{i},P{i},Road {i},{'N' if i % 4 else 'S'},{'18-29' if i % 3 == 0 else '30+'},"
                            f"{'female' if (i // 4) % 2 else 'male'}\n" for i in range(start, start + n))


async def test_a_stratified_sample_with_oversampling(settings, auth, sessionmaker):
    async with client("recruitment", settings) as rec:
        aid = (await rec.post("/assemblies", json={"name": "Sample", "panel_size": 4, "regions": REGIONS,
                                                   "strata": STRATA})).json()["id"]
        url = f"/assemblies/{aid}/register-extract"
        csv_ = {"content-type": "text/csv"}
        # problems across a file larger than one batch: a bad code, a duplicate far apart
        lines = extract(12_000).splitlines(keepends=True)
        lines[7001] = lines[7001].replace("30+", "30 +")  # person 7000, on the file's line 7002
        bad = "".join(lines)
        body = assert_error(await rec.post(url, content=bad + "5,Again,Road,N,30+,female\n", headers=csv_), 422,
                            "line 7002: age_band must be a code")
        assert [(d["kind"], d["line"]) for d in body["details"]] == [("bad_value", 7002), ("duplicate_person", 12002)]
        assert_error(await rec.post(url, content=b"person_id,name,address,region\n1,\xff,x,N\n", headers=csv_), 422,
                     "UTF-8")
        r = await rec.post(url, content=extract(12_000), headers=csv_)
        assert r.status_code == 201 and r.json() == {"imported": 12_000}
        assert_error(await rec.post(url, content=extract(3, start=11_999), headers=csv_), 409, "1 people")
        async with sessionmaker() as s:
            assert (await s.execute(sa.select(sa.func.count()).where(
                m.register_entries.c.assembly_id == aid, m.register_entries.c.age_band == "18-29",
                m.register_entries.c.gender == "female"))).scalar() == sum(
                    1 for i in range(12_000) if i % 3 == 0 and (i // 4) % 2)

        # the young reply half as often: twice the letters per head
        assert_error(await rec.put(f"/assemblies/{aid}/reply-rates", json={"expected": 0}), 422, "expected")
        r = await rec.put(f"/assemblies/{aid}/reply-rates", json={"expected": 0.04, "age_band": {"18-29": 0.02}})
        assert r.status_code == 200 and r.json()["age_band"] == {"18-29": 0.02}
        plan = (await rec.get(f"/assemblies/{aid}/invitation-plan", params={"count": 1000})).json()
        by = {(x["region"], x["age_band"], x["gender"]): x for x in plan["strata"]}
        assert plan["count"] == 1000 and len(by) == 8
        young, old = by[("N", "18-29", "female")], by[("N", "30+", "female")]
        assert young["factor"] == 2 and old["factor"] == 1
        assert abs(young["letters"] / young["population"] - 2 * old["letters"] / old["population"]) < 0.01
        assert abs(young["expected"] / young["population"] - old["expected"] / old["population"]) < 0.001
        r = await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 1000, "seed": 4})
        assert r.status_code == 201 and r.json()["per_region"] == {
            "N": sum(x["letters"] for x in plan["strata"] if x["region"] == "N"),
            "S": sum(x["letters"] for x in plan["strata"] if x["region"] == "S")}
        async with sessionmaker() as s:
            reg, inv = m.register_entries.c, m.invitations.c
            drawn = dict((await s.execute(
                sa.select(reg.age_band + "/" + reg.gender + "/" + reg.region, sa.func.count())
                .join(m.invitations, inv.register_entry_id == reg.id)
                .where(inv.assembly_id == aid).group_by(reg.age_band, reg.gender, reg.region))).all())
        assert drawn == {f"{a}/{g}/{r_}": x["letters"] for (r_, a, g), x in by.items()}

    web = await browser("recruitment", settings, auth, "registrar", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/invitations?plan=2000")
        assert page.status_code == 200
        for words in ("Hvem får brevene", "2.000 breve ventes at give", "Breve og forventet pulje efter alder",
                      "18-29 år", "Kvinde"):
            assert words in page.text, words
        page = await web.get(f"/assemblies/{aid}/reply-rates?lang=en")
        assert page.status_code == 200 and "Oversampling factor 2" in page.text
        rows = page.text.count('name="dim_')
        form = {"csrf_token": csrf(page), "rows": str(rows), "expected": "3"}
        for i in range(rows):
            form[f"dim_{i}"] = page.text.split(f'name="dim_{i}" value="')[1].split('"')[0]
            form[f"value_{i}"] = page.text.split(f'name="value_{i}" value="')[1].split('"')[0]
        young = next(i for i in range(rows) if form[f"value_{i}"] == "18-29")
        r = await web.post(f"/assemblies/{aid}/reply-rates?lang=en", data={**form, f"rate_{young}": "0"})
        assert r.status_code == 422 and "Enter the reply rate as a percentage" in r.text
        r = await web.post(f"/assemblies/{aid}/reply-rates", data={**form, f"rate_{young}": "1,5"})
        assert r.status_code == 303
    async with client("recruitment", settings) as rec:
        assert (await rec.get(f"/assemblies/{aid}")).status_code == 200
        plan = (await rec.get(f"/assemblies/{aid}/invitation-plan", params={"count": 100})).json()
        assert plan["rates"] == {"expected": 0.03, "age_band": {"18-29": 0.015}}
