"""How long publishing the handover report takes for an assembly of a given size (issue 14: the
console's ingress gives a request 60 s, ingress-nginx's default proxy-read-timeout).

Builds an assembly's summary with the pure `summarise()` from made-up read-model rows (regions,
strata, registrations, a panel, sessions with agendas and speakers, a final ballot with every
recommendation in full, its rationale and minority statements, audit heads), then times
`render_documents()` — the Danish and English HTML and PDF, exactly what `POST .../report/publish`
renders inside its request (the database writes around it take milliseconds), and the process's
peak memory.

    .venv/bin/python benchmarks/publish.py [--recommendations 40] [--sessions 12] [--panel 150] [--regions 11]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace as Row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.reporting.domain.disclosure import public_figures  # noqa: E402
from services.reporting.domain.summary import summarise  # noqa: E402
from services.reporting.views.report import render_documents  # noqa: E402

WORDS = ("the municipality should fund local climate councils and give every citizen access to clean public "
         "transport within ten minutes of their home while farmers receive support for the transition").split()


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def large_summary(rng: random.Random, *, recommendations: int, sessions: int, panel: int, regions: int) -> dict:
    region_codes = [f"DK{i:02d}" for i in range(1, regions + 1)]
    strata = [{"category": "gender", "quotas": [{"value": v, "min": panel // 2 - 2, "max": panel // 2 + 2}
                                                for v in ("female", "male")]},
              {"category": "age", "quotas": [{"value": v, "min": panel // 5, "max": panel // 3}
                                             for v in ("18-29", "30-44", "45-59", "60-74", "75+")]},
              {"category": "education", "quotas": [{"value": v, "min": panel // 4, "max": panel // 2}
                                                   for v in ("basic", "vocational", "higher")]},
              {"category": "region", "quotas": [{"value": c, "min": panel // regions - 1, "max": panel // regions + 3}
                                                for c in region_codes]}]
    assembly = Row(id=uuid.uuid4(), name="Borgertinget om klima 2027", panel_size=panel,
                   regions=[{"code": c, "name": f"Region {c}", "population": rng.randint(200_000, 1_900_000)}
                            for c in region_codes], strata=strata)
    people = []
    for _ in range(panel * 12):
        region = rng.choice(region_codes)
        people.append(Row(respondent_id=uuid.uuid4(), region=region, features={
            "gender": rng.choice(("female", "male")), "age": rng.choice(("18-29", "30-44", "45-59", "60-74", "75+")),
            "education": rng.choice(("basic", "vocational", "higher")), "region": region}))
    members = {p.respondent_id for p in people[:panel]}
    start = datetime(2027, 3, 6, 8, tzinfo=timezone.utc)
    phases = ("learning", "hearing", "values", "vision", "recommendations", "voting")
    sess = [{"session_id": uuid.uuid4(), "title": f"Weekend {i + 1}", "phase": phases[i * len(phases) // sessions],
             "mode": "physical", "starts_at": start + timedelta(days=14 * i), "duration_hours": 7.5, "held": True,
             "present": panel - rng.randint(0, 8), "absent": rng.randint(0, 8),
             "agenda": [{"phase": phases[i * len(phases) // sessions], "title": text(rng, 6), "minutes": 45,
                         "speakers": [{"expert_id": str(uuid.uuid4()), "name": f"Expert {i}-{j}",
                                       "affiliation": "University", "kind": rng.choice(("expert", "stakeholder"))}]}
                        for j in range(6)]} for i in range(sessions)]
    list_id = uuid.uuid4()
    final, questions = [], []
    for i in range(recommendations):
        rid = uuid.uuid4()
        final.append(Row(list_id=list_id, recommendation_id=rid, finalised_at=start + timedelta(days=200),
                         position=i + 1, title=text(rng, 8), version=rng.randint(1, 4), text=text(rng, 180),
                         text_sha256="ab" * 32, rationale=text(rng, 120),
                         minority_statements=[{"statement_id": str(uuid.uuid4()), "text": text(rng, 60)}
                                              for _ in range(rng.randint(0, 2))]))
        yes = rng.randint(panel // 3, panel - 5)
        no = rng.randint(0, panel - yes - 2)
        questions.append(Row(ballot="Final vote", question_id=f"r{i + 1}", text=final[-1].title, type="yes_no_abstain",
                             recommendation=True, threshold=">= 7/10 of valid_votes", support=yes, base=yes + no,
                             counts={"yes": yes, "no": no, "abstain": panel - 2 - yes - no}, passed=yes >= 0.7 * (yes + no),
                             outcome=None, ballots_cast=panel - 2, members=panel, recommendation_id=rid, list_id=list_id))
    batches = [Row(count=sum(n.values()), per_region=n) for n in
               ({c: rng.randint(800, 3000) for c in region_codes} for _ in range(3))]
    s = summarise(assembly, batches=batches, respondents=people, members=members,
                  panel=Row(algorithm="leximin", pool_size=len(people), min_probability=0.0012, transcript_hash="cd" * 32),
                  sessions=sess, questions=questions, votes_cast=panel - 2, final_list=final)
    s["anchors"] = {"audit_heads": {svc: {"seq": rng.randint(100, 5000), "hash": "ef" * 32}
                                    for svc in ("recruitment", "sortition", "sessions", "voting", "reporting")},
                    "board": {"board_id": f"assembly-{assembly.id}", "board_key_fingerprint": "12" * 32}}
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recommendations", type=int, default=40)
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--panel", type=int, default=150)
    ap.add_argument("--regions", type=int, default=11)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    s = public_figures(large_summary(random.Random(args.seed), recommendations=args.recommendations,
                                     sessions=args.sessions, panel=args.panel, regions=args.regions), 5)
    base = "https://borgerting.example.org"
    links = {"draw": f"{base}/sortition/draw", "board": f"{base}/voting/board.json", "versions": f"{base}/versions",
             "followup": f"{base}/followup",
             "audit": {svc: f"{base}/{svc}/audit" for svc in ("recruitment", "sortition", "sessions", "voting", "reporting")}}
    render_documents(public_figures(large_summary(random.Random(0), recommendations=2, sessions=1, panel=20,
                                                  regions=2), 5), min_group=5, links=links, number=1,
                     corrects=None, note="", changes=[])  # warm-up: fonts, Pango, templates
    t0, c0 = time.monotonic(), time.process_time()
    docs = render_documents(s, min_group=5, links=links, number=2, corrects=1, note="", changes=[])
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    print(f"assembly          {args.recommendations} recommendations, {args.sessions} sessions, panel {args.panel}, "
          f"{args.regions} regions")
    print("documents         " + ", ".join(f"{k} {len(v) / 1024:.0f} KiB" for k, v in sorted(docs.items())))
    print(f"render (4 docs)   {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"peak RSS          {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (the api pod's limit: 512 MiB)")
    print(f"load average      {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
