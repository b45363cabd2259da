"""What the invitation letters say about their assembly (the commissioner, the remit, the session
dates, the stipend per session day and the date to reply by), read from the staff's form and
checked, with every problem as a (field, kind, values) triple the page words in the reader's
language; and money in øre, never floats. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

LETTER_FIELDS = ("commissioner", "remit", "remit_en", "session_dates", "stipend_ore", "reply_by")
MAX_DATES = 40
_DATE_SEPARATORS = re.compile(r"[,;\s]+")


def parse_date(text: str) -> date | None:
    """2027-03-06 (ISO) or the Danish 6.3.2027 / 6-3-2027 / 06/03/2027; None if it is neither."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    m = re.fullmatch(r"(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})", text)
    if m:
        try:
            return date(int(m[3]), int(m[2]), int(m[1]))
        except ValueError:
            return None
    return None


def parse_kroner(text: str) -> int | None:
    """An amount in Danish kroner as people type it (1500, 1.500, 1500,50, 1.500,00 kr.) in øre."""
    text = text.strip().lower().removesuffix("kr.").removesuffix("kr").strip().replace(" ", "")
    m = re.fullmatch(r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?", text)
    if not m:
        return None
    kroner = int(m[1].replace(".", ""))
    ore = int((m[2] or "0").ljust(2, "0"))
    return kroner * 100 + ore


def kroner_text(ore: int, lang: str = "da") -> str:
    """øre as the letter prints it: 1.500 kr. / 1.500,50 kr. (da), DKK 1,500 / DKK 1,500.50 (en)."""
    kroner, rest = divmod(ore, 100)
    if lang == "da":
        whole = f"{kroner:,}".replace(",", ".")
        return f"{whole},{rest:02d} kr." if rest else f"{whole} kr."
    return f"DKK {kroner:,}.{rest:02d}" if rest else f"DKK {kroner:,}"


def read_letter_form(form: Mapping[str, str]) -> tuple[dict, list[tuple[str, str, dict]]]:
    """The letter details the form describes (fields of LETTER_FIELDS; empty ones None / []) and
    what is wrong with them."""
    problems: list[tuple[str, str, dict]] = []
    out: dict = {}
    for name, limit in (("commissioner", 200), ("remit", 2000), ("remit_en", 2000)):
        text = (form.get(name) or "").strip()
        if len(text) > limit:
            problems.append((name, "too_long", {"n": limit}))
        out[name] = text or None
    dates: list[str] = []
    raw = (form.get("session_dates") or "").strip()
    for part in (p for p in _DATE_SEPARATORS.split(raw) if p):
        d = parse_date(part)
        if d is None:
            problems.append(("session_dates", "date", {"value": part[:20]}))
            break
        dates.append(d.isoformat())
    if len(dates) > MAX_DATES:
        problems.append(("session_dates", "too_many_dates", {"n": MAX_DATES}))
    out["session_dates"] = sorted(set(dates))
    raw = (form.get("stipend") or "").strip()
    out["stipend_ore"] = None
    if raw:
        ore = parse_kroner(raw)
        if ore is None or ore > 10_000_000:
            problems.append(("stipend", "stipend", {}))
        else:
            out["stipend_ore"] = ore
    raw = (form.get("reply_by") or "").strip()
    out["reply_by"] = None
    if raw:
        d = parse_date(raw)
        if d is None:
            problems.append(("reply_by", "date", {"value": raw[:20]}))
        else:
            out["reply_by"] = d
            if out["session_dates"] and d.isoformat() > out["session_dates"][0]:
                problems.append(("reply_by", "reply_after_sessions", {}))
    return out, problems


def letter_form_values(details: Mapping) -> dict[str, str]:
    """Stored details as the form shows them (the inverse of read_letter_form)."""
    reply_by = details.get("reply_by")
    return {
        "commissioner": details.get("commissioner") or "",
        "remit": details.get("remit") or "",
        "remit_en": details.get("remit_en") or "",
        "session_dates": ", ".join(details.get("session_dates") or []),
        "stipend": kroner_text(details["stipend_ore"]).removesuffix(" kr.") if details.get("stipend_ore") else "",
        "reply_by": reply_by.isoformat() if isinstance(reply_by, date) else (reply_by or ""),
    }


def missing_details(details: Mapping) -> list[str]:
    """What a letter would lack (the invitations page warns before letters go to print)."""
    return [f for f in ("commissioner", "remit", "session_dates", "stipend_ore", "reply_by") if not details.get(f)]
