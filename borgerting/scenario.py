"""A realistic multi-region assembly, driven through the services' HTTP APIs only.

Synthetic but shaped like the Danish process: five regions weighted by population, a register
extract, letters in proportion to population, a reply rate of a few per cent with self-selection
(older and more educated people reply more), a stratified panel, sessions with absences, and a
final vote on recommendations with a 70% threshold. Everything is seeded.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
import random
import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx

from services.sortition.domain import VerificationError, commitment, verify_replacements, verify_transcript
from services.sortition.domain.io_formats import parse_peer_format
from services.reporting.domain.evaluation import QUESTIONS as SURVEY_QUESTIONS
from services.voting.client import VotingClient, VotingClientError

REGIONS = [  # Statistics Denmark, 2024, rounded
    ("DK01", "Region Hovedstaden", 1_870_000),
    ("DK02", "Region Sjælland", 850_000),
    ("DK03", "Region Syddanmark", 1_230_000),
    ("DK04", "Region Midtjylland", 1_360_000),
    ("DK05", "Region Nordjylland", 595_000),
]
POPULATION_SHARES = {  # adult population shares used to draw the register and to set quotas
    "gender": {"female": 0.505, "male": 0.495},
    "age": {"18-29": 0.19, "30-44": 0.23, "45-59": 0.25, "60+": 0.33},
    "education": {"basic": 0.27, "vocational": 0.37, "higher": 0.36},
}
REPLY_WEIGHT = {  # self-selection: relative propensity to reply
    "age": {"18-29": 0.6, "30-44": 0.9, "45-59": 1.1, "60+": 1.3},
    "education": {"basic": 0.55, "vocational": 0.9, "higher": 1.5},
}
RECOMMENDATIONS = [
    "Introduce a CO2e tax on agriculture with a green transition fund",
    "Make public transport free for people under 25",
    "Require solar panels on all new public buildings",
    "Phase out oil and gas boilers by 2030",
    "Label the climate footprint of food in supermarkets",
    "Raise the tax on frequent flying",
    "Set aside 10% of farmland for nature and wetlands",
    "Fund home insulation for low-income households",
    "Build cycle highways between all larger towns",
    "Teach climate literacy in every school year",
    "Ban single-use plastics in public institutions",
    "Let municipalities own local wind and solar parks",
    "Electrify all municipal vehicle fleets by 2028",
    "Reduce meat in public canteens by half",
    "Give citizens a say in placing new energy parks",
    "Support a repair economy with lower VAT on repairs",
    "Invest in district heating in rural areas",
    "Require climate accounts from larger companies",
    "Create a citizens' climate council to follow up",
    "Protect coastal areas against rising sea levels",
]


LETTER_DETAILS = {  # what the invitation letters say (services/recruitment/printing)
    "commissioner": "Klima-, Energi- og Forsyningsministeriet",
    "remit": "Hvordan når Danmark sine klimamål på en måde, som borgerne finder retfærdig? Borgertinget giver "
             "regeringen og Folketinget sine anbefalinger.",
    "remit_en": "How can Denmark meet its climate goals in a way citizens find fair? The assembly gives the "
                "government and parliament its recommendations.",
    "session_dates": ["2027-03-06", "2027-04-10", "2027-05-08"],
    "stipend_ore": 150000,
    "reply_by": "2027-02-01",
}
REMINDER_REPLY_SHARE = 0.35  # a reminder brings in about a third as many replies as the first letter


@dataclass
class Params:
    seed: int = 2027
    register_size: int = 60_000
    invitations: int = 20_000
    base_reply_rate: float = 0.028
    panel_size: int = 60
    reserves: int = 20
    sessions: int = 3
    attendance: float = 0.92
    recommendations: int = 20
    threshold: float = 0.7
    concurrency: int = 16
    print_budget: int = 400  # the targeted wave is printed as PDF: the demo keeps it to this many letters


@dataclass
class Tally:
    """What the driver did, to compare with what reporting counted from events."""

    invitations_sent: int = 0
    registrations: int = 0
    refused_codes: int = 0
    questionnaire_version: int = 0  # the questionnaire the secretariat saved before the letters went out
    registered_by_form: int = 0  # through the public registration page (Danish, nothing pre-selected)
    withdrawn_by_form: int = 0  # through the withdrawal page, with the letter's code
    panel_size: int = 0
    withdrawn_before_draw: int = 0  # left the pool after the freeze, before the first seed reveal
    replacements: int = 0  # each replayed from its public transcript
    sessions_held: int = 0
    votes_cast: int = 0  # on the final ballot only: the assembly's result
    recommendations: int = 0  # on the finalised list (one question each on the final ballot)
    recommendations_passed: int = 0
    trial_votes_cast: int = 0  # on the straw poll, never part of the result
    drafts: int = 0  # started by the tables (one merged into another before the list was frozen)
    amendments: dict[str, int] = field(default_factory=dict)  # accepted / rejected
    minority_statements: int = 0
    table_plans: list = field(default_factory=list)  # per session: the published plan's figures
    programme: dict = field(default_factory=lambda: {"items": 0, "documents": 0, "experts": 0, "stakeholders": 0,
                                                     "witness_requests": 0})
    programme_heard: list = field(default_factory=list)  # experts and stakeholders heard, agenda items
    voting_refusals: int = 0  # absent member, second token, reused token: each refused as it must be
    present_per_session: list = field(default_factory=list)  # members marked present, per session
    check_ins: dict = field(default_factory=lambda: {"code": 0, "online": 0})  # by personal code at the door, online
    dropouts: dict = field(default_factory=dict)  # the drop-out rule after the last session: drop-outs, at risk
    votes_per_recommendation: list = field(default_factory=list)  # [yes, no, abstain] per recommendation
    report: dict = field(default_factory=dict, repr=False)  # the published version: number and hashes
    adopted: list = field(default_factory=list, repr=False)  # (ballot id, question id) of each adopted recommendation
    responses_recorded: int = 0  # the authority's responses the secretariat recorded
    recommendations_answered: int = 0
    board: dict = field(default_factory=dict, repr=False)  # the voting board's export after close
    final_ballot_id: str = field(default="", repr=False)
    member_code: str = field(default="", repr=False)  # one member's letter code, for the demo's console sign-in
    reminders: int = 0  # reminder letters (no new invitations)
    second_wave: dict = field(default_factory=dict)  # its pool factor, letters and the gap before and after
    letter_files: dict[str, bytes] = field(default_factory=dict, repr=False)  # the second wave's ZIP, for out/letters
    places: dict = field(default_factory=dict)  # members' answers to their place: confirmed, declined
    stipends: dict = field(default_factory=dict)  # the payment export after the sessions: who got what
    seconds: dict[str, float] = field(default_factory=dict)
    # the members' evaluation surveys (anonymous) and the evaluation pack's figures as the driver knows them
    survey_respondents: dict = field(default_factory=dict)  # stage -> members who answered
    fair_agree: float | None = None  # end survey: share answering 4-5 of those answering "fair"
    speak_agree: float | None = None
    hours_learning: float = 0.0
    hours_deliberation: float = 0.0
    answered_by_due: int = 0  # the authority's answers by 90 days after the last session


def quotas(k: int) -> list[dict]:
    def band(share: float, slack: int) -> tuple[int, int]:
        t = round(share * k)
        return max(0, t - slack), t + slack

    total_pop = sum(p for _, _, p in REGIONS)
    strata = []
    for cat, shares in POPULATION_SHARES.items():
        slack = 2 if cat == "gender" else 3
        strata.append({"category": cat, "quotas": [dict(zip(("min", "max"), band(s, slack)), value=v)
                                                   for v, s in shares.items()]})
    strata.append({"category": "region", "quotas": [dict(zip(("min", "max"), band(p / total_pop, 2)), value=c)
                                                    for c, _, p in REGIONS]})
    return strata


def register_extract(rng: random.Random, n: int) -> tuple[str, dict[str, dict[str, str]]]:
    """A synthetic register extract (CSV) and each person's true answers (only the driver knows)."""
    total_pop = sum(p for _, _, p in REGIONS)
    lines = ["person_id,name,address,region"]
    truth: dict[str, dict[str, str]] = {}
    pid = 0
    for code, _, pop in REGIONS:
        for _ in range(round(n * pop / total_pop)):
            pid += 1
            person = f"{pid:010d}"
            truth[person] = {cat: rng.choices(list(s), weights=list(s.values()))[0]
                             for cat, s in POPULATION_SHARES.items()}
            lines.append(f"{person},Person {pid},Vej {rng.randint(1, 400)} nr {rng.randint(1, 99)},{code}")
    return "\n".join(lines) + "\n", truth


