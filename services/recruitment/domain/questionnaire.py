"""An assembly's registration questionnaire, configured per assembly and versioned (pure): the
strata questions (their options are the mandate's quota values; the question's wording in Danish
and English), "prefer not to say" where the mandate gives that answer a quota of its own, optional
attitude questions, the needs asked about (language, accessibility, diet, childcare) and whether
contact details are asked for in case the person is drawn. Problems are (field, kind, values)
triples the pages word in the reader's language; the API words them in English (WORDS).

"Prefer not to say" is an answer like any other for the draw: it is stored and sent to sortition
as the value PREFER_NOT_TO_SAY of the category, so the mandate must list it among the category's
quotas (with the share of the panel it may take, e.g. 0 to 2 seats) before the questionnaire may
offer it. docs/registration.md explains why."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

PREFER_NOT_TO_SAY = "prefer_not_to_say"
NEEDS = ("language", "accessibility", "diet", "childcare")
LANGS = ("da", "en")
MAX_ATTITUDES = 5
MAX_OPTIONS = 8
MAX_LABEL = 200
MAX_OPTION_LABEL = 100
MAX_NEED = 300
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

WORDS = {
    "categories": "the strata questions must be exactly the mandate's categories except region: {value}",
    "label_too_long": "at most {n} characters",
    "prefer_not_outside_mandate": "'{category}' cannot offer 'prefer not to say': the mandate has no quota for the "
                                  "value prefer_not_to_say in this category; add one (with its minimum and maximum) first",
    "too_many_attitudes": "at most {n} attitude questions",
    "attitude_key": "a key of lower-case letters, digits and _ (at most 32), starting with a letter",
    "attitude_key_taken": "the key '{value}' is used twice or is a strata category",
    "attitude_label": "the question in Danish and in English",
    "attitude_options": "2 to {n} answer options, the same number in Danish and in English",
    "option_too_long": "an answer option has at most {n} characters",
    "needs": "needs are some of: " + ", ".join(NEEDS),
}


def asked_categories(strata: Sequence[Mapping]) -> list[str]:
    """The strata a citizen is asked about (region comes from the invitation, not from the form)."""
    return [s["category"] for s in strata if s["category"] != "region"]


def quota_values(strata: Sequence[Mapping], category: str) -> list[str]:
    return [q["value"] for s in strata if s["category"] == category for q in s["quotas"]]


def default_config(strata: Sequence[Mapping]) -> dict:
    """Version 0, before the secretariat configures anything: the strata questions with the
    catalogue's wording, no "prefer not to say", no attitude questions, no needs, no contact."""
    return {"strata": [{"category": c, "label": {}, "prefer_not_to_say": False} for c in asked_categories(strata)],
            "attitudes": [], "needs": [], "contact": False}


def _labels(raw: object) -> dict[str, str]:
    raw = raw if isinstance(raw, Mapping) else {}
    return {lang: str(raw[lang]).strip() for lang in LANGS if raw.get(lang) and str(raw[lang]).strip()}


def read_config(strata: Sequence[Mapping], body: Mapping) -> tuple[dict, list[tuple[str, str, dict]]]:
    """A questionnaire from the API's or the form's shape (see default_config), normalised, and
    its problems."""
    problems: list[tuple[str, str, dict]] = []
    asked = asked_categories(strata)
    given = [dict(s) for s in body.get("strata") or []]
    if sorted(s.get("category") for s in given) != sorted(asked):
        problems.append(("strata", "categories", {"value": ", ".join(asked) or "-"}))
    questions = []
    for s in given:
        category = str(s.get("category"))
        label = _labels(s.get("label"))
        for lang, text in label.items():
            if len(text) > MAX_LABEL:
                problems.append((f"label_{lang}_{category}", "label_too_long", {"n": MAX_LABEL}))
        prefer = bool(s.get("prefer_not_to_say"))
        if prefer and PREFER_NOT_TO_SAY not in quota_values(strata, category):
            problems.append((f"prefer_{category}", "prefer_not_outside_mandate", {"category": category}))
        questions.append({"category": category, "label": label, "prefer_not_to_say": prefer})
    questions.sort(key=lambda q: asked.index(q["category"]) if q["category"] in asked else len(asked))
    attitudes = []
    raw_attitudes = list(body.get("attitudes") or [])
    if len(raw_attitudes) > MAX_ATTITUDES:
        problems.append(("attitudes", "too_many_attitudes", {"n": MAX_ATTITUDES}))
    seen = set(asked) | {"region"}
    for i, a in enumerate(raw_attitudes[:MAX_ATTITUDES]):
        key = str(a.get("key") or "").strip()
        if not KEY.match(key):
            problems.append((f"att_key_{i}", "attitude_key", {}))
        elif key in seen:
            problems.append((f"att_key_{i}", "attitude_key_taken", {"value": key}))
        seen.add(key)
        label = _labels(a.get("label"))
        if set(label) != set(LANGS) or any(len(t) > MAX_LABEL for t in label.values()):
            problems.append((f"att_label_{i}", "attitude_label", {}))
        options = [{"value": str(o.get("value") or "").strip(), "label": _labels(o.get("label"))}
                   for o in a.get("options") or [] if isinstance(o, Mapping)]
        values = [o["value"] for o in options]
        if not 2 <= len(options) <= MAX_OPTIONS or any(set(o["label"]) != set(LANGS) for o in options) \
                or len(set(values)) != len(values) or not all(KEY.match(v) or v.isdigit() for v in values):
            problems.append((f"att_options_{i}", "attitude_options", {"n": MAX_OPTIONS}))
        elif any(len(t) > MAX_OPTION_LABEL for o in options for t in o["label"].values()):
            problems.append((f"att_options_{i}", "option_too_long", {"n": MAX_OPTION_LABEL}))
        attitudes.append({"key": key, "label": label, "options": options})
    needs = [str(n) for n in body.get("needs") or []]
    if any(n not in NEEDS for n in needs):
        problems.append(("needs", "needs", {}))
    config = {"strata": questions, "attitudes": attitudes, "needs": [n for n in NEEDS if n in needs],
              "contact": bool(body.get("contact"))}
    return config, problems


