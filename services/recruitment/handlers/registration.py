"""Writes of registration: a citizen registers (answers checked against the strata, consent
recorded) or withdraws with the code of the letter."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment import views as v
from services.recruitment.domain.codes import UnknownCode, UsedCode, code_hash, household_key, normalise
from services.recruitment.domain.consent import consent_record
from services.recruitment.domain.contact import clean, contact_details, contact_problems
from services.recruitment.domain.questionnaire import answer_details, answer_problems
from services.recruitment.views import questionnaire as qv
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.problems import conflict, invalid

async def register(tx: Tx, *, code: str, consent: bool, answers: dict[str, str], secret: str,
                   email: str | None = None, phone: str | None = None, consent_version: str | None = None,
                   lang: str | None = None, attitudes: dict[str, str] | None = None,
                   needs: dict[str, str] | None = None) -> dict:
    """Register with a letter's code, answering the assembly's questionnaire in its current
    version (domain/questionnaire.py): the strata `answers` go into the pool, the `attitudes`
    stay here, the contact details (`email`, `phone`: domain/contact.py) and `needs` are sealed in
    the vault. The consent's version, language and
    words' hash are kept with the registration. Returns the receipt (respondent id, when, the
    consent's and the questionnaire's versions)."""
    if not consent:
        raise invalid("consent is required to register: tick the consent box")
    email, phone = clean(email), clean(phone)
    wrong = contact_problems(email, phone)
    if wrong:
        raise invalid("the contact details are not well-formed: " + " and ".join(f for f, _k in wrong),
                      contact_details(wrong))
    agreed = consent_record(consent_version, lang)
    norm = normalise(code)
    if norm is None:
        raise UnknownCode("this is not a valid invitation code: it has 20 letters and digits, as printed in your letter")
    inv = (
        await tx.session.execute(
            sa.select(m.invitations).where(v.code_matches(code_hash(norm))).with_for_update()
        )
    ).first()
    if inv is None:
        raise UnknownCode("this invitation code is not recognised: check it against your letter")
    if inv.used_at is not None:
        raise UsedCode("this invitation code has already been used to register")
    assembly = await v.load_assembly(tx, inv.assembly_id)
    version, questions = await qv.current(tx, inv.assembly_id, assembly.strata)
    attitudes = {k: x for k, x in (attitudes or {}).items() if x}
    needs = {k: x.strip() for k, x in (needs or {}).items() if x and x.strip()}
    problems = answer_problems(assembly.strata, questions, answers, attitudes, needs)
    if problems:
        raise invalid("please answer every question with one of the offered options",
                      answer_details(assembly.strata, questions, {**attitudes, **answers}, problems))
    features = dict(answers)
    features["region"] = inv.region
    respondent_id = uuid.uuid4()
    now = datetime.now(timezone.utc)
    await tx.session.execute(sa.update(m.invitations).where(m.invitations.c.id == inv.id).values(used_at=now))
    await tx.session.execute(
        sa.insert(m.respondents).values(id=respondent_id, assembly_id=inv.assembly_id, invitation_id=inv.id,
                                        region=inv.region, features=features, consented_at=now,
                                        questionnaire_version=version, attitudes=attitudes, **agreed)
    )
    if email or phone or needs:
        await vault.set_contact(tx, inv.register_entry_id, email=email, phone=phone, needs=needs)
    person = (await vault.read(tx, [inv.register_entry_id]))[inv.register_entry_id]
    # an erased person has no address: their own household, so the draw cannot pair them
    household = household_key(secret, inv.assembly_id, person.address if person else f"erased:{inv.id}")
    await tx.emit(
        ev.RespondentRegisteredV1(assembly_id=inv.assembly_id, respondent_id=respondent_id, region=inv.region,
                                  features=features, household=household),
        subject=inv.assembly_id,
        region=inv.region,
    )
    await tx.audit("respondent.registered", inv.assembly_id, object_id=respondent_id, actor="public",
                   details={"consent_version": agreed["consent_version"]})
    return {"respondent_id": respondent_id, "registered_at": now, "consent_version": agreed["consent_version"],
            "assembly_id": inv.assembly_id, "questionnaire_version": version}


async def withdraw(tx: Tx, *, code: str) -> dict:
    """A registered citizen leaves the pool (before or after the draw); their answers go with them.
    Returns the receipt (respondent id, when)."""
    norm = normalise(code)
    inv = None if norm is None else (
        await tx.session.execute(sa.select(m.invitations).where(v.code_matches(code_hash(norm))))
    ).first()
    if inv is None:
        raise UnknownCode("this invitation code is not recognised: check it against your letter")
    resp = (
        await tx.session.execute(sa.select(m.respondents).where(m.respondents.c.invitation_id == inv.id).with_for_update())
    ).first()
    if resp is None:
        raise conflict("nobody has registered with this code, so there is nothing to withdraw", code="not_registered")
    if resp.withdrawn_at is not None:
        raise conflict("this registration has already been withdrawn", code="already_withdrawn")
    now = datetime.now(timezone.utc)
    await tx.session.execute(
        sa.update(m.respondents).where(m.respondents.c.id == resp.id).values(withdrawn_at=now, features={}, attitudes={})
    )
    await vault.set_contact(tx, inv.register_entry_id)
    await tx.emit(ev.RespondentWithdrewV1(assembly_id=resp.assembly_id, respondent_id=resp.id),
                  subject=resp.assembly_id, region=resp.region)
    await tx.audit("respondent.withdrew", resp.assembly_id, object_id=resp.id, actor="public")
    return {"respondent_id": resp.id, "withdrawn_at": now}
