"""Recording the authority's response to an adopted recommendation (the follow-up; its pages are
in pages/followup.py)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.reporting.handlers import followup as h
from shared.auth import ORGANISER, Principal, allow
from shared.runtime import RuntimeDep

router = APIRouter(tags=["reporting"])


class ResponseIn(BaseModel):
    ballot_id: uuid.UUID = Field(description="The ballot the recommendation was adopted on")
    question_id: str = Field(max_length=100, description="The recommendation's question on that ballot, e.g. q3")
    response: Literal["accepted", "partly", "rejected", "under_consideration"]
    implementation: Literal["not_started", "in_progress", "implemented", "abandoned"] | None = None
    reasoning: str = Field(max_length=5000)
    responsible_body: str = Field(max_length=200, description="An office, not a person")
    answered_on: date
    deadline: date | None = None
    links: list[str] = Field([], max_length=10)


@router.post("/assemblies/{assembly_id}/responses", status_code=201,
             summary="Record the authority's response to an adopted recommendation (or an update on it)")
async def record_response(assembly_id: uuid.UUID, body: ResponseIn, rt: RuntimeDep,
                          who: Principal = Depends(allow(ORGANISER))) -> dict:
    """Kept beside the earlier entries of the recommendation (its history), shown on the public
    follow-up page, announced (recommendation-response-recorded) and audited."""
    async with rt.transaction() as tx:
        return await h.record_response(tx, assembly_id, **body.model_dump())