def english(problems: Sequence[tuple[str, str, dict]]) -> list[dict[str, str]]:
    """The problems as the API's error details."""
    return [{"field": f, "problem": WORDS[kind].format(**values)} for f, kind, values in problems]


def stratum_options(strata: Sequence[Mapping], question: Mapping) -> list[str]:
    """A strata question's answers in the order shown: the quota values, then "prefer not to
    say" (last, and only where the questionnaire offers it)."""
    values = [v for v in quota_values(strata, question["category"]) if v != PREFER_NOT_TO_SAY]
    return values + [PREFER_NOT_TO_SAY] if question.get("prefer_not_to_say") else values


def answer_problems(strata: Sequence[Mapping], config: Mapping, answers: Mapping[str, str],
                    attitudes: Mapping[str, str], needs: Mapping[str, str]) -> list[tuple[str, str]]:
    """A registration's problems as (field, kind): every strata question needs an explicit answer
    among its options (nothing is assumed); attitude questions may be left out but an answer must
    be one of theirs; needs are short texts of the needs asked about. Fields: q_<category>,
    a_<key>, need_<need>; kinds: missing, unknown, not_asked, too_long."""
    problems: list[tuple[str, str]] = []
    asked = {q["category"]: stratum_options(strata, q) for q in config["strata"]}
    for category, options in asked.items():
        given = answers.get(category)
        if not given:
            problems.append((f"q_{category}", "missing"))
        elif given not in options:
            problems.append((f"q_{category}", "unknown"))
    problems += [(f"q_{c}", "not_asked") for c in answers if c not in asked]
    offered = {a["key"]: [o["value"] for o in a["options"]] for a in config.get("attitudes", [])}
    for key, given in attitudes.items():
        if key not in offered:
            problems.append((f"a_{key}", "not_asked"))
        elif given and given not in offered[key]:
            problems.append((f"a_{key}", "unknown"))
    for need, text in needs.items():
        if need not in config.get("needs", []):
            problems.append((f"need_{need}", "not_asked"))
        elif len(text) > MAX_NEED:
            problems.append((f"need_{need}", "too_long"))
    return problems


API_FIELDS = {"q": "answers", "a": "attitudes", "need": "needs"}  # the form's field prefixes -> the API's


def answer_details(strata: Sequence[Mapping], config: Mapping, answers: Mapping[str, str],
                   problems: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """answer_problems' problems as the API's error details, in English."""
    options = {q["category"]: stratum_options(strata, q) for q in config["strata"]}
    options.update({a["key"]: [o["value"] for o in a["options"]] for a in config.get("attitudes", [])})
    out = []
    for field, kind in problems:
        prefix, key = field.split("_", 1)
        allowed = ", ".join(options.get(key, []))
        given = (answers.get(key) or "")[:40]
        out.append({"field": f"{API_FIELDS[prefix]}.{key}", "problem": {
            "missing": f"missing; one of {allowed}", "unknown": f"'{given}' is not one of {allowed}",
            "not_asked": "not a question of this assembly", "too_long": f"at most {MAX_NEED} characters"}[kind]})
    return out
