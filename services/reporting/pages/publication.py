"""The published report (public, no token): the newest version in the page's language as HTML or
PDF, every version, and each document of a version exactly as it was hashed."""

from __future__ import annotations

import hashlib
import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from services.reporting import views as v
from services.reporting.pages import pages
from services.reporting.views import publication as pv
from shared.auth import PUBLIC, Principal, allow
from shared.openapi import errors
from shared.problems import not_found
from shared.runtime import RuntimeDep

router = APIRouter(tags=["pages"])


def _document(body: bytes, name: str, version: int, assembly_id: uuid.UUID, request: Request) -> Response:
    """A published document exactly as it was hashed: nothing of the session, cacheable for good
    (a version never changes); the newest version's address answers with the version it serves."""
    headers = {"x-report-version": str(version), "x-content-sha256": hashlib.sha256(body).hexdigest()}
    if name.endswith(".pdf"):
        headers["content-disposition"] = f'inline; filename="report-{assembly_id}-v{version}-{name}"'
        response = Response(body, media_type="application/pdf", headers=headers)
    else:
        headers["content-security-policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        response = HTMLResponse(body, headers=headers)
    pages.finish(request, response)
    return response


@router.get("/assemblies/{assembly_id}/report/published", response_class=HTMLResponse, responses=errors(404),
            summary="The newest published report (public), in the page's language, exactly as it was hashed")
async def published_report(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return await _newest(rt, request, assembly_id, "html")


@router.get("/assemblies/{assembly_id}/report/published.pdf", responses=errors(404),
            summary="The newest published report as PDF (public), in the page's language")
async def published_report_pdf(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                               who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return await _newest(rt, request, assembly_id, "pdf")


async def _newest(rt, request: Request, assembly_id: uuid.UUID, kind: str) -> Response:
    name = f"{pages.locale(request)}.{kind}"
    async with rt.transaction() as tx:
        version, body = await pv.published_document(tx, assembly_id, name)
    return _document(body, name, version, assembly_id, request)


@router.get("/assemblies/{assembly_id}/report/versions", summary="Every published version of the report (HTML, public)",
            responses=errors(404))
async def report_versions(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        name = (await v.assemblies(tx, {assembly_id}) or [{}])[0].get("name")
        versions = await pv.published_reports(tx, assembly_id)
    if not versions:
        raise not_found("published report (none published yet)")
    return pages.render(request, "report_versions.html", {"name": name, "versions": versions,
                                                          "assembly_id": assembly_id}, who=who)


@router.get("/assemblies/{assembly_id}/report/versions/{version}/{document}", responses=errors(404),
            summary="One document of one published version (public, never changes): da.html, en.html, da.pdf, en.pdf")
async def report_version_document(assembly_id: uuid.UUID, document: Literal["da.html", "en.html", "da.pdf", "en.pdf"],
                                  rt: RuntimeDep, request: Request, version: int = PathParam(ge=1, le=1_000_000),
                                  who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        number, body = await pv.published_document(tx, assembly_id, document, version)
    return _document(body, document, number, assembly_id, request)
