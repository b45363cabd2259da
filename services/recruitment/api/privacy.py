"""Recruitment's API for a person's right of access: everything held about one person, found by
the code of their letter or their register id (in the request's body, never in a URL), as JSON."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from services.recruitment.handlers import privacy as h
from shared.auth import REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter(tags=["privacy"])


class AccessRequestIn(BaseModel):
    """Exactly one of the two."""

    code: str | None = Field(None, min_length=1, max_length=64, description="A code from the person's letter")
    person_id: str | None = Field(None, min_length=1, max_length=64, description="The person's register id")

    @model_validator(mode="after")
    def _one(self) -> "AccessRequestIn":
        if (self.code is None) == (self.person_id is None):
            raise ValueError("give either code (from the person's letter) or person_id (their register id), not both")
        return self


ACCESS_RESPONSE = {200: {"content": {"application/json": {}},
                         "description": "access-<id>.json: identity (or when it was erased), register, letters, "
                                        "registration, panel seat, audit entries (docs/privacy.md)"}}


def export_response(export: dict) -> Response:
    """The export as a file to hand over, named by nothing about the person, never cached."""
    return Response(json.dumps(export, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"content-disposition": f'attachment; filename="access-{uuid.uuid4()}.json"',
                             "cache-control": "no-store"})


@router.post("/assemblies/{assembly_id}/access-requests", response_class=Response,
             responses={**ACCESS_RESPONSE, **errors(404)},
             summary="Right of access: everything held about one person, found by letter code or register id (JSON)")
async def access_request(assembly_id: uuid.UUID, body: AccessRequestIn, rt: RuntimeDep,
                         who: Principal = Depends(allow(REGISTRAR))) -> Response:
    async with rt.transaction() as tx:
        entry = await h.find_person(tx, assembly_id, code=body.code, person_id=body.person_id)
        export = await h.access_export(tx, assembly_id, entry,
                                             found_by="code" if body.code is not None else "register_id")
    return export_response(export)