async def _retry_until(fn, what: str, timeout: float = 90.0, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        result = await fn()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


def _ok(resp: httpx.Response, *expected: int) -> dict:
    if resp.status_code not in (expected or (200, 201)):
        raise RuntimeError(f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}: {resp.text[:300]}")
    return resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}


def draft_text(title: str, i: int) -> tuple[str, str]:
    """A recommendation's text (Markdown) and rationale, as a table might write them."""
    text = (f"{title}.\n\nThe government presents a plan for it within a year, with:\n\n"
            f"- a budget and a timetable\n- who is responsible\n- how progress is measured")
    rationale = (f"Table {i % 6 + 1} heard the experts and the stakeholders and found this one of the changes "
                 "with the largest effect for the money; most of the table supported it from the start.")
    return text, rationale


async def recommendations_workspace(http: httpx.AsyncClient, ses: str, aid: str, titles: list[str],
                                    member_auth: dict, rng: random.Random, t: Tally, progress) -> list[str]:
    """The recommendations phase in sessions' workspace: the tables draft one recommendation each
    (members, with their own logins), members propose amendments that the secretariat accepts or
    rejects, a second table's draft of the same idea is merged into the first (both histories
    kept), members attach minority statements, and the secretariat freezes the final list.
    Returns the final list's draft ids in order."""
    members = sorted(member_auth)
    author = lambda i: member_auth[members[i % len(members)]]  # noqa: E731
    ids = []
    for i, title in enumerate(titles):
        text, rationale = draft_text(title, i)
        ids.append(_ok(await http.post(f"{ses}/assemblies/{aid}/drafts", headers=author(i), json={
            "group": f"Table {i % 6 + 1}", "title": title, "text": text, "rationale": rationale}), 201)["id"])
        progress("drafts", i + 1, len(titles) + 1)
    # A second table drafted the same idea as the second recommendation: merged into it.
    twin = _ok(await http.post(f"{ses}/assemblies/{aid}/drafts", headers=author(7), json={
        "group": "Working group on transport", "title": "Free buses and trains for young people",
        "text": "Young people under 25 travel free on buses and trains.", "rationale": "Habits start young."}), 201)
    progress("drafts", len(titles) + 1, len(titles) + 1)
    t.drafts = len(titles) + 1
    t.amendments = {"accepted": 0, "rejected": 0}
    for i in range(min(6, len(ids))):  # amendments from the floor, decided by the secretariat
        text, _ = draft_text(titles[i], i)
        a = _ok(await http.post(f"{ses}/drafts/{ids[i]}/amendments", headers=author(i + 3), json={
            "text": text + "\n- a yearly public status report", "reason": "So that citizens can follow it."}), 201)
        accept = rng.random() < 0.7
        _ok(await http.post(f"{ses}/amendments/{a['id']}/decision", json={
            "accept": accept, "note": None if accept else "The plan already reports to the Folketing every year."}))
        t.amendments["accepted" if accept else "rejected"] += 1
    if len(ids) > 1:
        d = _ok(await http.get(f"{ses}/drafts/{ids[1]}"))["versions"][-1]
        _ok(await http.post(f"{ses}/drafts/{ids[1]}/merge", json={
            "others": [twin["id"]], "title": d["title"], "rationale": d["rationale"] + " A second table agreed.",
            "text": d["text"] + "\n\nBuses and trains first; the metro when the contracts allow it."}))
    for i, words in ((0, "A minority of the assembly wants a price on emissions across the EU first, so that "
                         "production does not simply move abroad."),
                     (5, "Some members find a tax on flying unfair to people in Bornholm and the small islands.")):
        if i < len(ids):
            _ok(await http.post(f"{ses}/drafts/{ids[i]}/minority-statements", headers=author(i + 11),
                                json={"text": words}), 201)
            t.minority_statements += 1
    final = _ok(await http.post(f"{ses}/assemblies/{aid}/recommendations/finalise", json={"drafts": ids}), 201)
    t.recommendations = final["recommendations"]
    return ids


async def table_plans(http: httpx.AsyncClient, ses: str, aid: str, session_id: str, members: list[str], i: int,
                      t: Tally, *, before: bool) -> None:
    """Tables for each round of a session (docs/tables.md): before the doors open a plan for the whole
    panel (two members need English at the table, one an accessible place, two are kept apart); at
    check-in the plan is made again for the members checked in, and published."""
    if before:
        if i == 0:
            _ok(await http.put(f"{ses}/assemblies/{aid}/table-needs", json={"needs": [
                {"member_id": members[0], "language": "en"}, {"member_id": members[1], "language": "en"},
                {"member_id": members[2], "accessible": True}]}))
        _ok(await http.post(f"{ses}/sessions/{session_id}/table-plan", json={
            "rounds": 3, "table_size": 8, "seat": "roster", "accessible_tables": 2, "seed": i,
            "keep_apart": [[members[3], members[4]]]}), 201)
        return
    plan = _ok(await http.post(f"{ses}/sessions/{session_id}/table-plan", json={
        "rounds": 3, "table_size": 8, "seat": "checked_in", "accessible_tables": 2, "seed": i,
        "keep_apart": [[members[3], members[4]]]}), 201)
    _ok(await http.post(f"{ses}/sessions/{session_id}/table-plan/publish"))
    t.table_plans.append({k: plan[k] for k in ("members", "tables", "repeats", "unique_pairs")}
                         | {"mean_deviation": round(plan["mean_deviation"], 3),
                            "worst_deviation": round(plan["worst_deviation"], 3)})


