"""The members' evaluation surveys (start, middle and end of the process) and the evaluation pack:
the figures the OECD Evaluation Guidelines for Representative Deliberative Processes (2021) ask
for that the system knows, each with its source, and a note for each it cannot know. Pure.

The questions follow the guidelines' criteria (clear task, learning, breadth of evidence, neutral
facilitation, respect, freedom to speak, time, group decision, privacy, perceived fairness,
expected influence) in our own short wording; the Likert items use the same five-point scale at
every stage, so that a question asked at the start and the end can be compared. Every question
may be left unanswered (the guidelines: members may skip any question)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .disclosure import public_figures, small


def N_(message: str) -> str:  # marks a text for the catalogues; the pages translate it
    return message


STAGES = ("start", "middle", "end")
STAGE_NAMES = {"start": N_("At the start"), "middle": N_("Halfway"), "end": N_("At the end")}
SCALE = (1, 2, 3, 4, 5)
SCALE_NAMES = {1: N_("Strongly disagree"), 2: N_("Disagree"), 3: N_("Neither agree nor disagree"),
               4: N_("Agree"), 5: N_("Strongly agree")}
MAX_OPEN = 2000  # characters of an open answer


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # likert | open
    criterion: str  # the guidelines' criterion it measures
    text: str


_Q = Question
QUESTIONS: dict[str, tuple[Question, ...]] = {
    "start": (
        _Q("task", "likert", "clear_purpose", N_("I understand the question the assembly has been asked to answer.")),
        _Q("prepared", "likert", "inclusiveness",
           N_("Before the first session I knew what taking part would involve (dates, stipend, support).")),
        _Q("influence", "likert", "influence", N_("I expect the assembly's recommendations to affect the decision.")),
        _Q("why", "open", "inclusiveness", N_("What made you decide to take part?")),
    ),
    "middle": (
        _Q("learning", "likert", "learning", N_("The information so far has helped me understand the issue.")),
        _Q("evidence", "likert", "breadth_of_evidence",
           N_("The experts and stakeholders we heard put forward a range of different views.")),
        _Q("speak", "likert", "freedom_to_speak", N_("I have had enough opportunity to say what I think.")),
        _Q("respect", "likert", "respect", N_("Other members listen to me with respect, also when they disagree.")),
        _Q("facilitation", "likert", "neutral_facilitation", N_("The facilitators treat every view alike.")),
        _Q("time", "likert", "time", N_("We have enough time to discuss the issues.")),
        _Q("better", "open", "time", N_("What would make the coming sessions work better for you?")),
    ),
    "end": (
        _Q("fair", "likert", "perceived_fairness", N_("All in all, the process was fair.")),
        _Q("speak", "likert", "freedom_to_speak", N_("I had enough opportunity to say what I think.")),
        _Q("pressure", "likert", "freedom_to_speak",
           N_("I could disagree without pressure from the organisers, the experts or other members.")),
        _Q("respect", "likert", "respect", N_("Other members listened to me with respect, also when they disagreed.")),
        _Q("facilitation", "likert", "neutral_facilitation", N_("The facilitators treated every view alike.")),
        _Q("learning", "likert", "learning", N_("I learned enough about the issue to form a considered judgement.")),
        _Q("evidence", "likert", "breadth_of_evidence",
           N_("The experts and stakeholders we heard put forward a range of different views.")),
        _Q("decision", "likert", "group_decision",
           N_("The final recommendations reflect what the members decided together.")),
        _Q("privacy", "likert", "privacy", N_("My privacy was respected throughout the process.")),
        _Q("influence", "likert", "influence", N_("I expect the assembly's recommendations to affect the decision.")),
        _Q("best", "open", "learning", N_("What worked best?")),
        _Q("change", "open", "suitable_design", N_("What should be done differently next time?")),
    ),
}


def questions(stage: str) -> tuple[Question, ...]:
    return QUESTIONS[stage]


def clean_answers(stage: str, raw: Mapping[str, Any]) -> tuple[dict[str, int | str], list[dict[str, str]]]:
    """(the answers to keep, what is wrong: [{"field", "problem"}]). Unknown keys are dropped;
    an empty or missing answer is a question skipped (allowed); a Likert answer is 1..5."""
    kept: dict[str, int | str] = {}
    bad = []
    for q in QUESTIONS[stage]:
        value = raw.get(q.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if q.kind == "likert":
            try:
                number = int(str(value).strip())
            except ValueError:
                number = 0
            if number not in SCALE:
                bad.append({"field": q.id, "problem": "choose a point on the scale from 1 to 5, or leave it empty"})
            else:
                kept[q.id] = number
        else:
            text = str(value).strip()
            if len(text) > MAX_OPEN:
                bad.append({"field": q.id, "problem": f"shorten the answer to at most {MAX_OPEN} characters"})
            else:
                kept[q.id] = text
    return kept, bad


def survey_figures(stage: str, answers: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """Per question: how many answered; for a Likert item the count per point, the mean and the
    share agreeing (4 or 5); for an open one its answers in alphabetical order (so the order says
    nothing of who answered when). Below `k` answers a question shows its count only."""
    out = []
    for q in QUESTIONS[stage]:
        given = [a[q.id] for a in answers if q.id in a]
        row: dict[str, Any] = {"id": q.id, "kind": q.kind, "criterion": q.criterion, "text": q.text,
                               "answered": len(given), "suppressed": small(len(given), k)}
        if q.kind == "likert":
            counts = {p: sum(1 for x in given if x == p) for p in SCALE}
            row.update(counts=None, mean=None, agree=None)
            if given and not row["suppressed"]:
                row.update(counts=counts, mean=round(sum(given) / len(given), 3),
                           agree=round((counts[4] + counts[5]) / len(given), 5))
        else:
            row["answers"] = [] if row["suppressed"] else sorted(str(x) for x in given)
        out.append(row)
    return {"stage": stage, "respondents": len(answers), "suppressed": small(len(answers), k), "questions": out}


# ---- the evaluation pack --------------------------------------------------------------------

LEARNING_PHASES = ("learning", "hearing")
DELIBERATION_PHASES = ("values", "vision", "recommendations")
DECISION_PHASES = ("voting",)

# What the guidelines ask for that the system cannot know, and why; printed with the pack.
NOT_KNOWN = (
    ("independent_evaluation", N_("Whether the evaluation is independent: the evaluator is chosen outside the system.")),
    ("framing", N_("Whether the remit was framed clearly and without bias: an evaluator judges the remit's text.")),
    ("observation", N_("Observers' notes on facilitation and the quality of deliberation at the tables.")),
    ("costs", N_("The budget and the costs of the process.")),
    ("public_awareness", N_("Media coverage and how many people outside the assembly heard of it.")),
    ("impact", N_("What changed in policy beyond the answers and updates the secretariat records.")),
    ("respondents_profile", N_("Who answered the surveys: the answers carry no member id and no profile, so that "
                               "they can never be linked to a member.")),
)


def _split(by_phase: Mapping[str, float]) -> dict[str, Any]:
    split = {"learning": sum(h for p, h in by_phase.items() if p in LEARNING_PHASES),
             "deliberation": sum(h for p, h in by_phase.items() if p in DELIBERATION_PHASES),
             "decision": sum(h for p, h in by_phase.items() if p in DECISION_PHASES)}
    split["other"] = sum(by_phase.values()) - sum(split.values())
    total = sum(by_phase.values())
    return {**split, "total": total,
            "learning_share": round(split["learning"] / total, 5) if total else None,
            "deliberation_share": round(split["deliberation"] / total, 5) if total else None}


def _hours(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Hours per kind of work by the sessions' phases; and by the published agendas' items (finer:
    a session mixes phases) where the sessions held had agendas."""
    programme = summary.get("programme") or {}
    agenda = _split(programme.get("agenda_hours_by_phase") or {}) if programme.get("agenda_items") else None
    return {**_split(summary.get("hours_by_phase") or {}), "by_agenda": agenda}


