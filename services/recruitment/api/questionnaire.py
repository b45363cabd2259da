"""Recruitment's API for the registration questionnaire: the secretariat reads and saves it (each
save a new version; refused once letters are out), and the citizen's form is built from it."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.recruitment import views as v
from services.recruitment.domain.questionnaire import MAX_ATTITUDES, MAX_OPTIONS
from services.recruitment.handlers import questionnaire as h
from services.recruitment.views import questionnaire as qv
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter(tags=["assemblies"])


class Texts(BaseModel):
    """Words per language; a strata question left without them keeps the catalogue's wording."""

    da: str | None = Field(None, max_length=300)
    en: str | None = Field(None, max_length=300)


class StratumQuestion(BaseModel):
    category: str = Field(min_length=1, max_length=64)
    label: Texts = Field(default_factory=Texts, description="The question as asked, in Danish and English")
    prefer_not_to_say: bool = Field(False, description="Offer 'prefer not to say' (stored and sent to the draw as "
                                                       "the value prefer_not_to_say; the mandate must have a quota "
                                                       "for it in this category)")


class Option(BaseModel):
    value: str = Field(min_length=1, max_length=32)
    label: Texts


class AttitudeQuestion(BaseModel):
    key: str = Field(min_length=1, max_length=32)
    label: Texts
    options: list[Option] = Field(min_length=2, max_length=MAX_OPTIONS)


class QuestionnaireIn(BaseModel):
    strata: list[StratumQuestion] = Field(max_length=50, description="One per category of the mandate but region")
    attitudes: list[AttitudeQuestion] = Field(default_factory=list, max_length=MAX_ATTITUDES,
                                              description="Optional questions; answering them is optional too")
    needs: list[Literal["language", "accessibility", "diet", "childcare"]] = Field(default_factory=list, max_length=4)
    contact: bool = Field(False, description="Ask for a phone number or e-mail, to reach the person if drawn")


class QuestionnaireOut(QuestionnaireIn):
    version: int = Field(description="0: the default, before the secretariat saved one")
    fixed: bool = Field(description="Letters have gone out: the questionnaire can no longer change")


@router.get("/assemblies/{assembly_id}/questionnaire", response_model=QuestionnaireOut, responses=errors(404),
            summary="The registration questionnaire in use (its version, and whether it can still change)")
async def get_questionnaire(assembly_id: uuid.UUID, rt: RuntimeDep,
                            who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> QuestionnaireOut:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        version, config = await qv.current(tx, assembly_id, assembly.strata)
        fixed = await qv.letters_out(tx, assembly_id) > 0
    return QuestionnaireOut(version=version, fixed=fixed, **config)


@router.put("/assemblies/{assembly_id}/questionnaire", response_model=QuestionnaireOut, responses=errors(404, 409, 422),
            summary="Save the registration questionnaire as a new version (refused once letters have gone out)")
async def put_questionnaire(assembly_id: uuid.UUID, body: QuestionnaireIn, rt: RuntimeDep,
                            who: Principal = Depends(allow(ORGANISER))) -> QuestionnaireOut:
    async with rt.transaction() as tx:
        version, config = await h.save(tx, assembly_id, body.model_dump(exclude_none=True))
    return QuestionnaireOut(version=version, fixed=False, **config)
