"""The summary of one assembly, from the facts reporting's read model holds (no I/O): reach of the
invitations, the panel against its quotas, sessions held, and the ballots' results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from .figures import attendance_rate, composition, reply_rate


def programme(sessions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The programme of the sessions held, as their last published agendas say (session-scheduled
    v2): items and hours per agenda phase (in the order phases first appear), and the experts and
    stakeholders heard, each with the sessions they spoke at. Speakers are public people, never
    members."""
    hours: dict[str, float] = {}
    heard: dict[str, dict[str, Any]] = {}
    items = 0
    for x in sessions:
        if not x.get("held"):
            continue
        for i in x.get("agenda") or []:
            items += 1
            hours[i["phase"]] = hours.get(i["phase"], 0) + i["minutes"] / 60
            for sp in i["speakers"]:
                who = heard.setdefault(sp["expert_id"], {"name": sp["name"], "affiliation": sp["affiliation"],
                                                         "kind": sp["kind"], "sessions": []})
                if x["title"] not in who["sessions"]:
                    who["sessions"].append(x["title"])
    people = sorted(heard.values(), key=lambda p: (p["kind"] != "expert", p["name"].casefold()))
    return {"agenda_items": items, "agenda_hours_by_phase": {ph: round(h, 2) for ph, h in hours.items()},
            "experts_heard": sum(1 for p in people if p["kind"] == "expert"),
            "stakeholders_heard": sum(1 for p in people if p["kind"] == "stakeholder"), "heard": people}


def question_result(q: Any) -> dict[str, Any]:
    """Support per recommendation (yes/no and agree-scale questions: yes = votes counting as
    support, no = the other valid votes), and the outcome of questions over alternatives (approval:
    options passed; ranking: Borda order). Counts are None until the ballot is tallied."""
    counts = q.counts or {}
    valid = sum(v for k, v in counts.items() if k != "abstain") if q.recommendation and q.counts else None
    return {"ballot": q.ballot, "question_id": q.question_id, "recommendation": q.text, "type": q.type,
            "is_recommendation": q.recommendation, "threshold": q.threshold,
            "yes": q.support, "no": None if valid is None or q.support is None else valid - q.support,
            "abstain": counts.get("abstain"), "base": q.base,
            "support": None if not q.base or q.support is None else round(q.support / q.base, 5),
            "passed": q.passed, "outcome": q.outcome, "counts": q.counts,
            # members who voted on the ballot, of those eligible when it opened
            "ballots_cast": getattr(q, "ballots_cast", None), "members": getattr(q, "members", None),
            "share_voting": (None if not getattr(q, "members", None) or getattr(q, "ballots_cast", None) is None
                             else round(q.ballots_cast / q.members, 5))}


def answered_recommendations(responses: Sequence[Any]) -> set:
    """(ballot, question) of each recommendation whose latest response is more than 'under consideration'."""
    latest: dict = {}
    for r in sorted(responses, key=lambda r: (r.answered_on, r.recorded_at)):
        latest[(r.ballot_id, r.question_id)] = r.response
    return {k for k, v in latest.items() if v != "under_consideration"}


def final_recommendations(final_list: Sequence[Any], questions: Sequence[Any]) -> dict[str, Any] | None:
    """The finalised list, each recommendation in full beside the support it got on the final
    ballot opened from that list (None until that ballot is tallied)."""
    if not final_list:
        return None
    list_id = final_list[0].list_id
    voted = {q.recommendation_id: q for q in questions
             if getattr(q, "recommendation_id", None) is not None and getattr(q, "list_id", None) == list_id}
    return {"list_id": str(list_id), "finalised_at": final_list[0].finalised_at.isoformat(),
            "recommendations": [
                {"position": r.position, "recommendation_id": str(r.recommendation_id), "title": r.title,
                 "version": r.version, "text": r.text, "text_sha256": r.text_sha256, "rationale": r.rationale,
                 "minority_statements": list(r.minority_statements),
                 "result": question_result(voted[r.recommendation_id]) if r.recommendation_id in voted else None}
                for r in final_list]}


