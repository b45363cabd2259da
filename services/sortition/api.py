"""Sortition's HTTP API: the pool as sortition sees it, and the draw."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.sortition import handlers as h
from shared.runtime import Runtime, get_runtime

router = APIRouter(tags=["sortition"])


class DrawIn(BaseModel):
    seed: int | None = Field(None, ge=0, lt=2**62, description="Fix for a reproducible draw; random if omitted")
    reserves: int = Field(0, ge=0, le=10000, description="Length of the ordered reserve list")


class PanelOut(BaseModel):
    panel_id: uuid.UUID
    algorithm: str
    seed: int
    pool_size: int
    members: list[uuid.UUID]
    reserves: list[uuid.UUID]


@router.get("/assemblies/{assembly_id}/pool", summary="Pool size and counts per category value")
async def pool(assembly_id: uuid.UUID, rt: Runtime = Depends(get_runtime)) -> dict:
    async with rt.transaction() as tx:
        return await h.pool_summary(tx, assembly_id)


@router.post("/assemblies/{assembly_id}/draws", status_code=201, response_model=PanelOut,
             summary="Draw the panel (and reserves) so that every quota holds")
async def draw(assembly_id: uuid.UUID, body: DrawIn, rt: Runtime = Depends(get_runtime)) -> PanelOut:
    async with rt.transaction() as tx:
        return PanelOut(**await h.draw_panel(tx, assembly_id, seed=body.seed, reserves=body.reserves))


@router.get("/assemblies/{assembly_id}/panel", response_model=PanelOut)
async def panel(assembly_id: uuid.UUID, rt: Runtime = Depends(get_runtime)) -> PanelOut:
    async with rt.transaction() as tx:
        return PanelOut(**await h.get_panel(tx, assembly_id))