EXPERTS = [  # who the assembly hears (names invented), with their declarations of interests
    ("expert", "Karen Holm", "Professor of climate economics, Aarhus University", "None."),
    ("expert", "Jonas Madsen", "Senior researcher, DTU Wind and Energy Systems",
     "His department gets research funding from wind turbine makers."),
    ("stakeholder", "Landbrug & Fødevarer", "The farmers' and food industry's association",
     "Speaks for its members, Danish farmers and food companies."),
    ("stakeholder", "Danmarks Naturfredningsforening", "Nature conservation association",
     "Speaks for its members; campaigns for more protected nature."),
]
# per session: (phase, title, minutes, speakers by index into EXPERTS)
AGENDAS = [
    [("learning", "Welcome: the remit and how the assembly works", 45, []),
     ("learning", "What drives Denmark's emissions?", 60, [0]),
     ("learning", "Energy: what the grid can take by 2035", 60, [1]),
     ("values", "What matters to us: fairness between regions and generations", 90, [])],
    [("hearing", "Hearing: farming and food", 75, [2]),
     ("hearing", "Hearing: nature and the coast", 75, [3]),
     ("vision", "Our picture of Denmark in 2040", 90, [])],
    [("recommendations", "Drafting the recommendations at the tables", 180, []),
     ("recommendations", "Amendments and minority statements", 60, []),
     ("voting", "The final vote", 45, [])],
]


async def programme(http: httpx.AsyncClient, ses: str, aid: str, session_id: str, i: int, mode: str,
                    experts: list[str], t: Tally) -> None:
    """The secretariat's programme for session `i` (docs: product.md, journey 5): a venue in each
    region or the online link, the agenda by phase with the experts and stakeholders heard, a
    briefing file and a video link on the first talk, then publishing it (session-scheduled v2)."""
    venues = [{"region": code, "venue": f"{name.removeprefix('Region ')}: the town hall"} for code, name, _ in REGIONS]
    _ok(await http.put(f"{ses}/sessions/{session_id}/setting", json={
        "venues": venues if mode != "digital" else [], "capacity": 80,
        "online_url": f"https://meet.example.org/borgerting-{i + 1}" if mode != "physical" else None}))
    for n, (phase, title, minutes, speakers) in enumerate(AGENDAS[i % len(AGENDAS)]):
        item = _ok(await http.post(f"{ses}/sessions/{session_id}/agenda-items", json={
            "phase": phase, "title": title, "minutes": minutes, "speaker_ids": [experts[x] for x in speakers]}), 201)
        t.programme["items"] += 1
        if i == 0 and n == 1:
            briefing = f"{title}\n\nBriefing for the members: sources of emissions by sector, 1990-2024.\n".encode()
            _ok(await http.post(f"{ses}/agenda-items/{item['id']}/files", data={"kind": "briefing", "title": "Briefing"},
                                files={"file": ("briefing.txt", briefing, "text/plain")}), 201)
            _ok(await http.post(f"{ses}/agenda-items/{item['id']}/documents", json={
                "kind": "video", "title": "The talk, recorded", "url": "https://video.example.org/borgerting/talk-1"}), 201)
            t.programme["documents"] += 2
    _ok(await http.post(f"{ses}/sessions/{session_id}/agenda/publish"))


async def check_in_codes(http: httpx.AsyncClient, ses: str, aid: str, members: list[str],
                         member_auth: dict[str, dict], sem: asyncio.Semaphore) -> dict[str, str]:
    """Each member's personal check-in code, as their portal shows it (under the QR code)."""
    async def one(m):
        async with sem:
            return m, _ok(await http.get(f"{ses}/assemblies/{aid}/my-check-in-code", headers=member_auth[m]))["code"]
    return dict(await asyncio.gather(*(one(m) for m in members)))


async def check_in(http: httpx.AsyncClient, ses: str, session_id: str, *, online: bool, records: list[dict],
                   codes: dict[str, str], member_auth: dict[str, dict], sem: asyncio.Semaphore, t: Tally) -> None:
    """Members arrive: at the venue a facilitator's phone takes each member's personal code (the
    QR code from the portal); online, staff open the check-in and each member checks in from the
    portal. Members who did not come are marked absent on the sheet before the session closes."""
    if online:
        opened = await http.post(f"{ses}/sessions/{session_id}/online-check-in")
        if opened.status_code != 204:
            raise RuntimeError(f"opening the online check-in -> {opened.status_code}: {opened.text[:300]}")

    async def arrive(m):
        async with sem:
            if online:
                r = _ok(await http.post(f"{ses}/sessions/{session_id}/my-check-in", headers=member_auth[m]))
            else:
                r = _ok(await http.post(f"{ses}/sessions/{session_id}/check-ins", json={"code": codes[m]}))
            if r["member_id"] != m or r["already"]:
                raise RuntimeError("a check-in by code found another member")
    here = [r["member_id"] for r in records if r["present"]]
    await asyncio.gather(*(arrive(m) for m in here))
    t.check_ins["online" if online else "code"] += len(here)
    absent = [r for r in records if not r["present"]]
    if absent:
        _ok(await http.post(f"{ses}/sessions/{session_id}/attendance", json={"records": absent}))


async def trial_ballot(http: httpx.AsyncClient, vc: VotingClient, vot: str, aid: str, session_id: str,
                       voters: list[str], member_auth: dict, sem: asyncio.Semaphore, rng: random.Random,
                       t: Tally, progress) -> None:
    """A straw poll during the recommendations phase (a trial ballot): voted like the real one, and
    never part of the assembly's result."""
    async def open_poll():
        r = await http.post(f"{vot}/assemblies/{aid}/ballots", json={
            "title": "Straw poll: which drafts need more work?", "session_id": session_id,
            "recommendations": ["The transport drafts", "The agriculture drafts", "The energy drafts"]})
        return r.json() if r.status_code == 201 else None
    b = await _retry_until(open_poll, "voting to receive the panel")
    assert b["kind"] == "trial", b
    poll = await vc.ballot(b["id"])
    tokens: dict[str, object] = {}

    async def token_for(m):
        async def checked_in():
            r = await http.get(f"{vot}/ballots/{poll.id}/me", headers=member_auth[m])
            return r.status_code == 200 and r.json()["checked_in"]
        async with sem:
            await _retry_until(checked_in, "voting to learn the check-ins")
            tokens[m] = await vc.get_token(poll, headers=member_auth[m])
            progress("straw poll tokens", len(tokens), len(voters))
    await asyncio.gather(*(token_for(m) for m in voters))
    _ok(await http.post(f"{vot}/ballots/{poll.id}/open"))
    order = list(voters)
    rng.shuffle(order)

    async def vote(m):
        async with sem:
            await vc.vote(poll, {q: rng.choice(["yes", "no"]) for q in poll.question_ids}, tokens[m])
            t.trial_votes_cast += 1
    await asyncio.gather(*(vote(m) for m in order))
    _ok(await http.post(f"{vot}/ballots/{poll.id}/close"))


CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
QUESTIONNAIRE = {  # what the secretariat asks, in Danish and English (services/recruitment/domain/questionnaire.py)
    "strata": [{"category": "gender", "label": {"da": "Hvilket køn har du?", "en": "What is your gender?"}},
               {"category": "age", "label": {"da": "Hvor gammel er du?", "en": "How old are you?"}},
               {"category": "education", "label": {"da": "Hvad er din højeste uddannelse?",
                                                   "en": "What is your highest education?"}}],
    "attitudes": [{"key": "trust", "label": {"da": "Hvor meget stoler du på politikerne?",
                                             "en": "How much do you trust politicians?"},
                   "options": [{"value": str(i), "label": {"da": da, "en": en}} for i, (da, en) in enumerate(
                       (("Meget", "A lot"), ("Noget", "Somewhat"), ("Lidt", "A little"), ("Slet ikke", "Not at all")),
                       start=1)]}],
    "needs": ["language", "accessibility", "diet", "childcare"],
    "contact": True,
}


