"""Recruitment's API for assemblies: create one (operator), read it, what its letters say, the
quota values' names in Danish and English, and its counts."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.recruitment import views as v
from services.recruitment.handlers import assemblies as h
from shared.auth import AUDITOR, FACILITATOR, OPERATOR, ORGANISER, REGISTRAR, Principal, allow
from shared.runtime import RuntimeDep

router = APIRouter()


class Region(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    population: int = Field(gt=0, le=10**10)


class Labels(BaseModel):
    """A value's name as people read it, per language (shown instead of the code)."""

    da: str | None = Field(None, min_length=1, max_length=100)
    en: str | None = Field(None, min_length=1, max_length=100)


class Quota(BaseModel):
    value: str = Field(min_length=1, max_length=100)
    min: int = Field(ge=0, le=1_000_000)
    max: int = Field(ge=0, le=1_000_000)
    labels: Labels | None = Field(None, description="Names in Danish and English, for values the catalogue does not know")


class Stratum(BaseModel):
    category: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    quotas: list[Quota] = Field(min_length=1)


class LetterDetails(BaseModel):
    """What the invitation letters say about the assembly (all optional; the invitations page warns
    about what is missing before letters go to print)."""

    commissioner: str | None = Field(None, min_length=1, max_length=200, description="Who asked for the assembly")
    remit: str | None = Field(None, min_length=1, max_length=2000, description="The assembly's task, in Danish")
    remit_en: str | None = Field(None, min_length=1, max_length=2000, description="The task in English")
    session_dates: list[date] = Field(default_factory=list, max_length=40)
    stipend_ore: int | None = Field(None, ge=0, le=10_000_000, description="Stipend per session day, in øre")
    reply_by: date | None = Field(None, description="The date to register by, as printed in the letters")


class AssemblyIn(LetterDetails):
    name: str = Field(min_length=1, max_length=200)
    panel_size: int = Field(ge=1, le=5000)
    regions: list[Region] = Field(min_length=1)
    strata: list[Stratum] = Field(min_length=1)


class AssemblyOut(AssemblyIn):
    id: uuid.UUID


@router.post("/assemblies", status_code=201, response_model=AssemblyOut, response_model_exclude_none=True,
             tags=["assemblies"])
async def create_assembly(body: AssemblyIn, rt: RuntimeDep,
        who: Principal = Depends(allow(OPERATOR))) -> AssemblyOut:
    data = body.model_dump(exclude_none=True)
    async with rt.transaction() as tx:
        assembly_id = await h.create_assembly(tx, **body.model_dump(exclude_none=True, mode="json"))
    return AssemblyOut(id=assembly_id, **data)


def assembly_out(a) -> AssemblyOut:
    return AssemblyOut(id=a.id, name=a.name, panel_size=a.panel_size, regions=a.regions, strata=a.strata,
                       **{k: getattr(a, k) for k in LetterDetails.model_fields})


@router.get("/assemblies/{assembly_id}", response_model=AssemblyOut, response_model_exclude_none=True, tags=["assemblies"])
async def get_assembly(assembly_id: uuid.UUID, rt: RuntimeDep,
        who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR))) -> AssemblyOut:
    async with rt.transaction() as tx:
        a = await v.load_assembly(tx, assembly_id)
    return assembly_out(a)


@router.put("/assemblies/{assembly_id}/letter-details", response_model=AssemblyOut, response_model_exclude_none=True,
            tags=["assemblies"], summary="What the invitation letters say: commissioner, remit, dates, stipend, reply-by")
async def set_letter_details(assembly_id: uuid.UUID, body: LetterDetails, rt: RuntimeDep,
                             who: Principal = Depends(allow(ORGANISER))) -> AssemblyOut:
    async with rt.transaction() as tx:
        await h.set_letter_details(tx, assembly_id, body.model_dump(mode="json"))
        a = await v.load_assembly(tx, assembly_id)
    return assembly_out(a)


class ValueNames(BaseModel):
    category: str = Field(min_length=1, max_length=64)
    value: str = Field(min_length=1, max_length=100)
    labels: Labels = Field(description="The value's names; one left out (or empty) is removed")


class ValueNamesIn(BaseModel):
    names: list[ValueNames] = Field(min_length=1, max_length=1000)


@router.put("/assemblies/{assembly_id}/value-names", response_model=AssemblyOut, response_model_exclude_none=True,
            tags=["assemblies"], summary="Name the quota values in Danish and English (what people read; the quotas stay)")
async def name_values(assembly_id: uuid.UUID, body: ValueNamesIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER))) -> AssemblyOut:
    async with rt.transaction() as tx:
        await h.name_values(tx, assembly_id, [n.model_dump(exclude_none=True) for n in body.names])
        a = await v.load_assembly(tx, assembly_id)
    return assembly_out(a)


@router.get("/assemblies/{assembly_id}/stats", tags=["assemblies"])
async def assembly_stats(assembly_id: uuid.UUID, rt: RuntimeDep,
        who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.stats(tx, assembly_id)
