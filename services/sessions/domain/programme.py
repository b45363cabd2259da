"""The programme's rules without I/O: what an agenda item, an expert, a document and a witness
request may hold, the checksum a document is stored with, and the hours heard per phase."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from shared.problems import conflict, invalid

ITEM_PHASES = ("learning", "hearing", "values", "vision", "recommendations", "voting")
EXPERT_KINDS = ("expert", "stakeholder")
DOCUMENT_KINDS = ("briefing", "slides", "video", "other")
WITNESS_ANSWERS = ("accepted", "declined")
MAX_DOCUMENT_BYTES = 5 * 2**20  # files live in the database (documents.content): keep them small
MAX_VENUES = 10
MEDIA_TYPES = {  # what members may download; anything else is stored as octet-stream
    ".pdf": "application/pdf", ".txt": "text/plain", ".md": "text/markdown",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text", ".odp": "application/vnd.oasis.opendocument.presentation",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
}


def web_link(url: str, field: str = "url") -> str:
    """An http(s) link with a host, or an InvalidInput that says what is wrong."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000 or any(c.isspace() for c in url):
        raise invalid(f"{field} must be a web address starting with https:// (or http://), at most 2000 characters",
                      [{"field": field, "problem": "not an http(s) link"}])
    return url


def file_checksum(content: bytes) -> str:
    """SHA-256 of the uploaded bytes, as stored and published."""
    return hashlib.sha256(content).hexdigest()


def link_checksum(url: str, title: str, kind: str) -> str:
    """SHA-256 of a link's text and metadata (canonical JSON), so a changed link is a new checksum."""
    return hashlib.sha256(json.dumps({"kind": kind, "title": title, "url": url}, sort_keys=True,
                                     ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def media_type(filename: str) -> str:
    dot = filename.rfind(".")
    return MEDIA_TYPES.get(filename[dot:].lower(), "application/octet-stream") if dot >= 0 else "application/octet-stream"


def safe_filename(filename: str) -> str:
    """The file's own name without directories or quotes (for Content-Disposition)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip().replace('"', "")
    return name[:200] or "document"


def check_document_size(size: int) -> None:
    if size == 0:
        raise invalid("the file is empty; choose the file to upload", [{"field": "file", "problem": "empty"}])
    if size > MAX_DOCUMENT_BYTES:
        raise invalid(f"the file is larger than {MAX_DOCUMENT_BYTES // 2**20} MiB; link to it instead "
                      "(a video or a large report: give its web address)", [{"field": "file", "problem": "too large"}])


def check_venues(mode: str, venues: list[tuple[str, str]], online_url: str | None) -> None:
    """A physical session needs a venue, a digital one a link, a hybrid one both."""
    if len(venues) > MAX_VENUES:
        raise invalid(f"at most {MAX_VENUES} venues per session", [{"field": "venues", "problem": "too many"}])
    regions = [r.casefold() for r, _ in venues]
    if len(set(regions)) != len(regions):
        raise invalid("each region can have one venue per session", [{"field": "venues", "problem": "region twice"}])
    if mode in ("physical", "hybrid") and not venues:
        raise invalid(f"a {mode} session needs at least one venue (region and address)",
                      [{"field": "venues", "problem": "missing"}])
    if mode in ("digital", "hybrid") and not online_url:
        raise invalid(f"a {mode} session needs the online meeting's link", [{"field": "online_url", "problem": "missing"}])


def check_answerable(status: str) -> None:
    if status != "open":
        raise conflict(f"this request was already {status}; it cannot be answered again", code="already_answered")


def hours_by_phase(items: Iterable[tuple[str, int]]) -> dict[str, float]:
    """(phase, minutes) of agenda items -> hours per phase, in the order of ITEM_PHASES."""
    minutes = {p: 0 for p in ITEM_PHASES}
    for phase, m in items:
        minutes[phase] = minutes.get(phase, 0) + m
    return {p: round(m / 60, 2) for p, m in minutes.items() if m}


def venues_for(venues: list[dict], region: str | None) -> tuple[list[dict], bool]:
    """Where a member of `region` goes: (their region's venue, True), or every venue and False
    when none is in their region (or their region is not known)."""
    mine = [v for v in venues if region and v["region"].casefold() == region.casefold()]
    return (mine, True) if mine else (list(venues), False)
