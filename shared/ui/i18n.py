"""Translations and locale formats for the pages: Babel/gettext catalogues (Danish by default,
English complete) in shared/ui/locale, read from their .po files once per process, and dates and
numbers formatted per locale by Babel. `make messages` extracts and merges the catalogues.

Messages in Python code are marked with `N_("...")` (extracted, translated when shown); category,
answer and region codes are shown through `label()`, never as codes. A message with a count in it
has a singular and a plural form: `n_("%(n)s member", "%(n)s members", count, n=fmt.number(count))`
in the pages (`Pages.ngettext`), marked `NP_("...", "...")` where Python code keeps it for later.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

LOCALES = ("da", "en")
DEFAULT_LOCALE = "da"
LOCALE_DIR = Path(__file__).parent / "locale"
TIMEZONE = "Europe/Copenhagen"


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a singular and a plural form for extraction (`ngettext(count)` picks one
    where it is shown)."""
    return singular, plural


def plural_operand(count) -> int:
    """The number the catalogue's plural rule is asked about: a whole number as it is; a fraction
    (1.5 hours) takes the plural in Danish and English, so it is asked as 2 (gettext's rule wants
    an integer), and so does a figure not known (None, shown as "–")."""
    try:
        value = float(count)
    except (TypeError, ValueError):
        return 2
    return int(value) if value.is_integer() else 2


def gettext_for(locale: str):
    """`_(message, **values)`: the message in `locale`, its %-style named values filled in."""
    tr = translations(locale)

    def _(message: str, **values) -> str:
        text = tr.gettext(message)
        return text % values if values else text

    return _


def ngettext_for(locale: str):
    """`n_(singular, plural, count, **values)`: the form of a message for `count` in `locale`, with
    `%(n)s` the count unless `values` give `n` (say, the count formatted for the locale)."""
    tr = translations(locale)

    def n_(singular: str, plural: str, count, /, **values) -> str:
        return tr.ngettext(singular, plural, plural_operand(count)) % {"n": count, **values}

    return n_


@lru_cache(maxsize=None)
def catalogue(locale: str):
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


@lru_cache(maxsize=None)
def translations(locale: str) -> Translations:
    buf = io.BytesIO()
    write_mo(buf, catalogue(locale))
    buf.seek(0)
    return Translations(fp=buf)


def choose_locale(query: str | None, cookie: str | None, accept_language: str | None = None) -> str:
    """The page's language: a `?lang=` switch, else the remembered choice, else Danish (an English
    browser is offered the switch, not switched: the public sector's pages are Danish first)."""
    for candidate in (query, cookie):
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE


class Formats:
    """Locale-aware formatting for templates: `fmt.number(1234.5)`, `fmt.date(d)`, ..."""

    def __init__(self, locale: str) -> None:
        self.locale = Locale.parse(locale)

    def number(self, value, digits: int | None = None) -> str:
        if value is None:
            return "–"
        fmt = None if digits is None else "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(value, format=fmt, locale=self.locale)

    def percent(self, value, digits: int = 0) -> str:
        if value is None:
            return "–"
        return format_percent(value, format="#,##0" + ("." + "0" * digits if digits else "") + " %", locale=self.locale)

    def date(self, value: date | datetime | None, form: str = "long") -> str:
        if value is None:
            return "–"
        if isinstance(value, datetime):
            return format_datetime(value, "d. MMMM y" if self.locale.language == "da" and form == "long" else
                                   ("d MMMM y" if form == "long" else "short"), tzinfo=TIMEZONE, locale=self.locale)
        return format_date(value, form, locale=self.locale)

    def datetime(self, value: datetime | None, form: str = "medium") -> str:
        if value is None:
            return "–"
        return format_datetime(value, form, tzinfo=TIMEZONE, locale=self.locale)

    def month(self, value: datetime) -> str:
        """The month and year of a moment in Copenhagen: "marts 2027", "March 2027"."""
        return format_datetime(value, "LLLL y", tzinfo=TIMEZONE, locale=self.locale)

    def day(self, value: datetime) -> str:
        """The weekday and date of a moment in Copenhagen: "lørdag 6. marts", "Saturday 6 March"."""
        return format_datetime(value, "EEEE d. MMMM" if self.locale.language == "da" else "EEEE d MMMM",
                               tzinfo=TIMEZONE, locale=self.locale)

    def time(self, value: datetime) -> str:
        """The time of day in Copenhagen: "09.30", "9:30 AM"."""
        return format_time(value, "short", tzinfo=get_timezone(TIMEZONE), locale=self.locale)


# ---- human labels of the codes an assembly's strata use ----------------------------------------

CATEGORY_LABELS = {
    "gender": N_("Gender"), "age": N_("Age"), "education": N_("Education"), "region": N_("Region"),
    "employment": N_("Employment"), "origin": N_("Origin"), "housing": N_("Housing"),
    "urbanity": N_("Where you live"), "income": N_("Income"),
}
VALUE_LABELS = {
    "female": N_("Woman"), "male": N_("Man"), "other": N_("Other"), "non_binary": N_("Non-binary"),
    "basic": N_("Primary and lower secondary school"), "vocational": N_("Vocational education"),
    "higher": N_("Higher education"), "upper_secondary": N_("Upper secondary school"),
    "employed": N_("Employed"), "unemployed": N_("Unemployed"), "student": N_("Student"), "retired": N_("Retired"),
    "urban": N_("City"), "rural": N_("Countryside"), "town": N_("Town"),
    "owner": N_("Owner-occupied home"), "tenant": N_("Rented home"),
    "prefer_not_to_say": N_("Prefer not to say"),  # recruitment's questionnaire: its own value, with its own quota
}


def humanise(code: str) -> str:
    return code.replace("_", " ").replace("-", " ").strip().capitalize()


def label(gettext, category: str, value: str | None = None, regions: list[dict] | None = None,
          strata: list[dict] | None = None, lang: str | None = None) -> str:
    """The human label of a category (`value` None) or of one of its values, in the page's
    language: the name the assembly gave the value in `lang` (its strata's `labels`), a known code
    from the catalogue, an age band spelt out, a region's name, else the code made readable."""
    if value is not None and strata and lang:
        for s in strata:
            if s.get("category") == category:
                for q in s.get("quotas", ()):
                    if q.get("value") == value and (q.get("labels") or {}).get(lang):
                        return q["labels"][lang]
    if value is None:
        known = CATEGORY_LABELS.get(category)
        return gettext(known) if known else humanise(category)
    if category == "region" and regions:
        for r in regions:
            if r.get("code") == value:
                return r.get("name") or value
    known = VALUE_LABELS.get(value)
    if known:
        return gettext(known)
    if category == "age":
        low, sep, high = value.partition("-")
        if sep and low.isdigit() and high.isdigit():
            return gettext("%(low)s to %(high)s years") % {"low": low, "high": high}
        if value.endswith("+") and value[:-1].isdigit():
            return gettext("%(low)s years or older") % {"low": value[:-1]}
    return humanise(value)