async def register_by_form(rec: str, aid: str, code: str, answers: dict[str, str]) -> None:
    """A citizen registers on the public page, as a browser does: the form in Danish (the
    default), checked to pre-select nothing, then posted with the CSRF token it carries. The
    optional answers (a view, a need, a phone number) follow from the code, so reruns agree."""
    async with httpx.AsyncClient(timeout=60) as browser:
        page = await browser.get(f"{rec}/register", params={"assembly": aid})
        _ok(page)
        if '<html lang="da">' not in page.text or " checked" in page.text:
            raise RuntimeError("the registration page is not in Danish or pre-selects an answer")
        pick = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16)
        form = {"csrf_token": CSRF.search(page.text).group(1), "assembly": aid, "code": code, "consent": "true",
                **{f"q_{c}": v for c, v in answers.items()}}
        if pick % 3:
            form["a_trust"] = str(1 + pick % 4)
        if pick % 10 == 0:
            form["need_diet"] = "Vegetar"
        if pick % 2:
            form["phone"] = f"2{pick % 10_000_000:07d}"
        r = await browser.post(f"{rec}/register", data=form)
        if r.status_code != 201 or "Du er tilmeldt" not in r.text:
            raise RuntimeError(f"the registration page answered {r.status_code}: {r.text[-400:]}")


async def withdraw_by_form(rec: str, code: str) -> None:
    """A volunteer withdraws on the public page with the code of their letter."""
    async with httpx.AsyncClient(timeout=60) as browser:
        page = await browser.get(f"{rec}/withdraw")
        _ok(page)
        r = await browser.post(f"{rec}/withdraw", data={"csrf_token": CSRF.search(page.text).group(1), "code": code,
                                                        "confirm": "true"})
        if r.status_code != 200:
            raise RuntimeError(f"the withdrawal page answered {r.status_code}: {r.text[-400:]}")


def _replies(letters, by_name: dict, rng: random.Random, rate: float) -> list[tuple[str, dict]]:
    """Who of these letters' recipients registers (self-selection by age and education). The letters
    are taken in the order of the recipients' names: the service lists them by letter id, which is
    random, and the same seed must pick the same people."""
    out = []
    for letter in sorted(letters, key=lambda x: x["name"]):
        ans = by_name[letter["name"]]
        w = REPLY_WEIGHT["age"][ans["age"]] * REPLY_WEIGHT["education"][ans["education"]]
        if rng.random() < rate * w:
            out.append((letter["code"], ans))
    return out


async def reminders_and_second_wave(http: httpx.AsyncClient, rec: str, aid: str, registrar: dict, params: Params,
                                    rng: random.Random, by_name: dict, t: Tally, progress, register_more) -> None:
    """After the first letters: a reminder to everyone who has not replied (about a third as many
    reply again), then a targeted second wave aimed at the regions whose pool falls short, printed
    as the print house's PDF and merge CSV (t.letter_files, written to out/letters/). The replies
    register through `register_more`; t.second_wave keeps the pool's gap before and after."""
    progress("reminders and second wave", 0, 2)
    rem = _ok(await http.post(f"{rec}/assemblies/{aid}/reminder-batches", headers=registrar, json={}), 201)
    t.reminders = rem["count"]
    late = _replies(rem["letters"], by_name, rng, params.base_reply_rate * REMINDER_REPLY_SHARE)
    await register_more(late)
    progress("reminders and second wave", 1, 2)
    # The pool factor (registrations wanted per panel seat) whose wave is the largest the demo's
    # print budget allows: the letters grow with the factor, so halve the interval a few times.
    chosen, lo, hi = None, 1.0, 40.0
    for _ in range(10):
        factor = round((lo + hi) / 2, 3)
        plan = _ok(await http.get(f"{rec}/assemblies/{aid}/second-wave", headers=registrar,
                                  params={"pool_factor": factor}))
        if plan["letters"] <= params.print_budget:
            lo = factor
            if plan["letters"] > 0:
                chosen = plan
        else:
            hi = factor
    if chosen is None:
        progress("reminders and second wave", 2, 2)
        return
    r = await http.post(f"{rec}/assemblies/{aid}/second-wave-batches", headers=registrar, timeout=300,
                        json={"pool_factor": chosen["pool_factor"], "seed": params.seed, "letters": "zip"})
    _ok(r, 201)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        t.letter_files = {name: z.read(name) for name in z.namelist()}
    merge = next(data for name, data in t.letter_files.items() if name.endswith(".csv"))
    letters = [{"name": row["name"], "code": row["code"]}
               for row in csv.DictReader(io.StringIO(merge.decode().lstrip("\ufeff")))]
    t.invitations_sent += len(letters)
    t.second_wave = {"pool_factor": chosen["pool_factor"], "letters": len(letters),
                     "gap_before": sum(x["gap"] for x in chosen["rows"])}
    await register_more(_replies(letters, by_name, rng, params.base_reply_rate))

    async def gap_after():  # the registrations reach recruitment's counts at once (same service)
        plan = _ok(await http.get(f"{rec}/assemblies/{aid}/second-wave", headers=registrar,
                                  params={"pool_factor": chosen["pool_factor"]}))
        return sum(x["gap"] for x in plan["rows"])
    t.second_wave["gap_after"] = await gap_after()
    progress("reminders and second wave", 2, 2)


