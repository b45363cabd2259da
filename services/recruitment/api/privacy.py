"""Recruitment's API for a person's right of access: everything held about one person, found by
the code of their letter or their register id (in the request's body, never in a URL), as JSON."""

from __future__ import annotations

import json
import uuid
from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from services.recruitment.handlers import privacy as h
from services.recruitment.printing.access import access_pdf
from shared.auth import REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter(tags=["privacy"])


class AccessRequestIn(BaseModel):
    """Exactly one of the two."""

    code: str | None = Field(None, min_length=1, max_length=64, description="A code from the person's letter")
    person_id: str | None = Field(None, min_length=1, max_length=64, description="The person's register id")
    format: Literal["json", "pdf"] = Field("json", description="pdf: the same content to read on paper (the register "
                                                                "id is not printed)")
    language: Literal["da", "en"] = Field("da", description="The PDF's language")

    @model_validator(mode="after")
    def _one(self) -> "AccessRequestIn":
        if (self.code is None) == (self.person_id is None):
            raise ValueError("give either code (from the person's letter) or person_id (their register id), not both")
        return self


ACCESS_RESPONSE = {200: {"content": {"application/json": {}, "application/pdf": {}},
                         "description": "access-<id>.json: identity (or when it was erased), register, letters, "
                                        "registration, panel seat, audit entries (docs/privacy.md)"}}


async def export_response(export: dict, fmt: str = "json", lang: str = "da") -> Response:
    """The export as a file to hand over (JSON, or the PDF printed from it), named by nothing about
    the person, never cached."""
    if fmt == "pdf":
        body, media = await run_in_threadpool(access_pdf, export, lang), "application/pdf"
    else:
        body, media = json.dumps(export, ensure_ascii=False, indent=2).encode(), "application/json"
    return Response(body, media_type=media,
                    headers={"content-disposition": f'attachment; filename="access-{uuid.uuid4()}.{fmt}"',
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
    return await export_response(export, body.format, body.language)