def _retention(summary: Mapping[str, Any]) -> dict[str, Any]:
    held = [s for s in summary.get("sessions", []) if s["held"]]
    first, last = (held[0]["present"], held[-1]["present"]) if held else (None, None)
    target = summary["panel_target"]
    return {"panel_target": target, "present_first_session": first, "present_last_session": last,
            "retention": round(last / target, 5) if held and target else None,
            "replacements": summary.get("replacements", 0),
            "dropped_out": sum(r["dropped"] for r in summary.get("replacement_list", [])),
            "attendance_rate": summary.get("attendance_rate")}


def _experts(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """The experts and stakeholders heard at the sessions held (the published agendas' speakers;
    None: reporting's summary has no programme)."""
    experts = summary.get("experts")
    if experts is None and summary.get("programme") is not None:
        experts = summary["programme"].get("heard") or []
    if experts is None:
        return None
    kinds: dict[str, int] = {}
    for e in experts:
        kind = e.get("kind") or e.get("role") or "expert"
        kinds[kind] = kinds.get(kind, 0) + 1
    affiliations = {str(e.get("affiliation") or "").strip().lower() for e in experts} - {""}
    return {"heard": len(experts), "by_kind": kinds, "affiliations": len(affiliations)}


def response_due(last_session: date | None, first_published: date | None, days: int) -> date | None:
    """When the authority's answers are due: `days` after the handover, the later of the last
    session held and the first published report (None before either)."""
    known = [d for d in (last_session, first_published) if d is not None]
    return max(known) + timedelta(days=days) if known else None


def answered_in_time(recommendations: Sequence[Mapping[str, Any]], due: date | None) -> dict[str, Any]:
    """Of the adopted recommendations (the follow-up's items, each with its `history`), how many
    got an answer (anything but 'under consideration') and how many by `due`."""
    total = len(recommendations)
    first = [next((h["answered_on"] for h in r["history"] if h["response"] != "under_consideration"), None)
             for r in recommendations]
    answered = [d for d in first if d is not None]
    in_time = [d for d in answered if due is not None and d <= due]
    return {"adopted": total, "answered": len(answered), "answered_by_due": len(in_time),
            "due": due.isoformat() if due else None,
            "share_by_due": round(len(in_time) / total, 5) if total and due else None}


def _agree(surveys: Mapping[str, Mapping[str, Any]], *keys: tuple[str, str]) -> dict[str, Any] | None:
    """The first of (stage, question) with figures: its share agreeing and how many answered."""
    for stage, qid in keys:
        figures = surveys.get(stage)
        row = next((q for q in (figures or {}).get("questions", []) if q["id"] == qid), None)
        if row and row["answered"]:
            return {"stage": stage, "question": qid, "answered": row["answered"], "agree": row["agree"],
                    "mean": row["mean"], "suppressed": row["suppressed"]}
    return None


def pack(summary: Mapping[str, Any], surveys: Mapping[str, Mapping[str, Any]], followup: Mapping[str, Any],
         due: date | None, k: int) -> dict[str, Any]:
    """The evaluation pack of one assembly: `summary` as views.summary gives it (small groups are
    suppressed here, as in the report), `surveys` stage -> survey_figures of the CLOSED surveys,
    `followup` as domain/followup.followup gives it, `due` when the authority's answers are due."""
    public = public_figures(summary, k)
    notes: list[dict[str, str]] = [{"figure": key, "note": text} for key, text in NOT_KNOWN]
    experts = _experts(summary)
    if experts is None:
        notes.append({"figure": "experts", "note": N_(
            "The experts and stakeholders heard: the programme's experts are not in reporting's figures yet.")})
    elif not experts["heard"]:
        notes.append({"figure": "experts", "note": N_(
            "The experts and stakeholders heard: no published agenda of a session held names a speaker.")})
    if not any(c.get("population_share") is not None for c in public.get("composition", [])):
        notes.append({"figure": "population", "note": N_(
            "The population's shares are known per region only; for the other strata the quotas carry them.")})
    fairness = _agree(surveys, ("end", "fair"))
    speak = _agree(surveys, ("end", "speak"), ("middle", "speak"))
    for key, figure in (("perceived_fairness", fairness), ("freedom_to_speak", speak)):
        if figure is None:
            notes.append({"figure": key, "note": N_("No closed member survey has answers to this question yet.")})
    return {
        "assembly_id": summary["assembly_id"], "name": summary["name"], "min_group": k,
        "guidelines": "OECD (2021), Evaluation Guidelines for Representative Deliberative Processes",
        "representativeness": [
            {key: c.get(key) for key in ("category", "value", "quota_min", "quota_max", "target_share",
                                        "population_share", "pool", "pool_share", "panel", "panel_share",
                                        "within_quota")}
            for c in public.get("composition", [])],
        "recruitment": {"invitations": public["invitations_sent"], "registrations": public["registrations"],
                        "reply_rate": public["reply_rate"],
                        "per_region": [{key: r.get(key) for key in ("region", "invitations", "registrations",
                                                                   "reply_rate", "panel")}
                                       for r in public.get("per_region", [])]},
        "retention": _retention(public),
        "hours": _hours(public),
        "experts": experts,
        "perceived_fairness": fairness,
        "freedom_to_speak": speak,
        "response": answered_in_time(followup.get("recommendations", []), due),
        "surveys": {stage: {"respondents": s["respondents"], "suppressed": s["suppressed"],
                            "questions": [{key: q.get(key) for key in ("id", "criterion", "kind", "answered",
                                                                      "suppressed", "counts", "mean", "agree")}
                                          for q in s["questions"]]}
                    for stage, s in surveys.items()},
        "not_known": notes,
    }


def pack_rows(p: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The pack as (section, figure, value) rows for a CSV file; None is written as empty."""
    def v(x: Any) -> str:
        return "" if x is None else str(x)

    rows = []
    for c in p["representativeness"]:
        for key in ("quota_min", "quota_max", "target_share", "population_share", "pool_share", "panel_share",
                    "within_quota"):
            rows.append(("representativeness", f"{c['category']}={c['value']}:{key}", v(c[key])))
    for key in ("invitations", "registrations", "reply_rate"):
        rows.append(("recruitment", key, v(p["recruitment"][key])))
    for r in p["recruitment"]["per_region"]:
        rows.append(("recruitment", f"region={r['region']}:reply_rate", v(r["reply_rate"])))
    for section in ("retention", "hours", "response"):
        for key, value in p[section].items():
            if isinstance(value, Mapping):
                rows.extend((section, f"{key}:{k}", v(x)) for k, x in value.items())
            else:
                rows.append((section, key, v(value)))
    if p["experts"] is not None:
        rows.append(("experts", "heard", v(p["experts"]["heard"])))
        rows.append(("experts", "affiliations", v(p["experts"]["affiliations"])))
        for kind, n in sorted(p["experts"]["by_kind"].items()):
            rows.append(("experts", f"kind={kind}", v(n)))
    for key in ("perceived_fairness", "freedom_to_speak"):
        f = p[key]
        rows.append((key, "agree", v(f and f["agree"])))
        rows.append((key, "answered", v(f and f["answered"])))
    for stage, s in p["surveys"].items():
        rows.append((f"survey:{stage}", "respondents", v(s["respondents"])))
        for q in s["questions"]:
            if q["kind"] == "likert":
                rows.append((f"survey:{stage}", f"{q['id']}:agree", v(q["agree"])))
                rows.append((f"survey:{stage}", f"{q['id']}:mean", v(q["mean"])))
            rows.append((f"survey:{stage}", f"{q['id']}:answered", v(q["answered"])))
    for n in p["not_known"]:
        rows.append(("not_known", n["figure"], n["note"]))
    return rows
