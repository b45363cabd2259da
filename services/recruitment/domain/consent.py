"""The consent a citizen gives when registering, as versioned texts in Danish and English: the
page shows the current version in the reader's language, and each registration stores the
version, the language and the SHA-256 of the exact words agreed to. A new wording is a new
version here (never an edit of an old one), so that what each person agreed to stays provable. Pure."""

from __future__ import annotations

import hashlib

from shared.problems import invalid

CONSENT: dict[str, dict[str, dict[str, str]]] = {
    "2026-12": {
        "da": {
            "notice": "Myndigheden, der holder borgertinget, behandler kun dine svar for at trække panelet, og "
                      "sletter dem, når borgertinget er slut. Dit navn og din adresse kommer fra CPR og vises "
                      "aldrig for nogen uden for sekretariatet. Du kan til enhver tid trække dig med den samme "
                      "kode; så slettes dine svar.",
            "agree": "Jeg giver samtykke til, at mine svar behandles for at trække panelet",
        },
        "en": {
            "notice": "The agency running the assembly processes your answers only to draw the panel, and deletes "
                      "them when the assembly ends. Your name and address come from the population register and "
                      "are never shown to anyone outside the secretariat. You can withdraw at any time with the "
                      "same code; your answers are then deleted.",
            "agree": "I agree that my answers are processed to draw the panel",
        },
    },
}
CURRENT = "2026-12"


def consent_text(version: str = CURRENT, lang: str = "da") -> dict[str, str]:
    """The notice and the sentence agreed to, in `lang` (Danish for any other language)."""
    texts = CONSENT[version]
    return texts.get(lang) or texts["da"]


def consent_record(version: str | None, lang: str | None) -> dict[str, str]:
    """What a registration stores of its consent: version, language and the SHA-256 of the words
    (notice, then the sentence agreed to); 422 for a version that does not exist."""
    version = version or CURRENT
    if version not in CONSENT:
        raise invalid(f"consent version '{version[:40]}' is not known; the current one is {CURRENT}",
                      [{"field": "consent_version", "problem": f"one of {', '.join(sorted(CONSENT))}"}])
    lang = lang if lang in ("da", "en") else "da"
    text = consent_text(version, lang)
    digest = hashlib.sha256(f"{text['notice']}\n{text['agree']}".encode()).hexdigest()
    return {"consent_version": version, "consent_lang": lang, "consent_sha256": digest}
