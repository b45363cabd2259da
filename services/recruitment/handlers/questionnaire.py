"""Writes of the registration questionnaire: the secretariat saves a new version while no letter
has gone out; from the first invitation it is fixed, so that everyone answers the same questions
(and the draw stratifies on the same answers)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment.domain.questionnaire import english, read_config
from services.recruitment.views import questionnaire as qv
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import conflict, invalid


async def save(tx: Tx, assembly_id: uuid.UUID, body: dict) -> tuple[int, dict]:
    """Save the questionnaire as its next version; (version, config). 409 once letters are out
    (code questionnaire_fixed), 422 with every problem."""
    assembly = await load_or_404(tx, m.assemblies, "assembly", lock=True, id=assembly_id)
    sent = await qv.letters_out(tx, assembly_id)
    if sent:
        version, _config = await qv.current(tx, assembly_id, assembly.strata)
        raise conflict(f"{sent} invitation letters have gone out, so the questionnaire can no longer change: everyone "
                       f"must answer the same questions (version {version} stays in use)", code="questionnaire_fixed")
    config, problems = read_config(assembly.strata, body)
    if problems:
        raise invalid("the questionnaire has problems: " + "; ".join(p["problem"] for p in english(problems)[:5]),
                      english(problems))
    version = (await qv.current(tx, assembly_id, assembly.strata))[0] + 1
    await tx.session.execute(sa.insert(m.questionnaires).values(assembly_id=assembly_id, version=version, config=config))
    await tx.audit("questionnaire.saved", assembly_id, object_id=assembly_id,
                   details={"version": version, "attitudes": len(config["attitudes"]), "needs": config["needs"],
                            "prefer_not_to_say": [q["category"] for q in config["strata"] if q["prefer_not_to_say"]]})
    return version, config
