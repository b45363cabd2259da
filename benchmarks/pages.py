"""Page speed of the console and the member portal on the demo's data: each page fetched N times
one after another through the one origin (`make demo KEEP=1` prints it), signed in as the role the
page needs (staff through the development issuer's OIDC flow, a member with a letter's code).
Prints p50, p95 and max per page in milliseconds, as the browser waits for them (proxy included,
so an upper bound of the services' own time). The issue's bar: p95 < 200 ms.

    .venv/bin/python benchmarks/pages.py --origin http://127.0.0.1:PORT --assembly ID --member-code CODE [-n 50]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from urllib.parse import urlsplit

import httpx


def csrf(html: str, name: str = "csrf_token") -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


def staff(origin: str, assembly: str, role: str = "organiser") -> httpx.Client:
    c = httpx.Client(base_url=origin, timeout=30)
    r = c.get("/reporting/auth/login")
    authorize = r.headers["location"]
    page = c.get(authorize)
    q = dict(x.split("=", 1) for x in urlsplit(authorize).query.split("&"))
    from urllib.parse import unquote

    form = {k: unquote(v) for k, v in q.items() if k in ("client_id", "redirect_uri", "state", "nonce", "code_challenge")}
    issuer = authorize.split("/authorize")[0]
    back = c.post(issuer + "/authorize", data={**form, "csrf": csrf(page.text, "csrf"), "role": role,
                                               "assembly_id": assembly})
    r = c.get(back.headers["location"])
    assert r.status_code == 303 and "borgerting_session" in c.cookies, r.text[:300]
    return c


def member(origin: str, code: str) -> httpx.Client:
    c = httpx.Client(base_url=origin, timeout=30)
    page = c.get("/recruitment/member/signin")
    r = c.post("/recruitment/member/signin", data={"csrf_token": csrf(page.text), "code": code})
    assert r.status_code == 303, r.text[:300]
    return c


def measure(client: httpx.Client, path: str, n: int) -> list[float]:
    client.get(path)  # warm
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, f"{path}: {r.status_code}"
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--origin", required=True)
    ap.add_argument("--assembly", required=True)
    ap.add_argument("--member-code", required=True)
    ap.add_argument("-n", type=int, default=50)
    a = ap.parse_args()
    org, mem, anon = staff(a.origin, a.assembly), member(a.origin, a.member_code), httpx.Client(base_url=a.origin)
    pages = [("console home (staff)", org, "/reporting/"),
             ("dashboard (staff)", org, f"/reporting/assemblies/{a.assembly}/dashboard"),
             ("registration (public)", anon, f"/recruitment/register?assembly={a.assembly}"),
             ("member sign-in (public)", anon, "/recruitment/member/signin"),
             ("member portal (member)", mem, f"/reporting/assemblies/{a.assembly}/portal")]
    # recruitment's and sessions' staff screens
    reg, fac = staff(a.origin, a.assembly, "registrar"), staff(a.origin, a.assembly, "facilitator")
    calendar = f"/sessions/assemblies/{a.assembly}/calendar"
    session = re.search(r"/sessions/([0-9a-f-]{36})/check-in", org.get(calendar).text)
    pages += [("recruitment (staff)", org, f"/recruitment/assemblies/{a.assembly}/recruitment"),
              ("invitations (staff)", org, f"/recruitment/assemblies/{a.assembly}/invitations"),
              ("replies vs quotas (staff)", org, f"/recruitment/assemblies/{a.assembly}/replies"),
              ("replies CSV (staff)", org, f"/recruitment/assemblies/{a.assembly}/replies.csv"),
              ("letters (registrar)", reg, f"/recruitment/assemblies/{a.assembly}/letters"),
              ("sessions calendar (staff)", org, calendar)]
    if session:  # a session not yet closed
        pages.append(("attendance sheet (facil.)", fac, f"/sessions/sessions/{session.group(1)}/check-in"))
    # the draw's, voting's and the report's screens (the demo has drawn, voted, closed and published)
    draw, vote = f"/sortition/assemblies/{a.assembly}/draw", f"/voting/assemblies/{a.assembly}/voting"
    job = re.search(r"/draw/jobs/([0-9a-f-]{36})", org.get(draw).text).group(1)
    ballot = re.search(r"/voting/ballots/([0-9a-f-]{36})", org.get(vote).text).group(1)
    pages += [("the draw (staff)", org, draw), ("draw job (staff)", org, f"{draw}/jobs/{job}"),
              ("panel (staff)", org, f"{draw}/panel"), ("fairness (public)", anon, f"{draw}/fairness"),
              ("replacements (staff)", org, f"{draw}/replacements"), ("ballots (staff)", org, vote),
              ("a closed ballot (staff)", org, f"{vote}/ballots/{ballot}"),
              ("the ballot (member)", mem, f"/voting/ballots/{ballot}/page"), ("board (public)", anon, f"{vote}/board"),
              ("report (staff)", org, f"/reporting/assemblies/{a.assembly}/report"),
              ("published report (public)", anon, f"/reporting/assemblies/{a.assembly}/report/published")]
    print(f"{'page':<26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   (n={a.n} each, sequential, through the proxy)")
    for name, client, path in pages:
        t = sorted(measure(client, path, a.n))
        p95 = t[min(len(t) - 1, int(round(0.95 * len(t))) - 1)]
        print(f"{name:<26} {statistics.median(t):8.1f} {p95:8.1f} {t[-1]:8.1f}")


if __name__ == "__main__":
    main()