async def run(urls: dict[str, str], params: Params, progress, auth, origin: str | None = None) -> tuple[str, Tally]:
    """Drive one assembly; returns its id and what the driver did. `progress(step, done, total)`.
    `auth.headers(role, assembly_id)` gives staff tokens (the development issuer); members log in
    with the codes of their selection letters, like real members. `origin`: the one origin that
    serves the five services under their prefixes (borgerting/proxy.py, the Ingress in production);
    the report is published through it, so that the addresses it prints (the draw's files, the
    board) are the public ones a reader can fetch."""
    rng = random.Random(params.seed)
    t = Tally()
    limits = httpx.Limits(max_connections=params.concurrency * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        rec, sor, ses, vot, rep = (urls[s] for s in ("recruitment", "sortition", "sessions", "voting", "reporting"))

        def step(name):
            t.seconds[name] = time.monotonic()

        def done(name):
            t.seconds[name] = round(time.monotonic() - t.seconds[name], 2)

        step("recruitment")
        progress("create assembly", 0, 1)
        a = _ok(await http.post(f"{rec}/assemblies", headers=auth.headers("operator"), json={
            "name": "Borgerting om klimaet 2027", "panel_size": params.panel_size,
            "regions": [{"code": c, "name": n, "population": p} for c, n, p in REGIONS],
            "strata": quotas(params.panel_size), **LETTER_DETAILS}))
        aid = a["id"]
        # The organiser runs the assembly; the registrar handles the letters (personal data).
        http.headers.update(auth.headers("organiser", aid))
        registrar = auth.headers("registrar", aid)
        progress("create assembly", 1, 1)

        progress("import register extract", 0, 1)
        csv_text, truth = register_extract(rng, params.register_size)
        _ok(await http.post(f"{rec}/assemblies/{aid}/register-extract", content=csv_text.encode(),
                            headers={"content-type": "text/csv", **registrar}))
        progress("import register extract", 1, 1)

        # The secretariat words the questionnaire (before the letters: then it is fixed).
        t.questionnaire_version = _ok(await http.put(f"{rec}/assemblies/{aid}/questionnaire",
                                                     json=QUESTIONNAIRE))["version"]

        progress("send invitations", 0, 1)
        inv = _ok(await http.post(f"{rec}/assemblies/{aid}/invitation-batches", headers=registrar,
                                  json={"count": params.invitations, "seed": params.seed}))
        t.invitations_sent = inv["count"]
        progress("send invitations", 1, 1)

        # Who replies: the driver knows each person's true answers via the extract's person ids.
        by_name = {f"Person {int(pid)}": ans for pid, ans in truth.items()}
        replies = _replies(inv["letters"], by_name, rng, params.base_reply_rate)
        sem = asyncio.Semaphore(params.concurrency)
        count = 0

        async def register(code, ans):
            nonlocal count
            async with sem:
                await register_by_form(rec, aid, code, ans)
                count += 1
                t.registered_by_form += 1
                progress("registrations", count, len(replies))

        await asyncio.gather(*(register(c, a) for c, a in replies))

        async def register_more(more):
            replies.extend(more)
            await asyncio.gather(*(register(c, a) for c, a in more))

        await reminders_and_second_wave(http, rec, aid, registrar, params, rng, by_name, t, progress, register_more)
        t.registrations = len(replies)
        # A reused code and a mistyped one are refused (and counted towards the rate limit).
        if replies:
            _ok(await http.post(f"{rec}/registrations", json={"code": replies[0][0], "consent": True,
                                                               "answers": replies[0][1]}), 409)
            _ok(await http.post(f"{rec}/registrations", json={"code": "AAAA-BBBB-CCCC-DDDD-EEEE", "consent": True,
                                                               "answers": replies[0][1]}), 404)
            t.refused_codes = 2
        done("recruitment")

        step("sortition")

        async def pool_complete():
            r = await http.get(f"{sor}/assemblies/{aid}/pool")
            return r.status_code == 200 and r.json()["size"] >= t.registrations
        progress("sortition receives the pool", 0, 1)
        await _retry_until(pool_complete, "sortition to receive every registration")
        progress("sortition receives the pool", 1, 1)
        # A verifiable draw: seed contributions committed before the freeze and revealed after it
        # (seeded here, for a reproducible demo), then the draw as a background job.
        contributions = {"organiser": f"demo-organiser-{params.seed}", "ombudsman": f"demo-ombudsman-{params.seed}"}
        for name, value in contributions.items():
            _ok(await http.post(f"{sor}/assemblies/{aid}/seed-commitments",
                                json={"name": name, "commitment": hashlib.sha256(value.encode()).hexdigest()}), 201)
        _ok(await http.post(f"{sor}/assemblies/{aid}/pool/freeze", json={"reserves": params.reserves}), 201)
        # A volunteer withdraws after the freeze, before any seed contribution is revealed: the
        # first reveal fixes them out of the draw (listed in the transcript, part of the seed).
        if replies:
            await withdraw_by_form(rec, replies[-1][0])
            t.withdrawn_by_form = 1
            t.registrations -= 1
            t.withdrawn_before_draw = 1

            async def withdrawal_seen():
                r = await http.get(f"{sor}/assemblies/{aid}/pool")
                return r.status_code == 200 and r.json()["size"] == t.registrations
            await _retry_until(withdrawal_seen, "sortition to receive the withdrawal")
        for name, value in contributions.items():
            _ok(await http.post(f"{sor}/assemblies/{aid}/seed-reveals", json={"name": name, "value": value}))
        job = _ok(await http.post(f"{sor}/assemblies/{aid}/draws", json={}), 202)
        progress("draw the panel", 0, 100)

        async def draw_done():
            j = _ok(await http.get(f"{sor}/draw-jobs/{job['id']}"))
            progress("draw the panel", round(100 * j["progress"]), 100)
            if j["status"] == "failed":
                raise RuntimeError(f"the draw failed: {j['error']}")
            return j["status"] == "succeeded"
        await _retry_until(draw_done, "the draw job", timeout=900, interval=0.5)
        panel = _ok(await http.get(f"{sor}/assemblies/{aid}/panel"))
        members = panel["members"]
        # Anyone can replay the draw from the published transcript and the frozen pool.
        transcript = _ok(await http.get(f"{sor}/assemblies/{aid}/transcript"))
        pool_files = [(await http.get(f"{sor}/assemblies/{aid}/pool/frozen/{f}.csv")).text for f in ("features", "people")]
        inst = parse_peer_format(*pool_files, transcript["k"], id_column="id", address_columns=["household"])
        if verify_transcript(transcript, inst)["selected"] != members:
            raise RuntimeError("the published transcript does not replay to the panel")
        if len(transcript["excluded"]) != t.withdrawn_before_draw:
            raise RuntimeError(f"the draw left out {len(transcript['excluded'])} withdrawn volunteers, "
                               f"expected {t.withdrawn_before_draw}")
        # A drawn volunteer will decline (one whose answers someone off the panel shares, so the
        # pool can replace them): they do it from the portal once they have their letter, below.
        rows = list(csv.DictReader(io.StringIO(pool_files[1])))
        profile = {r["id"]: tuple(v for c, v in r.items() if c not in ("id", "household")) for r in rows}
        unavailable = set(members) | {e["id"] for e in transcript["excluded"]}
        spare = Counter(profile[r["id"]] for r in rows if not r["household"] and r["id"] not in unavailable)
        declines = next((x for x in members if spare[profile[x]] > 0), None)
        if declines is None:
            raise RuntimeError("no panel member has a look-alike left in the pool to replace them")
        # The commitment to the replacement's fresh randomness is published before the drop-out
        # is reported (and is in the draw's transcript); the replacement must reveal its value.
        published = _ok(await http.get(f"{sor}/assemblies/{aid}/replacements/commitment"))
        if published["number"] != 1 or published["commitment"] != transcript.get("replacement_commitment"):
            raise RuntimeError("the replacement randomness commitment is not the one in the draw's transcript")
        t.panel_size = len(members)
        progress("draw the panel", 100, 100)
        done("sortition")

        step("selection letters")
        # Recruitment learns the panel from sortition's event and prints a login code for each
        # member; each member exchanges their code for a member token and answers for their place
        # from the portal: everyone confirms but one, who declines, and that decline alone makes
        # sortition replace them (recruitment's place-declined event; no organiser steps in).
        letters: list[dict] = []
        member_auth: dict[str, dict[str, str]] = {}

        async def letters_and_logins(panel: list[str]) -> list[dict]:
            async def all_letters():  # letters go to active members only
                r = _ok(await http.post(f"{rec}/assemblies/{aid}/member-letters", headers=registrar), 201)
                letters.extend(r["letters"])
                return set(panel) <= {x["member_id"] for x in letters}
            await _retry_until(all_letters, "recruitment to receive the panel")
            new = [x for x in letters if x["member_id"] in set(panel) and x["member_id"] not in member_auth]

            async def login(letter):
                async with sem:
                    tok = _ok(await http.post(f"{rec}/member-login", json={"code": letter["code"]}))
                    member_auth[tok["member_id"]] = {"authorization": f"Bearer {tok['access_token']}"}
                    progress("member logins", len(member_auth), len(panel))
            await asyncio.gather(*(login(x) for x in new))
            return new

        async def answer(m, value):
            async with sem:
                _ok(await http.post(f"{rec}/assemblies/{aid}/my-place", headers=member_auth[m], json={"answer": value}))

        progress("selection letters", 0, 1)
        first = await letters_and_logins(members)
        t.member_code = next((x["code"] for x in first if x["member_id"] != declines), "")
        await asyncio.gather(*(answer(m, "declined" if m == declines else "confirmed") for m in members))
        progress("selection letters", 1, 1)
        progress("replace the member who declined", 0, 1)

        async def replaced():
            panel = _ok(await http.get(f"{sor}/assemblies/{aid}/panel"))
            return panel["members"] if declines not in panel["members"] else None
        members = await _retry_until(replaced, "sortition to replace the member who declined", timeout=300, interval=0.5)
        chain = (await http.get(f"{sor}/assemblies/{aid}/replacements/transcripts")).json()
        verify_replacements(chain, inst, draw=transcript, first_commitment=published["commitment"])
        forged = {**chain[0], "randomness": {"commitment": commitment("0" * 64), "value": "0" * 64}}
        try:  # randomness other than the committed value must fail the replay
            verify_replacements([forged], inst, first_commitment=published["commitment"])
            raise RuntimeError("a replacement with randomness under another commitment passed verification")
        except VerificationError:
            pass
        if chain[-1]["panel_after"] != members or declines in members:
            raise RuntimeError("the replacement transcripts do not replay to the panel")
        t.replacements = len(chain)
        t.panel_size = len(members)
        newcomers = await letters_and_logins(members)  # the replacement's letter, login and answer
        await asyncio.gather(*(answer(x["member_id"], "confirmed") for x in newcomers))
        member_auth.pop(declines, None)
        if set(member_auth) != set(members):
            raise RuntimeError("not every member of the panel logged in as themselves")
        t.places = {"confirmed": len(members), "declined": 1}
        progress("replace the member who declined", 1, 1)
        done("selection letters")

        step("sessions")

        async def roster_complete():
            r = await http.get(f"{ses}/assemblies/{aid}/roster")
            return r.status_code == 200 and set(r.json()["members"]) == set(members)
        await _retry_until(roster_complete, "sessions to receive the panel")
        codes = await check_in_codes(http, ses, aid, members, member_auth, sem)
        start = datetime(2027, 3, 6, 9, tzinfo=timezone.utc)
        phases = ["learning", "hearing", "values", "vision", "recommendations", "voting"]
        present_last: list[str] = []
        experts = []  # the programme's experts and stakeholders; a member asks for one more witness
        for kind, name, affiliation, interests in EXPERTS:
            experts.append(_ok(await http.post(f"{ses}/assemblies/{aid}/experts", json={
                "kind": kind, "name": name, "affiliation": affiliation, "interests": interests}), 201)["id"])
            t.programme[kind + "s"] += 1
        rate = LETTER_DETAILS["stipend_ore"]  # the letters' stipend per session day, in øre
        _ok(await http.put(f"{rec}/assemblies/{aid}/stipends/rates", json={
            "session_ore": rate, "travel_cap_ore": 50_000, "childcare_cap_ore": 60_000}))
        attendance: list[dict[str, bool]] = []
        for i in range(params.sessions):
            progress("sessions", i, params.sessions)
            s = _ok(await http.post(f"{ses}/assemblies/{aid}/sessions", json={
                "title": f"Session {i + 1}: {phases[min(i, len(phases) - 1)]}",
                "starts_at": (start + timedelta(days=14 * i)).isoformat(),
                "mode": "digital" if i % 3 == 1 else "physical",
                "phase": phases[min(i, len(phases) - 1)], "duration_hours": 7.5}), 201)
            await programme(http, ses, aid, s["id"], i, "digital" if i % 3 == 1 else "physical", experts, t)
            if i == 0:
                wanted = _ok(await http.post(f"{ses}/assemblies/{aid}/witness-requests", headers=member_auth[members[0]],
                                             json={"wanted": "A fisher from the west coast", "session_id": s["id"],
                                                   "reason": "We have heard no one whose living depends on the sea."}),
                             201)
                _ok(await http.post(f"{ses}/witness-requests/{wanted['id']}/answer", json={
                    "status": "accepted", "answer": "Invited to the hearing at the next session."}))
                t.programme["witness_requests"] += 1
            if i == 0 or (i == params.sessions // 2 and params.sessions > 1):
                await member_survey(http, rep, aid, "start" if i == 0 else "middle", members, member_auth, sem, t,
                                    progress, params.seed)
            records = [{"member_id": m, "present": rng.random() < params.attendance} for m in members]
            await table_plans(http, ses, aid, s["id"], members, i, t, before=True)
            await check_in(http, ses, s["id"], online=i % 3 == 1, records=records, codes=codes,
                           member_auth=member_auth, sem=sem, t=t)
            await table_plans(http, ses, aid, s["id"], members, i, t, before=False)
            _ok(await http.post(f"{ses}/sessions/{s['id']}/held"))
            t.sessions_held += 1
            t.present_per_session.append(sum(1 for r in records if r["present"]))
            phase = phases[min(i, len(phases) - 1)]
            t.hours_learning += 7.5 if phase in ("learning", "hearing") else 0.0
            t.hours_deliberation += 7.5 if phase in ("values", "vision", "recommendations") else 0.0
            present_last = [r["member_id"] for r in records if r["present"]]
            attendance.append({r["member_id"]: r["present"] for r in records})
        rule_view = _ok(await http.get(f"{ses}/assemblies/{aid}/attendance"))
        t.dropouts = {"rule": rule_view["missed_in_a_row"], "dropouts": len(rule_view["dropouts"]),
                      "at_risk": len(rule_view["at_risk"])}
        progress("sessions", params.sessions, params.sessions)
        t.programme_heard = [t.programme["experts"], t.programme["stakeholders"], t.programme["items"]]
        done("sessions")

        step("stipends")
        await stipends(http, rec, aid, auth, rate, attendance, {m: member_auth[m] for m in members}, t, progress)
        done("stipends")

        step("recommendations")
        recs = RECOMMENDATIONS[: params.recommendations]
        await recommendations_workspace(http, ses, aid, recs, {m: member_auth[m] for m in members}, rng, t,
                                        progress)
        done("recommendations")

        step("voting")
        # Secret ballot: each member present at the final session gets one blind-signed token
        # (blinded and unblinded here, on the member's side, by the Python client); the organiser
        # then opens voting (no more tokens), and each votes anonymously with the token; the
        # receipt finds the vote on the public board after close. A straw poll goes first: a
        # trial ballot, which the report must leave out of the results.
        async with httpx.AsyncClient(timeout=60, limits=limits) as anon:
            vc = VotingClient(http, vot, anonymous=anon)
            await trial_ballot(http, vc, vot, aid, s["id"], present_last, member_auth, sem, rng, t, progress)

            async def open_ballot():  # from the finalised list, once voting has heard of it
                r = await http.post(f"{vot}/assemblies/{aid}/final-ballot", json={
                    "title": "Final vote on the recommendations", "threshold": params.threshold,
                    "session_id": s["id"]})  # check-in at the final session
                return r.json() if r.status_code == 201 else None
            ballot = await vc.ballot((await _retry_until(open_ballot, "voting to receive the final list"))["id"])
            t.final_ballot_id = ballot.id
            support = {qid: rng.uniform(0.45, 0.98) for qid in ballot.question_ids}
            choices: dict[str, dict] = {}
            for m in present_last:  # members at the final session vote
                choices[m] = {}
                for qid in ballot.question_ids:
                    x = rng.random()
                    choices[m][qid] = "yes" if x < support[qid] else ("abstain" if x < support[qid] + 0.03 else "no")

            async def token_for(m):
                async def checked_in():  # voting learns check-ins from sessions' attendance events
                    r = await http.get(f"{vot}/ballots/{ballot.id}/me", headers=member_auth[m])
                    return r.status_code == 200 and r.json()["checked_in"]
                async with sem:
                    await _retry_until(checked_in, "voting to learn the check-ins")
                    tokens[m] = await vc.get_token(ballot, headers=member_auth[m])
                    progress("voting tokens", len(tokens), len(present_last))

            tokens: dict[str, object] = {}
            await asyncio.gather(*(token_for(m) for m in present_last))  # in bulk, at check-in
            refused = 0
            for m in [x for x in members if x not in choices][:1]:  # absent: no token
                try:
                    await vc.get_token(ballot, headers=member_auth[m])
                except VotingClientError as exc:
                    refused += exc.code == "not_checked_in"
            if present_last:  # a second token for the same member is refused
                try:
                    await vc.get_token(ballot, headers=member_auth[present_last[0]])
                except VotingClientError as exc:
                    refused += exc.code == "token_already_issued"
            # Opening voting ends the issuing: every token is issued before any vote is taken, so
            # the database cannot link who got a token to a vote (docs/voting.md).
            _ok(await http.post(f"{vot}/ballots/{ballot.id}/open"))
            receipts: list[dict] = []
            order = list(present_last)
            rng.shuffle(order)  # votes come later and in another order than the tokens

            async def vote(m):
                async with sem:
                    receipts.append(await vc.vote(ballot, choices[m], tokens[m]))
                    progress("votes", len(receipts), len(order))

            await asyncio.gather(*(vote(m) for m in order))
            t.votes_cast = len(receipts)
            if order:  # a token used twice is refused
                r = await anon.post(f"{vot}/ballots/{ballot.id}/votes",
                                    json={"choices": choices[order[0]], "token": tokens[order[0]].to_dict()})
                refused += r.status_code == 409
            _ok(await http.get(f"{vot}/ballots/{ballot.id}/results"), 403)  # hidden while open, organisers included
            results = _ok(await http.post(f"{vot}/ballots/{ballot.id}/close"))
            t.recommendations_passed = sum(1 for q in results["questions"].values() if q.get("passed") is True)
            t.adopted = [(ballot.id, qid) for qid in ballot.question_ids if results["questions"][qid].get("passed") is True]
            for rc in receipts:  # every voter finds their vote on the board
                entry = await vc.find(ballot, rc)
                if entry["choices_hidden"] or entry["token_hash"] != rc["token_hash"]:
                    raise RuntimeError(f"receipt {rc['receipt']} does not find its vote on the board")
            t.voting_refusals = refused
            t.votes_per_recommendation = [[sum(1 for c in choices.values() if c[qid] == x) for x in ("yes", "no", "abstain")]
                                          for qid in ballot.question_ids]
            t.board = _ok(await http.get(f"{vot}/assemblies/{aid}/board/export"))
        done("voting")
        step("evaluation")
        await member_survey(http, rep, aid, "end", members, member_auth, sem, t, progress, params.seed)
        done("evaluation")

        step("reporting")

        async def reported():
            r = await http.get(f"{rep}/assemblies/{aid}/summary")
            if r.status_code != 200:
                return None
            s = r.json()
            ready = (s["votes_cast"] == t.votes_cast and s["sessions_held"] == t.sessions_held
                     and s["trial_votes_cast"] == t.trial_votes_cast and s["final_list"] is not None
                     and s["recommendations_tallied"] == len(recs) and s["registrations"] == t.registrations
                     and s["panel_size"] == t.panel_size and s["anchors"]["board"] is not None
                     and s["programme"]["agenda_items"] == t.programme["items"]
                     and {"recruitment", "sortition", "sessions", "voting"} <= set(s["anchors"]["audit_heads"]))
            return s if ready else None
        progress("reporting catches up", 0, 1)
        await _retry_until(reported, "reporting to count every event", timeout=120)
        progress("reporting catches up", 1, 1)
        done("reporting")
        step("handover")
        t.report = await publish_report(http, f"{origin}/reporting" if origin else rep, aid, progress)
        await record_responses(http, rep, aid, t, progress)
        done("handover")
    return aid, t


SURVEY_TEXTS = ["More time at the tables", "The experts' talks", "Meeting people I would never have met",
                "Clearer documents before the sessions", "Shorter days"]


async def member_survey(http: httpx.AsyncClient, rep: str, aid: str, stage: str, members: list[str],
                        member_auth: dict, sem: asyncio.Semaphore, t: Tally, progress, seed: int) -> None:
    """The secretariat opens a stage's evaluation survey; about nine in ten members answer it in
    the portal (anonymously, skipping a question now and then), a second answer is refused, and
    the survey is closed. The driver keeps the figures the evaluation pack must show."""
    # its own stream (the rest of the demo draws as before), from the demo's seed: not the assembly's
    # id, which is new on every run
    srng = random.Random(f"survey-{seed}-{stage}")
    _ok(await http.post(f"{rep}/assemblies/{aid}/surveys/{stage}/open"))
    answering = [m for m in members if srng.random() < 0.9]
    answers: dict[str, dict] = {}
    for m in answering:
        a: dict = {}
        for q in SURVEY_QUESTIONS[stage]:
            if q.kind == "likert" and srng.random() < 0.95:
                a[q.id] = srng.choices((1, 2, 3, 4, 5), weights=(4, 8, 15, 43, 30))[0]
            elif q.kind == "open" and srng.random() < 0.3:
                a[q.id] = srng.choice(SURVEY_TEXTS)
        answers[m] = a
    done: list[str] = []

    async def answer(m):
        async with sem:
            async def kept():  # reporting learns the panel (and its replacements) from sortition's events
                r = await http.post(f"{rep}/assemblies/{aid}/surveys/{stage}/answers", json={"answers": answers[m]},
                                    headers=member_auth[m])
                if r.status_code not in (201, 403):
                    _ok(r, 201)
                return r.status_code == 201
            await _retry_until(kept, "reporting to know the panel's members")
            done.append(m)
            progress(f"{stage} survey", len(done), len(answering))

    await asyncio.gather(*(answer(m) for m in answering))
    if answering:  # once only
        _ok(await http.post(f"{rep}/assemblies/{aid}/surveys/{stage}/answers", json={"answers": {}},
                            headers=member_auth[answering[0]]), 409)
    _ok(await http.post(f"{rep}/assemblies/{aid}/surveys/{stage}/close"))
    t.survey_respondents[stage] = len(answering)
    if stage == "end":
        for key, qid in (("fair_agree", "fair"), ("speak_agree", "speak")):
            given = [a[qid] for a in answers.values() if qid in a]
            setattr(t, key, round(sum(1 for x in given if x >= 4) / len(given), 5) if len(given) >= 5 else None)


RECEIPT = b"%PDF-1.4\n% Rejsekort: Aarhus H - Koebenhavn H, 123,50 kr.\n%%EOF\n"  # a bus ticket's PDF


async def stipends(http: httpx.AsyncClient, rec: str, aid: str, auth, rate: int, attendance: list[dict[str, bool]],
                   member_auth: dict[str, dict], t: Tally, progress) -> None:
    """After the sessions: recruitment's ledger (from sessions' attendance events) pays each member
    the rate for every session they were present at and nothing for an absence; one member's travel
    claim is approved by two different registrars (the same one twice is refused); the registrar's
    payment export pays exactly the ledger, once; the member's statement shows it paid."""
    progress("stipends", 0, 1)
    registrar = auth.headers("registrar", aid, subject="registrar-anna")
    second = auth.headers("registrar", aid, subject="registrar-bo")
    held = len(attendance)

    async def ledger_complete():  # the attendance events have all reached recruitment
        r = _ok(await http.get(f"{rec}/assemblies/{aid}/stipends"))
        return r if r["sessions_held"] == held and not r["incomplete"] else None
    book = await _retry_until(ledger_complete, "recruitment to receive every session's attendance", timeout=120)
    by = {x["member_id"]: x for x in book["ledgers"]}
    for m in member_auth:  # each session: the rate to the present, 0 to the absent
        lines = [x for x in by[m]["lines"] if x["kind"] == "session"]
        want = [("present", rate) if a.get(m) else ("absent", 0) for a in attendance]
        if [(x["status"], x["amount_ore"]) for x in lines] != want:
            raise RuntimeError(f"the stipend ledger of member {m[:8]} is not what they attended: {lines} != {want}")
    present = {m: sum(1 for a in attendance if a.get(m)) for m in member_auth}
    claimant = next(m for m in member_auth if attendance[0].get(m))
    session_id = by[claimant]["lines"][0]["session_id"]
    claim = _ok(await http.post(f"{rec}/assemblies/{aid}/my-claims", headers=member_auth[claimant], json={
        "session_id": session_id, "kind": "travel", "amount_ore": 12_350,
        "receipt_base64": base64.b64encode(RECEIPT).decode()}), 201)
    _ok(await http.post(f"{rec}/claims/{claim['id']}/approve", headers=registrar))
    _ok(await http.post(f"{rec}/claims/{claim['id']}/approve", headers=registrar), 409)  # four eyes
    if _ok(await http.post(f"{rec}/claims/{claim['id']}/approve", headers=second))["status"] != "approved":
        raise RuntimeError("a claim approved by two different registrars is not approved")
    r = await http.post(f"{rec}/assemblies/{aid}/stipends/payments", headers=registrar)
    if r.status_code != 201:
        raise RuntimeError(f"the payment export failed: {r.status_code} {r.text[:300]}")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    paid = sum(int(x["amount_ore"]) for x in rows)
    expected = rate * sum(present.values()) + 12_350
    payees = sum(1 for n in present.values() if n)
    if paid != expected or len(rows) != payees or any(not x["person_ref"] for x in rows):
        raise RuntimeError(f"the payment file pays {paid} øre to {len(rows)} payees; the attendance says "
                           f"{expected} øre to {payees}")
    if (await http.post(f"{rec}/assemblies/{aid}/stipends/payments", headers=registrar)).status_code != 409:
        raise RuntimeError("a second payment export paid something again")
    statement = _ok(await http.get(f"{rec}/assemblies/{aid}/my-stipend", headers=member_auth[claimant]))
    if statement["due_ore"] != 0 or statement["paid_ore"] != rate * present[claimant] + 12_350:
        raise RuntimeError(f"the member's statement does not show the payment: {statement}")
    t.stipends = {"rate_ore": rate, "sessions_held": held, "payees": len(rows), "paid_ore": paid,
                  "sessions_paid": sum(present.values()), "absences_unpaid": held * len(present) - sum(present.values()),
                  "never_present": len(present) - payees, "claims_ore": 12_350}
    progress("stipends", 1, 1)


async def publish_report(http: httpx.AsyncClient, rep: str, aid: str, progress) -> dict:
    """The secretariat publishes the handover report (version 1: Danish and English, web page and
    PDF); anyone then fetches each document without a token and checks it against its sha256."""
    progress("publish the report", 0, 1)
    published = _ok(await http.post(f"{rep}/assemblies/{aid}/report/publish", timeout=300), 201)
    async with httpx.AsyncClient(timeout=60) as anyone:
        for name, digest in published["sha256"].items():
            body = (await anyone.get(f"{rep}/assemblies/{aid}/report/versions/{published['version']}/{name}")).content
            if hashlib.sha256(body).hexdigest() != digest:
                raise RuntimeError(f"the published {name} does not match its sha256")
    progress("publish the report", 1, 1)
    return published


# The authority's answers in the months after the handover (three of the adopted recommendations).
RESPONSES = [
    {"response": "accepted", "implementation": "in_progress", "answered_on": "2027-06-15", "deadline": "2028-06-30",
     "responsible_body": "Ministry of Climate, Energy and Utilities",
     "reasoning": "The government accepts the recommendation and includes it in the climate plan for 2028.",
     "links": ["https://www.kefm.dk/klima"]},
    {"response": "partly", "implementation": "not_started", "answered_on": "2027-06-15", "deadline": "2028-12-31",
     "responsible_body": "Ministry of Taxation",
     "reasoning": "The government will carry out the recommendation in part, at a lower rate than proposed.",
     "links": []},
    {"response": "rejected", "answered_on": "2027-06-15", "responsible_body": "Ministry of Transport",
     "reasoning": "The government does not follow the recommendation: the cost is too high within the budget.",
     "links": []},
]


async def record_responses(http: httpx.AsyncClient, rep: str, aid: str, t: Tally, progress) -> None:
    """The secretariat records the authority's response to three adopted recommendations; anyone
    reads them on the public follow-up page."""
    chosen = list(zip(t.adopted, RESPONSES))
    for i, ((ballot_id, qid), answer) in enumerate(chosen):
        progress("record the authority's responses", i, len(chosen))
        _ok(await http.post(f"{rep}/assemblies/{aid}/responses", json={
            "ballot_id": str(ballot_id), "question_id": qid, **answer}), 201)
        t.responses_recorded += 1
    t.recommendations_answered = len(chosen)
    # due 90 days (BORGERTING_REPORT_RESPONSE_DAYS) after the handover: the last session, as the
    # demo's sessions lie after the day the report is published
    last_session = datetime(2027, 3, 6, tzinfo=timezone.utc) + timedelta(days=14 * (t.sessions_held - 1))
    due = (max(last_session.date(), datetime.now(timezone.utc).date()) + timedelta(days=90)).isoformat()
    t.answered_by_due = sum(1 for _, a in chosen if a["response"] != "under_consideration" and a["answered_on"] <= due)
    async with httpx.AsyncClient(timeout=60) as anyone:
        page = await anyone.get(f"{rep}/assemblies/{aid}/followup?lang=en")
        if page.status_code != 200 or any(a["reasoning"] not in page.text for _, a in chosen):
            raise RuntimeError("the public follow-up page does not show the recorded responses")
    progress("record the authority's responses", len(chosen), len(chosen))
