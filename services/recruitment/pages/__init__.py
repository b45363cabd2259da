"""Recruitment's pages, one module per feature (registration, members, assemblies, invitations,
replies, letters, waves, sample, privacy, stipends); here the page renderer and the helpers they
share: form fields, one-time form tokens, the letter form's problems, an assembly's overview."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import Request

from services.recruitment import views as v
from services.recruitment.views import invitations as invitations_reads
from services.recruitment.views import members as members_reads
from shared.runtime import Runtime
from shared.ui import N_, Pages

pages = Pages("recruitment", Path(__file__).parent.parent / "templates")
LETTER_PROBLEMS = {
    "too_long": N_("At most %(n)s characters"),
    "date": N_("%(value)s is not a date; write it as 6.3.2027 or 2027-03-06"),
    "too_many_dates": N_("At most %(n)s dates"),
    "stipend": N_("Enter the stipend in kroner, for example 1.500 or 1500,50"),
    "reply_after_sessions": N_("The reply-by date must come before the first session"),
}


def letter_problems(request: Request, problems) -> tuple[dict, list[dict]]:
    """The letter form's problems in the reader's language: (by field, the error summary's list)."""
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    for field, kind, values in problems:
        by_field.setdefault(field, _(LETTER_PROBLEMS[kind], **values))
    return by_field, [{"field": f, "message": m} for f, m in by_field.items()]


def _form(raw) -> dict[str, str]:
    return {k: str(x) for k, x in raw.items() if k != "csrf_token" and isinstance(x, str)}


async def _overview(rt: Runtime, assembly_id: uuid.UUID) -> dict:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        register = await invitations_reads.register_counts(tx, assembly_id)
        stats = await v.stats(tx, assembly_id)
        batches = await invitations_reads.invitation_batches(tx, assembly_id)
        letters = await members_reads.letter_counts(tx, assembly_id)
    return {"assembly": assembly, "register": register, "stats": stats, "batches": batches, "letters": letters,
            "imported": sum(r["imported"] for r in register.values()),
            "invited": sum(r["invited"] for r in register.values())}


DIMENSION_NAMES = {"region": N_("Region"), "age_band": N_("Age"), "gender": N_("Gender")}


async def use_once(rt: Runtime, token: str) -> bool:
    """A form that must not act twice (a double click, the back button after a download): its
    one-time token is taken in Valkey for a day; False if it was taken before."""
    if not 10 <= len(token) <= 64:
        return False
    return bool(await rt.redis.set(f"borgerting:recruitment:form-once:{token}", "1", nx=True, ex=86400))


async def forget_once(rt: Runtime, token: str) -> None:
    """Give a form's one-time token back (nothing was sent)."""
    await rt.redis.delete(f"borgerting:recruitment:form-once:{token}")
