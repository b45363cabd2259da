"""A person's right-of-access export as a PDF (Typst, the template beside this file), in Danish or
English: the same content as the JSON export (handlers/privacy.py), for people who would rather
read it on paper. Pure apart from reading the template."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typst
from babel.dates import format_datetime

TEMPLATE = Path(__file__).parent / "access.typ"


def access_pdf(export: dict, lang: str = "da") -> bytes:
    lang = lang if lang in ("da", "en") else "da"
    exported = datetime.fromisoformat(export["exported_at"]) if export.get("exported_at") else datetime.now(timezone.utc)
    data = {"lang": lang, "exported": format_datetime(exported, format="long", locale=lang),
            "export": json.loads(json.dumps(export, default=str))}
    return typst.compile(TEMPLATE.read_bytes(), sys_inputs={"data": json.dumps(data, ensure_ascii=False)},
                         ignore_system_fonts=True)
