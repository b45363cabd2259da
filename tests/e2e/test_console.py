"""The console and the member portal in headless Chromium, behind the one origin (the demo's
proxy) with the five services as processes: a citizen registers in Danish on a 390 px phone, staff
sign in through the OpenID Connect flow at the development issuer and see the dashboard, a drawn
member signs in with the letter's code and sees the portal. Every page visited is checked with
axe-core (from npm): no violation of serious or critical impact; and at 320 px and 390 px no page
scrolls sideways. Then every GET page that the five services declare (their OpenAPI documents,
`x-borgerting-policy` with `page`) is opened as a role it admits and checked the same way. One
browser for the whole module. The journey's screenshots go to out/screens/."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
AXE = ROOT / "shared" / "ui" / "static" / "vendor" / "axe" / "axe.min.js"
SCREENS = ROOT / "out" / "screens"


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("chromium and chromedriver are not installed (make test installs them as root; "
                    "elsewhere: apt-get install chromium chromium-driver)")
    assert AXE.exists(), "make assets installs axe-core from npm"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=da",
                "--window-size=1280,900", "--hide-scrollbars"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_script_timeout(60)
    yield drv
    drv.quit()


# The innermost elements that stick out past the screen's right edge (outside scrolling regions).
WIDEST = """
const px = arguments[0], out = [];
for (const el of document.querySelectorAll('body *')) {
  const region = el.parentElement && el.parentElement.closest('.table--responsive-scroll');
  if (region && region.getBoundingClientRect().right <= px + 1) continue;  // scrolls inside its region
  const r = el.getBoundingClientRect();
  if (r.right > px + 1 && ![...el.children].some(c => c.getBoundingClientRect().right > px + 1))
    out.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '') +
             ' (' + Math.round(r.right) + ' px): ' + (el.textContent || '').trim().slice(0, 40));
}
return out.slice(0, 5);
"""


class Visit:
    """What every page visit checks: axe (serious/critical), sideways scrolling on phones."""

    def __init__(self, drv) -> None:
        self.drv = drv
        self.axe = AXE.read_text()
        self.results: dict[str, int] = {}

    def width(self, px: int, height: int = 900) -> None:
        self.drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                 {"width": px, "height": height, "deviceScaleFactor": 1, "mobile": px < 800})

    def shot(self, path: Path, px: int) -> None:
        """The whole page at `px` wide (up to 8,000 px tall), not only its first screen."""
        self.width(px)
        tall = self.drv.execute_script("return document.documentElement.scrollHeight")
        self.width(px, min(max(tall, 900), 8000))
        self.drv.save_screenshot(str(path))
        self.width(px)

    def check(self, name: str, widths=(390, 320), shots: bool = True) -> None:
        drv = self.drv
        drv.execute_script(self.axe)
        result = drv.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', nodes: [String(e)]}]));")
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        self.results[name] = len(bad)
        assert not bad, f"{name}: axe found {json.dumps(bad, indent=1)}"
        SCREENS.mkdir(parents=True, exist_ok=True)
        for px in widths:
            self.width(px)
            wide = drv.execute_script("return document.documentElement.scrollWidth")
            if wide > px:
                culprits = drv.execute_script(WIDEST, px)
                raise AssertionError(f"{name} scrolls sideways at {px} px (content is {wide} px wide): {culprits}")
        if shots:
            self.shot(SCREENS / f"{name}-{widths[-1]}.png", widths[-1])
            self.shot(SCREENS / f"{name}-desktop.png", 1280)
        self.width(1280)


def wait_for(fn, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fn()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def draw_through_the_api(http: httpx.Client, sor: str, aid, *, secret: str) -> dict:
    """The organiser's draw over sortition's API (one volunteer, one seed contribution), once the
    registration has reached sortition: what the journeys need before there is a panel."""
    wait_for(lambda: (x := http.get(f"{sor}/assemblies/{aid}/pool")).status_code == 200 and x.json()["size"] == 1,
             "sortition to receive the registration")
    assert http.post(f"{sor}/assemblies/{aid}/seed-commitments",
                     json={"name": "organiser", "commitment": hashlib.sha256(secret.encode()).hexdigest()}
                     ).status_code == 201
    assert http.post(f"{sor}/assemblies/{aid}/pool/freeze", json={"lottery_size": 10}).status_code in (200, 201)
    assert http.post(f"{sor}/assemblies/{aid}/seed-reveals", json={"name": "organiser", "value": secret}).status_code == 200
    job = http.post(f"{sor}/assemblies/{aid}/draws", json={}).json()
    wait_for(lambda: http.get(f"{sor}/draw-jobs/{job['id']}").json()["status"] == "succeeded", "the draw")
    return job

def test_citizen_staff_and_member_journeys_pass_axe_on_phones(cluster, staff, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    o, u = cluster.origin, cluster.urls
    drv, visit = browser, Visit(browser)
    http = httpx.Client(timeout=30, auth=staff)
    aid = http.post(f"{u['recruitment']}/assemblies", json={
        "name": "Borgertinget om klima", "panel_size": 1,
        "regions": [{"code": "DK01", "name": "Region Hovedstaden", "population": 1000}],
        "strata": [{"category": "gender", "quotas": [{"value": "female", "min": 0, "max": 1},
                                                     {"value": "male", "min": 0, "max": 1}]},
                   {"category": "age", "quotas": [{"value": "18-29", "min": 0, "max": 1},
                                                  {"value": "30+", "min": 0, "max": 1}]}]}).json()["id"]
    staff.know(aid)
    assert http.post(f"{u['recruitment']}/assemblies/{aid}/register-extract", headers={"content-type": "text/csv"},
                     content="person_id,name,address,region\n1,Karen Hansen,Algade 1,DK01\n").status_code == 201
    code = http.post(f"{u['recruitment']}/assemblies/{aid}/invitation-batches",
                     json={"count": 1, "seed": 1}).json()["letters"][0]["code"]

    # --- a citizen registers in Danish on a 390 px phone; nothing is pre-selected
    visit.width(390)
    drv.get(f"{o}/recruitment/register?assembly={aid}")
    assert drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "da"
    assert not drv.find_elements(By.CSS_SELECTOR, "input[type=radio]:checked")
    drv.find_element(By.ID, "code").send_keys(code)
    drv.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # nothing chosen: errors, in Danish
    wait_for(lambda: "Ret venligst følgende" in drv.page_source, "the error summary")
    assert "Vælg et svar: Køn" in drv.page_source
    visit.check("register-errors")
    visit.width(390)
    drv.find_element(By.XPATH, "//label[normalize-space()='Kvinde']").click()
    drv.find_element(By.XPATH, "//label[normalize-space()='18-29 år']").click()
    drv.find_element(By.XPATH, "//label[@for='consent']").click()
    drv.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "Du er tilmeldt" in drv.page_source, "the receipt of the registration")
    visit.check("register-done")

    # --- the draw (API), so that there is a panel member
    job = draw_through_the_api(http, u["sortition"], aid, secret="ui")
    letters = wait_for(lambda: (x := http.post(f"{u['recruitment']}/assemblies/{aid}/member-letters")).status_code == 201
                       and x.json()["letters"], "recruitment to receive the panel")
    session = http.post(f"{u['sessions']}/assemblies/{aid}/sessions",
                        json={"title": "Weekend 1", "starts_at": "2027-03-06T09:00:00Z", "duration_hours": 7}).json()
    # its programme (sessions' API): a venue, an expert speaking at an item with a file and a link, published
    ses = u["sessions"]
    assert http.put(f"{ses}/sessions/{session['id']}/setting", json={
        "venues": [{"region": "DK01", "venue": "Rådhuset, København"}], "capacity": 60}).status_code == 200
    expert = http.post(f"{ses}/assemblies/{aid}/experts", json={
        "name": "Karen Holm", "affiliation": "Aarhus Universitet", "interests": "Ingen"}).json()["id"]
    item = http.post(f"{ses}/sessions/{session['id']}/agenda-items", json={
        "phase": "learning", "title": "Hvad driver udledningerne?", "minutes": 45, "speaker_ids": [expert]}).json()["id"]
    document = http.post(f"{ses}/agenda-items/{item}/files", data={"kind": "briefing", "title": "Baggrund"},
                         files={"file": ("baggrund.txt", b"Udledninger pr. sektor", "text/plain")}).json()["id"]
    assert http.post(f"{ses}/agenda-items/{item}/documents", json={
        "kind": "video", "title": "Optagelse", "url": "https://video.example.org/1"}).status_code == 201
    assert http.post(f"{ses}/sessions/{session['id']}/agenda/publish").status_code == 200

    # --- staff: the console's sign-in, the development issuer's page, the dashboard
    cluster.issuer.assemblies[aid] = "Borgertinget om klima"
    drv.delete_all_cookies()
    drv.get(f"{o}/reporting/assemblies/{aid}/dashboard")
    assert "/reporting/signin" in drv.current_url
    visit.check("signin")
    drv.find_element(By.LINK_TEXT, "Log ind med din konto i myndigheden").click()
    drv.find_element(By.ID, "role-organiser").click()
    drv.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "/dashboard" in drv.current_url, "the dashboard after signing in")
    wait_for(lambda: "Hvor processen står" in drv.page_source and (drv.refresh() or True)
             and "1 / 1" in drv.page_source, "the dashboard to show the panel", timeout=60)
    visit.check("dashboard")
    # on a 390 px phone dkfds's menu is hidden; the main menu is a disclosure, by keyboard, no JavaScript
    visit.width(390)
    assert not [a for a in drv.find_elements(By.CSS_SELECTOR, ".navigation-menu a") if a.is_displayed()]
    summary = drv.find_element(By.CSS_SELECTOR, "nav .bt-menu summary")
    assert summary.is_displayed() and summary.text.startswith("Menu")
    recruitment = drv.find_element(By.CSS_SELECTOR, f".bt-menu-list a[href$='/assemblies/{aid}/recruitment']")
    assert not recruitment.is_displayed()
    drv.execute_script("arguments[0].focus()", summary)
    summary.send_keys(Keys.ENTER)
    assert recruitment.is_displayed() and recruitment.text == "Rekruttering"
    drv.switch_to.active_element.send_keys(Keys.TAB)  # the first link of the menu, then the others
    assert drv.switch_to.active_element.get_attribute("href") == drv.find_elements(
        By.CSS_SELECTOR, ".bt-menu-list a")[0].get_attribute("href")
    assert drv.execute_script("return arguments[0].getBoundingClientRect().right", recruitment) <= 390
    visit.check("dashboard-menu", widths=(390,))  # axe with the menu open (it ends at 1280 px)
    visit.width(390)
    recruitment.click()
    wait_for(lambda: f"/recruitment/assemblies/{aid}/recruitment" in drv.current_url, "the menu's link")
    visit.width(1280)
    drv.get(f"{o}/reporting/?lang=en")
    assert "Borgertinget om klima" in drv.page_source and drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    visit.check("home-en")
    # a draft recommendation with an amendment waiting, for the workspace's screens
    draft = http.post(f"{u['sessions']}/assemblies/{aid}/drafts", json={
        "group": "Bord 1", "title": "Plant flere træer", "text": "Plant et træ for hvert barn.\n\n- i byerne\n- på landet",
        "rationale": "Skygge og **natur**."})
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["id"]
    assert http.post(f"{u['sessions']}/drafts/{draft_id}/amendments", json={
        "text": "Plant et træ for hvert barn, der bliver født.\n\n- i byerne\n- på landet",
        "reason": "Tydeligere"}).status_code == 201
    # the draw's, voting's and the report's screens (in English now: the switch is remembered)
    for name, path, heading in [
            ("recommendations", f"/sessions/assemblies/{aid}/recommendations", "Recommendations"),
            ("draft", f"/sessions/recommendations/{draft_id}", "Plant flere træer"),
            ("final-list", f"/sessions/assemblies/{aid}/recommendations/final-list", "The final list"),
            ("programme", f"/sessions/assemblies/{aid}/programme", "Programme"),
            ("programme-session", f"/sessions/sessions/{session['id']}/programme", "Hvad driver udledningerne?"),
            ("programme-item", f"/sessions/agenda-items/{item}/edit", "Attach a file"),
            ("experts", f"/sessions/assemblies/{aid}/programme/experts", "Karen Holm"),
            ("door-choose", f"/sessions/assemblies/{aid}/door", "Choose the session you are checking members in to"),
            ("door", f"/sessions/sessions/{session['id']}/door", "K7QM4-XRT2P"),
            ("corrections", f"/sessions/sessions/{session['id']}/corrections", "Correct a mark"),
            ("draw", f"/sortition/assemblies/{aid}/draw", "The draw"),
            ("draw-job", f"/sortition/assemblies/{aid}/draw/jobs/{job['id']}", "Finished"),
            ("draw-panel", f"/sortition/assemblies/{aid}/draw/panel", "Panel and reserves"),
            ("draw-fairness", f"/sortition/assemblies/{aid}/draw/fairness", "Fairness of the draw"),
            ("draw-replacements", f"/sortition/assemblies/{aid}/draw/replacements", "Replacements"),
            ("ballots", f"/voting/assemblies/{aid}/voting", "Ballots"),
            ("report", f"/reporting/assemblies/{aid}/report", "Handover report")]:
        drv.get(o + path)
        assert heading in drv.page_source and "data-error-code" not in drv.page_source, (name, drv.page_source[:1500])
        visit.check(name)
    # the organiser publishes the report (version 1: Danish and English, web page and PDF) from its page
    drv.find_element(By.ID, "confirm").click()
    drv.find_element(By.XPATH, "//button[normalize-space()='Publish the report']").click()
    wait_for(lambda: "published=1" in drv.current_url, "the report to be published", timeout=120)
    assert "The report is published." in drv.page_source
    for name, path, heading in [
            ("report-versions", f"/reporting/assemblies/{aid}/report/versions", "Every published version"),
            ("report-published", f"/reporting/assemblies/{aid}/report/published", "Handover report")]:
        drv.get(o + path)
        assert heading in drv.page_source and "data-error-code" not in drv.page_source, (name, drv.page_source[:1500])
        visit.check(name)
    drv.get(f"{o}/reporting/assemblies/{aid}/report")
    drv.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait_for(lambda: "/reporting/signin" in drv.current_url, "the sign-out")

    # --- a member signs in with the selection letter's code: the portal (with the start survey open)
    assert http.post(f"{u['reporting']}/assemblies/{aid}/surveys/start/open").status_code == 200
    drv.get(f"{o}/reporting/assemblies/{aid}/portal?lang=da")
    assert "/recruitment/member/signin" in drv.current_url
    visit.check("member-signin")
    drv.find_element(By.ID, "code").send_keys(letters[0]["code"])
    drv.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "/portal" in drv.current_url, "the portal")
    wait_for(lambda: (drv.refresh() or True) and "Weekend 1" in drv.page_source, "the portal to show the session")
    assert "Borgertinget om klima" in drv.page_source and "Du er medlem af panelet" in drv.page_source
    visit.check("portal")
    # the start survey, linked from the portal: answered on the phone, back to the portal
    drv.find_element(By.PARTIAL_LINK_TEXT, "Besvar spørgeskemaet").click()
    wait_for(lambda: "/surveys/start" in drv.current_url, "the survey")
    visit.check("survey")
    drv.find_element(By.CSS_SELECTOR, "label[for=task-4]").click()
    drv.find_element(By.XPATH, "//button[normalize-space()='Send mine svar']").click()
    wait_for(lambda: "survey=thanks" in drv.current_url, "the portal's thanks")
    drv.find_element(By.PARTIAL_LINK_TEXT, "Gå til anbefalingerne").click()
    wait_for(lambda: "/sessions/assemblies/" in drv.current_url, "the member's workspace")
    assert "Plant flere træer" in drv.page_source and "Begynd et udkast" in drv.page_source
    visit.check("member-recommendations")
    drv.get(f"{o}/sessions/recommendations/{draft_id}?lang=da")
    assert "Foreslå en ændring" in drv.page_source and "Afgør" not in drv.page_source  # members do not decide
    visit.check("member-draft")
    drv.get(f"{o}/reporting/assemblies/{aid}/portal?lang=da")
    drv.find_element(By.PARTIAL_LINK_TEXT, "Se programmet").click()
    wait_for(lambda: "/my-programme" in drv.current_url, "the member's programme")
    assert "Hvad driver udledningerne?" in drv.page_source and "Rådhuset, København" in drv.page_source
    assert "Karen Holm" in drv.page_source and f"/documents/{document}/file" in drv.page_source
    visit.check("member-programme")
    drv.get(f"{o}/sessions/assemblies/{aid}/my-check-in?lang=da")  # the member's QR code for the door
    assert "Min tjek ind-kode" in drv.page_source and "<svg" in drv.page_source
    visit.check("member-check-in")
    drv.get(f"{o}/reporting/assemblies/{aid}/portal?lang=da")  # back to the portal for the ballot

    # --- the member is checked in, a ballot opens: the member votes from the portal, nothing pasted
    member = letters[0]["member_id"]
    assert http.post(f"{u['sessions']}/sessions/{session['id']}/attendance",
                     json={"records": [{"member_id": member, "present": True}]}).status_code == 200
    ballot = wait_for(lambda: (x := http.post(f"{u['voting']}/assemblies/{aid}/ballots", json={
        "title": "Endelig afstemning", "threshold": 0.7, "recommendations": ["Plant flere træer"],
        "session_id": session["id"]})).status_code == 201 and x.json(), "voting to receive the panel")
    wait_for(lambda: (drv.refresh() or True) and "Stem: Endelig afstemning" in drv.page_source,
             "the portal to show the open ballot")
    drv.find_element(By.PARTIAL_LINK_TEXT, "Stem: Endelig afstemning").click()
    assert "/voting/ballots/" in drv.current_url
    assert not drv.find_element(By.ID, "access-token").is_displayed()  # nothing to paste
    drv.find_element(By.ID, "get-token").click()
    wait_for(lambda: "gyldig stemmenøgle" in drv.find_element(By.ID, "token-status").text, "the voting token")
    assert http.post(f"{u['voting']}/ballots/{ballot['id']}/open").status_code == 200
    drv.refresh()
    drv.find_element(By.CSS_SELECTOR, "input[name='q-q1'][value='yes']").click()
    drv.find_element(By.ID, "submit-vote").click()
    wait_for(lambda: drv.find_element(By.ID, "receipt-box").is_displayed(), "the receipt")
    visit.check("ballot")
    drv.get(f"{o}/voting/assemblies/{aid}/voting/board?lang=da")
    assert "Afstemningstavlen" in drv.page_source and "Endelig afstemning" in drv.page_source
    visit.check("board")
    # a page of another assembly is not there for this member (a page, not JSON)
    drv.get(f"{o}/reporting/assemblies/{aid}/dashboard")
    assert "Du har ikke adgang" in drv.page_source
    visit.check("error-403")
    print(f"\naxe (serious or critical violations per page): {visit.results}")
    assert set(visit.results.values()) == {0}
    JOURNEY.update(aid=aid, session_id=session["id"], ballot_id=ballot["id"], job_id=job["id"], member_id=member,
                   draft_id=draft_id, item_id=item, expert_id=expert, document_id=document)


JOURNEY: dict[str, str] = {}  # what the journey made, for the walk over every page below
NOT_HTML = (".csv", ".json", ".pdf", "/file")  # /file: a programme's document, downloaded
FLOW = {"/auth/login", "/auth/callback"}  # redirects of the sign-in, not pages to look at
DOWNLOADS = {"/claims/{claim_id}/receipt/view"}  # a member's receipt as uploaded (PDF or image), not a page


def page_routes(cluster) -> list[tuple[str, str, list[str]]]:
    """(service, path template, roles) of every GET page, from the services' OpenAPI documents."""
    out = []
    for service, url in cluster.urls.items():
        for path, ops in httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"].items():
            policy = ops.get("get", {}).get("x-borgerting-policy", {})
            if policy.get("page") and not path.endswith(NOT_HTML) and path not in FLOW | DOWNLOADS:
                out.append((service, path, policy["roles"]))
    return out


