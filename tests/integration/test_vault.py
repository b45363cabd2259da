"""The identity vault on the real database: recruitment's tables hold no name, address, register
id or contact in clear (only the registrar's reads and the letters open them), the migration seals
the rows that were in clear before, and erasing a person's data key (crypto-shredding) leaves a
ciphertext that nothing opens, shown as erased on the registrar's screens."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic import command
import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment.app import SPEC
from shared.migrations import alembic_config, upgrade
from tests.integration.test_apis import REGIONS, STRATA, client

pytestmark = pytest.mark.integration

NAME, ADDRESS, CPR, MAIL = "Vaultina Krypteringsen", "Nøglevej 13, 6666 Lås", "1312129999", "vaultina@example.org"


async def schema_text(engine) -> str:
    """Every row of every recruitment table as text: what a dump or a backup of the schema holds."""
    out = []
    async with engine.connect() as conn:
        for table in m.metadata.sorted_tables:
            rows = (await conn.execute(sa.text(f"SELECT t::text FROM recruitment.{table.name} t"))).scalars().all()
            out.extend(rows)
    return "\n".join(out)


async def vault_assembly(rec) -> tuple[str, str]:
    """An assembly whose extract holds the test's person among 11; returns (assembly id, their code)."""
    r = await rec.post("/assemblies", json={"name": "Vault", "panel_size": 4, "regions": REGIONS, "strata": STRATA})
    aid = r.json()["id"]
    extract = "person_id,name,address,region\n" + f'{CPR},{NAME},"{ADDRESS}",N\n' + "".join(
        f"v{i},Other {i},Road {i},{'N' if i % 2 else 'S'}\n" for i in range(10))
    r = await rec.post(f"/assemblies/{aid}/register-extract", content=extract, headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    letters = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 11, "seed": 5})).json()["letters"]
    mine = [x for x in letters if x["name"] == NAME]
    assert mine and mine[0]["address"] == ADDRESS  # the letter is printed from the vault
    return aid, mine[0]["code"]


async def test_the_database_holds_no_personal_data_in_clear_and_registrars_alone_read_it(rec, settings, engine):
    aid, code = await vault_assembly(rec)
    async with client("recruitment", settings) as citizen:
        r = await citizen.post("/registrations", json={"code": code, "consent": True, "answers": {"gender": "female"},
                                                       "contact": MAIL})
        assert r.status_code == 201, r.text
    dump = await schema_text(engine)
    for secret in (NAME, "Nøglevej", CPR, MAIL, "Vaultina"):
        assert secret not in dump
    regs = (await rec.get(f"/assemblies/{aid}/registrations")).json()
    assert [(x["name"], x["address"], x["contact"], x["erased"]) for x in regs] == [(NAME, ADDRESS, MAIL, False)]
    from tests.conftest import _RUN, Staff

    async with client("recruitment", settings, auth=Staff(_RUN["issuer"], "organiser")) as organiser:
        seen = (await organiser.get(f"/assemblies/{aid}/registrations")).json()
    assert seen and "name" not in seen[0] and "contact" not in seen[0]
    # a second import of the same people is refused by the keyed hash's unique constraint
    r = await rec.post(f"/assemblies/{aid}/register-extract", content=f"person_id,name,address,region\n{CPR},X,Y,N\n",
                       headers={"content-type": "text/csv"})
    assert r.status_code == 409 and "already imported" in r.json()["error"]["message"]


async def test_the_migration_seals_the_rows_that_were_in_clear(settings, engine):
    url = settings.database_url
    await asyncio.to_thread(command.downgrade, alembic_config(SPEC.migrations_dir, url), "0004_letters")
    aid, inv, resp = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO recruitment.assemblies (id, name, panel_size, regions, strata) VALUES"
                " (:a, 'Old', 1, '[]', '[]')"), {"a": aid})
            entry = (await conn.execute(sa.text(
                "INSERT INTO recruitment.register_entries (assembly_id, person_ref, name, address, region)"
                " VALUES (:a, :p, :n, :d, 'N') RETURNING id"), {"a": aid, "p": CPR, "n": NAME, "d": ADDRESS})).scalar_one()
            batch = uuid.uuid4()
            await conn.execute(sa.text(
                "INSERT INTO recruitment.invitation_batches (id, assembly_id, count, per_region, seed)"
                " VALUES (:b, :a, 1, '{}', 1)"), {"b": batch, "a": aid})
            await conn.execute(sa.text(
                "INSERT INTO recruitment.invitations (id, assembly_id, batch_id, register_entry_id, region, code_hash)"
                " VALUES (:i, :a, :b, :e, 'N', :h)"), {"i": inv, "a": aid, "b": batch, "e": entry, "h": uuid.uuid4().hex})
            await conn.execute(sa.text(
                "INSERT INTO recruitment.respondents (id, assembly_id, invitation_id, region, features, contact,"
                " consented_at) VALUES (:r, :a, :i, 'N', '{}', :c, now())"), {"r": resp, "a": aid, "i": inv, "c": MAIL})
    finally:
        await asyncio.to_thread(upgrade, SPEC.migrations_dir, url)
    async with engine.connect() as conn:
        columns = set((await conn.execute(sa.text(
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'recruitment'"
        ))).scalars().all())
    assert not {"register_entries.name", "register_entries.address", "register_entries.person_ref",
                "respondents.contact"} & columns
    assert NAME not in await schema_text(engine) and CPR not in await schema_text(engine)
    from services.recruitment import vault
    from shared.bus.outbox import transaction
    from shared.db import make_sessionmaker

    async with transaction(make_sessionmaker(engine), m.outbox, m.audit) as tx:
        people = await vault.read(tx, [entry])
    assert people[entry].name == NAME and people[entry].person_ref == CPR and people[entry].contact == MAIL