def summarise(assembly: Any, *, batches: Sequence[Any], respondents: Sequence[Any], members: set,
              panel: Any | None, sessions: Sequence[Mapping[str, Any]], questions: Sequence[Any],
              votes_cast: int, final_list: Sequence[Any] = (), trial_ballots: int = 0,
              trial_votes_cast: int = 0, freeze: Any | None = None, replacements: Sequence[Any] = (),
              withdrawals: int = 0, responses: Sequence[Any] = ()) -> dict[str, Any]:
    """`assembly`, `batches`, `respondents`, `panel` and `questions` are rows of the read model
    (attributes as in services/reporting/models/; a question row also has its `ballot` title);
    `members` the ids on the panel now; `sessions` the sessions' rows as mappings, in time order.
    `questions` and `votes_cast` are the final ballots' only: a trial ballot or straw poll is never
    the assembly's result (`trial_ballots`, `trial_votes_cast` count them apart); `final_list` is
    the finalised list's rows (final_recommendations) in list order; `freeze` the pool-frozen row,
    `replacements` one row per replacement in time order, `responses` the authority's responses."""
    recs = [q for q in questions if q.recommendation]
    invitations = sum(b.count for b in batches)
    inv_region: Counter = Counter()
    for b in batches:
        inv_region.update(b.per_region)
    reg_region = Counter(r.region for r in respondents)
    by_id = {r.respondent_id: r.features for r in respondents}
    panel_features = [by_id[x] for x in members if x in by_id]
    panel_region = Counter(f.get("region") for f in panel_features)
    held = [x for x in sessions if x["held"]]
    tallied = [q for q in recs if q.passed is not None]
    people = sum(r["population"] for r in assembly.regions)
    population = {r["code"]: round(r["population"] / people, 5) if people else 0.0 for r in assembly.regions}
    return {
        "assembly_id": str(assembly.id),
        "name": assembly.name,
        "invitations_sent": invitations,
        "registrations": len(respondents),
        "reply_rate": round(reply_rate(len(respondents), invitations), 5),
        "panel_size": len(members),
        "panel_target": assembly.panel_size,
        "selection": None if panel is None else {
            "algorithm": panel.algorithm, "pool_size": panel.pool_size,
            "min_probability": panel.min_probability, "transcript_hash": panel.transcript_hash},
        "freeze": None if freeze is None else {
            "pool_hash": freeze.pool_hash, "quotas_hash": freeze.quotas_hash, "pool_size": freeze.pool_size,
            "algorithm": freeze.algorithm, "engine": freeze.engine, "lottery_size": freeze.lottery_size,
            "reserves": freeze.reserves, "beacon": freeze.beacon, "commitments": freeze.commitments},
        "withdrawals": withdrawals,
        "replacements": len(replacements),
        "replacement_list": [{"number": i + 1, "at": r.at.isoformat(), "dropped": r.dropped, "added": r.added}
                             for i, r in enumerate(replacements)],
        "sessions_scheduled": len(sessions),
        "sessions_held": len(held),
        "deliberation_hours": sum(x["duration_hours"] or 0 for x in held),
        "first_session": next((x["starts_at"].isoformat() for x in sessions if x["starts_at"]), None),
        "last_session": next((x["starts_at"].isoformat() for x in reversed(sessions) if x["starts_at"]), None),
        "hours_by_phase": {ph: sum(x["duration_hours"] or 0 for x in held if x["phase"] == ph)
                           for ph in dict.fromkeys(x["phase"] for x in held)},
        "attendance_rate": round(attendance_rate(held), 5),
        "programme": programme(sessions),
        "votes_cast": votes_cast,
        "trial_ballots": trial_ballots,
        "trial_votes_cast": trial_votes_cast,
        "recommendations": len(recs),
        "recommendations_tallied": len(tallied),
        "recommendations_passed": sum(1 for q in tallied if q.passed),
        # the follow-up: entries recorded, and adopted recommendations whose latest entry is an answer
        "responses_recorded": len(responses),
        "recommendations_answered": len(answered_recommendations(responses)),
        "per_region": [
            {"region": r["code"], "name": r["name"], "population": r["population"],
             "invitations": inv_region.get(r["code"], 0), "registrations": reg_region.get(r["code"], 0),
             "reply_rate": round(reply_rate(reg_region.get(r["code"], 0), inv_region.get(r["code"], 0)), 5),
             "panel": panel_region.get(r["code"], 0)}
            for r in assembly.regions
        ],
        "composition": [{**c, "population_share": population.get(c["value"]) if c["category"] == "region" else None}
                        for c in composition(assembly.strata, [r.features for r in respondents], panel_features,
                                             assembly.panel_size)],
        "sessions": [{"title": x["title"], "phase": x["phase"], "mode": x["mode"],
                      "starts_at": x["starts_at"].isoformat() if x["starts_at"] else None, "held": x["held"],
                      "present": x["present"], "absent": x["absent"], "duration_hours": x["duration_hours"],
                      "attendance": (None if not x["held"] or not (x["present"] or 0) + (x["absent"] or 0)
                                     else round(x["present"] / (x["present"] + x["absent"]), 5))}
                     for x in sessions],
        "results": [question_result(q) for q in questions],
        "final_list": final_recommendations(final_list, questions),
    }