def test_every_page_of_every_service_passes_axe_and_fits_a_phone(cluster, browser):
    """Every GET page the five services declare, opened in the browser as a role it admits, with
    the journey's assembly and objects in its path: no 5xx, `lang` set, 0 serious or critical
    axe violations, nothing wider than 320 px."""
    import asyncio
    import re
    import uuid

    from selenium.webdriver.common.by import By

    from shared.auth.principal import Principal
    from shared.auth.sessions import SessionStore
    from shared.redis import make_redis

    if not JOURNEY:
        pytest.skip("needs the journey's assembly (test_citizen_staff_and_member_journeys_pass_axe_on_phones)")
    aid = uuid.UUID(JOURNEY["aid"])
    everyone = Principal(subject="axe-walk", issuer="test", grants=frozenset(
        {("operator", None)} | {(r, aid) for r in ("organiser", "registrar", "facilitator", "auditor")}))
    member = Principal(subject="axe-member", issuer="test", grants=frozenset({("member", aid)}),
                       member_id=uuid.UUID(JOURNEY["member_id"]))

    async def sessions():
        redis = make_redis(cluster.env["REDIS_URL"])
        store = SessionStore(redis, idle=600, absolute=600)
        staff_sid, member_sid = (await store.create(everyone, "-", "staff")).sid, (await store.create(member, "-", "member")).sid
        await redis.aclose()
        return staff_sid, member_sid

    staff_sid, member_sid = asyncio.run(sessions())

    async def waiting_request():
        """A replacement request from sessions that sortition could not start: the replacements
        page lists it for the secretariat (its table is in the walk)."""
        from services.sortition import models as sm
        from shared.db import make_engine

        engine = make_engine(cluster.env["DATABASE_URL"], pool_size=1)
        async with engine.begin() as c:
            await c.execute(sa.insert(sm.replacement_requests).values(
                id=uuid.uuid4(), assembly_id=aid, source="sessions", session_id=uuid.UUID(JOURNEY["session_id"]),
                missed_in_a_row=2, members=[JOURNEY["member_id"]], refusal="conflict"))
        await engine.dispose()

    import sqlalchemy as sa

    async def member_needs():
        """The journey's member states needs (sealed in the vault as registration would), so that the
        needs page's list of who needs what is in the walk."""
        from services.recruitment import models as rm
        from services.recruitment import vault
        from services.recruitment.keystore import close_key_store
        from shared.bus.outbox import transaction
        from shared.db import make_engine, make_sessionmaker

        engine = make_engine(cluster.env["DATABASE_URL"], pool_size=1)
        async with transaction(make_sessionmaker(engine), rm.outbox, rm.audit) as tx:
            entry = (await tx.session.execute(
                sa.select(rm.invitations.c.register_entry_id)
                .join(rm.respondents, rm.respondents.c.invitation_id == rm.invitations.c.id)
                .where(rm.respondents.c.id == uuid.UUID(JOURNEY["member_id"])))).scalar_one()
            await vault.set_contact(tx, entry, needs={"diet": "Vegetar", "childcare": "To børn, 3 og 6 år"})
        await close_key_store()
        await engine.dispose()

    asyncio.run(waiting_request())
    asyncio.run(member_needs())
    sections = {"sortition/assemblies/{assembly_id}/draw/panel": 'id="alternates-form"',
                "recruitment/assemblies/{assembly_id}/needs": "To børn, 3 og 6 år",
                "sortition/assemblies/{assembly_id}/draw/replacements": "/draw/replacements?request="}
    values = {"assembly_id": JOURNEY["aid"], "session_id": JOURNEY["session_id"], "ballot_id": JOURNEY["ballot_id"],
              "job_id": JOURNEY["job_id"], "member_id": JOURNEY["member_id"], "number": "1",
              "draft_id": JOURNEY["draft_id"], "item_id": JOURNEY["item_id"], "expert_id": JOURNEY["expert_id"],
              "document_id": JOURNEY["document_id"],
              "version": "1", "document": "en.html", "stage": "start"}
    drv, visit = browser, Visit(browser)
    walked, refused, problems = [], {}, []
    for service, template, roles in page_routes(cluster):
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        sid = None if "public" in roles else member_sid if roles == ["member"] else staff_sid
        drv.delete_all_cookies()
        drv.get(f"{cluster.origin}/reporting/signin")  # a page of the origin, to set its cookie on
        if sid:
            drv.add_cookie({"name": "borgerting_session", "value": sid, "path": "/"})
        drv.get(f"{cluster.origin}/{service}{path}")
        html = drv.find_element(By.TAG_NAME, "html")
        assert html.get_attribute("lang") in ("da", "en"), f"{service}{path} is not a page: {drv.page_source[:300]}"
        code = drv.find_elements(By.CSS_SELECTOR, "main[data-error-code]")
        if code:
            refused[f"{service}{path}"] = code[0].get_attribute("data-error-code")
        assert "internal_error" not in refused.values(), f"{service}{path} failed: {refused}"
        if f"{service}{template}" in sections:  # a section that is only there in some states: it is walked too
            assert sections[f"{service}{template}"] in drv.page_source, f"{service}{template}: the section is missing"
        try:
            if f"{service}{template}" in sections:  # shown in out/screens too, by service and page, in both languages
                name = "-".join([service, *(x for x in template.split("/") if x and x[0] != "{")])
                visit.check(name, widths=(320,))
                drv.get(f"{cluster.origin}/{service}{path}?lang=en")
                assert drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
                visit.check(f"{name}-en", widths=(320,))
            else:
                visit.check(f"{service}{template}", widths=(320,), shots=False)
        except AssertionError as exc:
            problems.append(f"{service}{template}: {str(exc)[:600]}")
        walked.append(f"{service}{template}")
    print(f"\naxe walk: {len(walked)} pages, {len(problems)} with problems; refused as pages: {refused or 'none'}")
    assert len(walked) >= 10
    assert not problems, "\n".join(problems)
