"""Voting's HTTP API: open a ballot, cast votes, close and tally. Results stay hidden until close."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.voting import handlers as h
from shared.errors import conflict
from shared.runtime import Runtime, get_runtime

router = APIRouter(tags=["voting"])


class BallotIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    threshold: float = Field(0.5, gt=0, le=1, description="Share of yes among yes+no needed; 0.5 = strict majority")
    recommendations: list[str] = Field(min_length=1, max_length=500)


class QuestionOut(BaseModel):
    question_id: uuid.UUID
    recommendation: str


class BallotOut(BaseModel):
    id: uuid.UUID
    assembly_id: uuid.UUID
    title: str
    threshold: float
    eligible: int
    status: Literal["open", "closed"]
    questions: list[QuestionOut]


class VoteIn(BaseModel):
    member_id: uuid.UUID
    question_id: uuid.UUID
    choice: Literal["yes", "no", "abstain"]


class ResultOut(BaseModel):
    question_id: uuid.UUID
    recommendation: str
    yes: int
    no: int
    abstain: int
    support: float
    passed: bool


class ResultsOut(BaseModel):
    ballot_id: uuid.UUID
    threshold: float
    votes: int
    results: list[ResultOut]


async def _ballot_out(rt: Runtime, ballot_id: uuid.UUID) -> BallotOut:
    async with rt.transaction() as tx:
        b = await h.load_ballot(tx, ballot_id)
        qs = await h.load_questions(tx, ballot_id)
    return BallotOut(id=b.id, assembly_id=b.assembly_id, title=b.title, threshold=b.threshold, eligible=b.eligible,
                     status="closed" if b.closed_at else "open",
                     questions=[QuestionOut(question_id=q.id, recommendation=q.recommendation) for q in qs])


@router.post("/assemblies/{assembly_id}/ballots", status_code=201, response_model=BallotOut)
async def open_ballot(assembly_id: uuid.UUID, body: BallotIn, rt: Runtime = Depends(get_runtime)) -> BallotOut:
    async with rt.transaction() as tx:
        opened = await h.open_ballot(tx, assembly_id, title=body.title, threshold=body.threshold,
                                     recommendations=body.recommendations)
    return await _ballot_out(rt, opened["id"])


@router.get("/ballots/{ballot_id}", response_model=BallotOut)
async def get_ballot(ballot_id: uuid.UUID, rt: Runtime = Depends(get_runtime)) -> BallotOut:
    return await _ballot_out(rt, ballot_id)


@router.post("/ballots/{ballot_id}/votes", status_code=201, summary="Cast one vote on one recommendation")
async def cast(ballot_id: uuid.UUID, body: VoteIn, rt: Runtime = Depends(get_runtime)) -> dict:
    async with rt.transaction() as tx:
        vote_id = await h.cast(tx, ballot_id, member_id=body.member_id, question_id=body.question_id, choice=body.choice)
    return {"vote_id": vote_id, "message": "your vote is recorded"}


@router.post("/ballots/{ballot_id}/close", response_model=ResultsOut, summary="Close the ballot and tally")
async def close(ballot_id: uuid.UUID, rt: Runtime = Depends(get_runtime)) -> ResultsOut:
    async with rt.transaction() as tx:
        return ResultsOut(**await h.close(tx, ballot_id))


@router.get("/ballots/{ballot_id}/results", response_model=ResultsOut, summary="Results (only after close)")
async def results(ballot_id: uuid.UUID, rt: Runtime = Depends(get_runtime)) -> ResultsOut:
    async with rt.transaction() as tx:
        b = await h.load_ballot(tx, ballot_id)
    if b.closed_at is None:
        raise conflict("results stay hidden until the ballot closes", code="ballot_open")
    rs = b.results or []
    return ResultsOut(ballot_id=b.id, threshold=b.threshold, votes=sum(r["yes"] + r["no"] + r["abstain"] for r in rs),
                      results=rs)
