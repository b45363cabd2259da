"""Follow-up: the authority's responses to the recommendations, as the secretariat enters them."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from services.reporting import models as m
from services.reporting.domain.followup import require_valid
from services.reporting.handlers import response_row
from services.reporting.views import followup as views
from shared.bus.outbox import Tx
from shared.events import contracts as ev


async def record_response(tx: Tx, assembly_id: uuid.UUID, *, ballot_id: uuid.UUID, question_id: str, response: str,
                          implementation: str | None, reasoning: str, responsible_body: str, answered_on: date,
                          deadline: date | None, links: list[str]) -> dict:
    """The authority's response to one recommendation (or an update on carrying it out), as the
    secretariat enters it: kept beside the earlier entries, announced and audited."""
    await views.recommendation(tx, assembly_id, ballot_id, question_id)  # a tallied recommendation, or 404
    require_valid(response=response, implementation=implementation, reasoning=reasoning,
                  responsible_body=responsible_body, answered_on=answered_on, deadline=deadline, links=links)
    payload = ev.RecommendationResponseRecordedV1(
        assembly_id=assembly_id, response_id=uuid.uuid4(), ballot_id=ballot_id, question_id=question_id,
        response=response, implementation=implementation, reasoning=reasoning.strip(),
        responsible_body=responsible_body.strip(), answered_on=answered_on, deadline=deadline, links=links)
    await tx.session.execute(sa.insert(m.responses).values(**response_row(payload, sa.func.now())))
    await tx.emit(payload, subject=assembly_id)
    await tx.audit("recommendation.response_recorded", assembly_id, object_id=payload.response_id,
                   details={"ballot_id": str(ballot_id), "question_id": question_id, "response": response,
                            "implementation": implementation, "answered_on": answered_on.isoformat()})
    return {"response_id": payload.response_id}
