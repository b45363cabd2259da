"""The recommendations workspace's rules, without I/O: how a text is normalised and hashed (the
hash the final list and the final ballot carry), the limits of a draft's fields, the line diff
between two versions, and the hash of the final list."""

from __future__ import annotations

import difflib
import hashlib
import unicodedata
from dataclasses import dataclass

from shared.problems import invalid

TITLE_MAX = 200
TEXT_MAX = 20_000
GROUP_MAX = 100
FINAL_MAX = 200  # recommendations on one final list (each is a question on the final ballot)


def normalise(text: str) -> str:
    """NFC, LF line ends, no trailing spaces on lines, no blank lines around: what is stored and hashed."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def text_hash(text: str) -> str:
    """sha256 hex of the stored (normalised) text's UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


def list_hash(hashes: list[str]) -> str:
    """The final list's hash: sha256 of its texts' hashes in list order, one per line."""
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


@dataclass(frozen=True)
class DraftText:
    title: str
    text: str
    rationale: str

    @property
    def sha256(self) -> str:
        return text_hash(self.text)


def problems_of(fields: dict[str, str | None], *, required: tuple[str, ...]) -> list[tuple[str, str]]:
    """(field, kind) for each field out of bounds; kinds: missing, too_long."""
    limits = {"title": TITLE_MAX, "text": TEXT_MAX, "rationale": TEXT_MAX, "group": GROUP_MAX, "reason": TEXT_MAX,
              "note": TEXT_MAX}
    found = []
    for name, value in fields.items():
        value = normalise(value or "")
        if not value and name in required:
            found.append((name, "missing"))
        elif len(value) > limits.get(name, TEXT_MAX):
            found.append((name, "too_long"))
    return found


def check(fields: dict[str, str | None], *, required: tuple[str, ...]) -> dict[str, str]:
    """The fields normalised, or InvalidInput naming each field to fix."""
    found = problems_of(fields, required=required)
    if found:
        words = {"missing": "is empty", "too_long": "is too long"}
        raise invalid("; ".join(f"{f} {words[k]}" for f, k in found),
                      [{"field": f, "problem": words[k]} for f, k in found])
    return {k: normalise(v or "") for k, v in fields.items()}


def draft_text(title: str, text: str, rationale: str | None) -> DraftText:
    c = check({"title": title, "text": text, "rationale": rationale}, required=("title", "text"))
    return DraftText(c["title"], c["text"], c["rationale"])


@dataclass(frozen=True)
class DiffLine:
    kind: str  # same | added | removed
    text: str


def diff(old: str, new: str) -> list[DiffLine]:
    """Line by line from `old` to `new` (difflib): what stayed, what was removed, what was added."""
    out: list[DiffLine] = []
    a, b = old.split("\n") if old else [], new.split("\n") if new else []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend(DiffLine("same", x) for x in a[i1:i2])
        else:
            out.extend(DiffLine("removed", x) for x in a[i1:i2])
            out.extend(DiffLine("added", x) for x in b[j1:j2])
    return out


def final_order(chosen: list[str], open_drafts: set[str]) -> list[str]:
    """The final list as asked for: each draft once, every one open (not merged away)."""
    if not chosen:
        raise invalid("choose at least one recommendation for the final list",
                      [{"field": "drafts", "problem": "empty"}])
    if len(chosen) > FINAL_MAX:
        raise invalid(f"a final list holds at most {FINAL_MAX} recommendations",
                      [{"field": "drafts", "problem": "too many"}])
    if len(set(chosen)) != len(chosen):
        raise invalid("a recommendation is on the list twice", [{"field": "drafts", "problem": "duplicate"}])
    unknown = [x for x in chosen if x not in open_drafts]
    if unknown:
        raise invalid(f"{len(unknown)} draft(s) are not open drafts of this assembly (merged ones are kept as history)",
                      [{"field": "drafts", "problem": f"{x} is not an open draft"} for x in unknown[:20]])
    return chosen
