"""Every step of the demo's driver (borgerting/scenario.py), from the browser only, as a person who
has never seen the APIs would do it from `make demo KEEP=1`: once in Danish and once in English.

No API call and no token: staff sign in through the development identity provider's page (the
operator, the registrar and the secretariat each on their own device), citizens and members on
their own phones (a device here is a saved set of cookies and local storage, so one Chromium plays
them all). Files travel as a person's would: the register extract is uploaded, the letters for the
print house and the selection letters are downloaded as CSV and read for their codes. The only
tools besides the browser are the ones the pages name: `borgerting sortition commit` for a seed's
commitment, and the `curl ... && borgerting sortition verify` commands the fairness page prints.

The deliberation (issue 16) is done the same way: the secretariat moves a session and gives it a
venue from its programme page, plans and publishes its tables; a facilitator, on a phone, checks a
member in at the door by the code the member's portal shows, and prints the table plan (the
browser's own PDF: one page per table and round); members draft recommendations and propose an
amendment in the portal; the secretariat accepts it and freezes the final list; the final ballot is
made from that list and voted; the published report carries the amended text.

The pool is small (7 invited, 6 volunteers, a panel of 3 with 1 reserve) so that every citizen
registers through the form. axe-core on every page visited: 0 serious or critical violations; the
citizen, the door page, the attendance sheet, the drafts and the ballot are used at 390 px."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from shared.ui.i18n import ngettext_for, translations
from tests.e2e.test_console import Visit, browser, wait_for  # noqa: F401  (browser: the module's fixture)

pytestmark = pytest.mark.e2e

ANSWERS = [("female", "basic"), ("male", "vocational"), ("female", "higher"), ("male", "basic"),
           ("female", "vocational"), ("male", "higher")]
STRAW_POLL = ["Plant a tree for every citizen", "Make buses free for under 25s", "Insulate every school"]
RECOMMENDATIONS = ["Plant a tree for every child.\n\n- in the towns\n- in the country",
                   "Buses are free for everyone under 25."]
AMENDED = "Plant a tree for every child born in Denmark.\n\n- in the towns\n- in the country"
POOL = ("%(n)s volunteer in the pool for a panel of %(k)s.", "%(n)s volunteers in the pool for a panel of %(k)s.")


class Journey:
    """One person's browser at a time on one Chromium: `device(name)` puts the current person's
    cookies and local storage away and takes out `name`'s."""

    def __init__(self, drv, origin: str, lang: str, work: Path) -> None:
        self.drv, self.o, self.lang, self.work = drv, origin, lang, work
        self.visit = Visit(drv)
        self.t = translations(lang).gettext
        self.nt = ngettext_for(lang)  # a message with a count: nt(singular, plural, count)
        self.devices: dict[str, dict] = {}
        self.current: str | None = None
        self.downloads = work / "downloads"
        self.downloads.mkdir(parents=True, exist_ok=True)
        drv.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads)})

    # ---- the browser's plumbing ---------------------------------------------------------------
    def device(self, name: str) -> None:
        drv = self.drv
        if name == self.current:
            return
        if not drv.current_url.startswith(self.o):
            drv.get(f"{self.o}/reporting/signin")
        if self.current is not None:
            self.devices[self.current] = {
                "cookies": drv.get_cookies(),
                "local": drv.execute_script("return Object.assign({}, localStorage)")}
        drv.delete_all_cookies()
        drv.execute_script("localStorage.clear(); sessionStorage.clear()")
        saved = self.devices.get(name, {"cookies": [{"name": "borgerting_lang", "value": self.lang, "path": "/"}],
                                        "local": {}})
        for c in saved["cookies"]:
            drv.add_cookie({k: c[k] for k in ("name", "value", "path") if k in c})
        drv.execute_script("for (const [k, v] of Object.entries(arguments[0])) localStorage.setItem(k, v)", saved["local"])
        self.current = name

    def get(self, path: str) -> None:
        self.drv.get(self.o + path)

    def see(self, text: str, timeout: float = 30, refresh: bool = False) -> None:
        def there():
            if text in self.drv.page_source:
                return True
            if refresh:
                self.drv.refresh()
            return False
        wait_for(there, f"the page to say {text!r} ({self.drv.current_url})", timeout=timeout)

    def el(self, css: str):
        from selenium.webdriver.common.by import By
        return self.drv.find_element(By.CSS_SELECTOR, css)

    def els(self, css: str):
        from selenium.webdriver.common.by import By
        return self.drv.find_elements(By.CSS_SELECTOR, css)

    def fill(self, **fields: str) -> None:
        for field, value in fields.items():
            box = self.el(f"#{field}")
            box.clear()
            box.send_keys(value)

    def tick(self, input_id: str) -> None:
        """Click the label of a radio or checkbox (dkfds hides the input itself)."""
        self.el(f"label[for='{input_id}']").click()

    def submit(self, form_css: str = "main form", navigates: bool = True) -> None:
        """Press the form's button; then wait for the next page (a download stays on this one)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        forms = self.els(form_css)
        assert forms, f"no form {form_css!r} on {self.drv.current_url}"
        page = self.el("html")
        forms[-1].find_element("css selector", "button[type=submit].button-primary, button[type=submit]").click()
        if navigates:  # Chrome may answer "unhandled inspector error" while the old page goes: ask again
            WebDriverWait(self.drv, 60, ignored_exceptions=[WebDriverException]).until(ec.staleness_of(page))

    def check(self, name: str, widths=(390, 320), shots: bool = False) -> None:
        """axe and the phone widths; `shots`: screenshots at 375 px and desktop too (out/screens),
        for the deliberation pages test_console.py does not reach in these states."""
        assert "data-error-code" not in self.drv.page_source or "/signin" in self.drv.current_url, \
            f"{name}: a refusal: {self.drv.page_source[:2000]}"
        assert self.el("html").get_attribute("lang") == self.lang, f"{name} is not in {self.lang}"
        self.visit.check(f"journey-{self.lang}-{name}", widths=(*widths, 375) if shots else widths, shots=shots)

    def download(self, click, suffix: str = ".csv") -> Path:
        before = set(self.downloads.iterdir())
        click()
        found = wait_for(lambda: [p for p in set(self.downloads.iterdir()) - before
                                  if p.name.endswith(suffix) and p.stat().st_size > 0], "the download")
        return found[0]

    def sign_in(self, device: str, role: str, path: str, aid: str | None = None) -> None:
        """On `device`, open `path`; signed out, the console sends the person to sign in: the
        agency's account, the development issuer's page (role, and the assembly's id the first
        time, as the operator's page shows it), then back to `path`."""
        self.device(device)
        self.get(path)
        if "/reporting/signin" in self.drv.current_url:
            self.check(f"signin-{role}")
            self.el("main a[href*='/auth/login']").click()
            self.el(f"#role-{role}").click()
            if aid is not None:
                other = self.els("#assembly-other")
                if self.el("#assembly").tag_name == "select" and not other:
                    from selenium.webdriver.support.ui import Select
                    Select(self.el("#assembly")).select_by_value(aid)
                else:
                    (other or self.els("#assembly"))[0].send_keys(aid)
            self.el("button[type=submit]").click()
        wait_for(lambda: self.drv.current_url.split("?")[0].endswith(path.split("?")[0]), f"{path} after signing in")


def run_journey(drv, origin: str, lang: str, work: Path, replay: bool = True) -> dict:
    j = Journey(drv, origin, lang, work)
    t, tag = j.t, uuid.uuid4().hex[:4]
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.monotonic() - clock, 1)
        print(f"{lang} {name}: {timings[name]} s", flush=True)
        clock = time.monotonic()

    # ---- 1. the operator creates the assembly (the driver: POST /assemblies) -------------------
    j.sign_in("operator", "operator", "/recruitment/console/assemblies/new")
    j.check("assembly-new")
    name = f"Borgerting {lang} {tag}"
    j.fill(name=name, panel_size="3", region_code_0="DK01", region_name_0="Region Hovedstaden",
           region_population_0="1870000", region_code_1="DK05", region_name_1="Region Nordjylland",
           region_population_1="595000")
    from selenium.webdriver.support.ui import Select
    quotas = [("gender", "female", 1, 2), ("gender", "male", 1, 2), ("education", "basic", 0, 3),
              ("education", "vocational", 0, 3), ("education", "higher", 0, 3)]
    for i, (cat, value, lo, hi) in enumerate(quotas):
        Select(j.el(f"#quota_category_{i}")).select_by_value(cat)
        j.fill(**{f"quota_value_{i}": value, f"quota_min_{i}": str(lo), f"quota_max_{i}": str(hi)})
    j.el("button.button-primary[value=save]").click()
    wait_for(lambda: "created=" in drv.current_url, "the assemblies page after creating")
    j.see(t("The assembly %(name)s was created") % {"name": name})
    aid = drv.current_url.split("created=")[1].split("&")[0]
    assert aid in drv.page_source  # the id to give the staff their roles at the identity provider
    j.check("assemblies")
    lap("create assembly")

    # ---- 2. the registrar imports the register extract (file upload) -------------------------
    j.sign_in("registrar", "registrar", f"/recruitment/assemblies/{aid}/register-import", aid)
    j.check("register-import")
    extract = work / "extract.csv"
    rows = [f"{i},Person {i},Vej {i},{'DK01' if i % 3 else 'DK05'}" for i in range(1, 9)]
    extract.write_text("person_id,name,address,region\n" + "\n".join(rows) + "\n")
    j.el("#extract").send_keys(str(extract))
    j.submit()
    j.see(j.nt("%(n)s person was imported", "%(n)s people were imported", 8))
    j.check("register-imported")
    lap("import register extract")

    # ---- 3. the registrar sends a batch of invitations: the letters for the print house (CSV) ---
    j.get(f"/recruitment/assemblies/{aid}/invitations")
    j.check("invitations")
    j.fill(count="7")
    j.tick(_radio_id(j, "language", lang))
    j.tick("confirm")
    pack = j.download(lambda: j.submit(navigates=False), suffix=".zip")  # the PDF and the print house's merge file
    with zipfile.ZipFile(pack) as z:
        merge = next(n for n in z.namelist() if n.startswith("merge-") and n.endswith(".csv"))
        invited = list(csv.DictReader(io.StringIO(z.read(merge).decode("utf-8-sig"))))
    assert len(invited) == 7 and all(x["code"] for x in invited), invited
    lap("send invitations")

    # ---- 4. citizens register from their letters, on their phones (the code first) ------------
    for n, ((gender, education), letter) in enumerate(zip(ANSWERS, invited)):
        j.device(f"citizen-{n}")
        j.visit.width(390)
        j.get("/recruitment/register")
        j.fill(code=letter["code"])
        j.submit()
        j.see(t("About you"))
        if n == 0:  # nothing chosen: the errors, in the reader's language, first
            j.check("register")
            j.submit()
            j.see(t("Please correct the following"))
            j.check("register-errors")
            j.visit.width(390)
        j.tick(_radio_id(j, "q_gender", gender))
        j.tick(_radio_id(j, "q_education", education))
        j.tick("consent")
        j.submit()
        j.see(t("You are registered"))
        if n == 0:
            j.check("registered")
        j.visit.width(1280)
    # a reused code and a mistyped one are refused, in words
    j.device("citizen-0")
    for code in (invited[0]["code"], "AAAA-BBBB-CCCC-DDDD-EEEE"):
        j.get("/recruitment/register")
        j.fill(code=code)
        j.submit()
        if j.els("#q_gender") or j.els("input[name=q_gender]"):  # the code was known: the questions first
            j.tick(_radio_id(j, "q_gender", "female"))
            j.tick(_radio_id(j, "q_education", "basic"))
            j.tick("consent")
            j.submit()
        j.see(t("Please correct the following"))
    j.check("register-refused")
    lap("registrations")

    # ---- 5. the secretariat: seed commitments, the freeze --------------------------------------
    draw = f"/sortition/assemblies/{aid}/draw"
    j.sign_in("organiser", "organiser", draw, aid)
    j.see(j.nt(*POOL, 6, k=3), refresh=True, timeout=60)  # the pool: every registration has reached sortition
    j.check("draw")
    secrets_ = {"organiser": f"secret-organiser-{tag}", "ombudsman": f"secret-ombudsman-{tag}"}
    for who, secret in secrets_.items():
        printed = hashlib.sha256(secret.encode()).hexdigest()  # what `borgerting sortition commit SECRET` prints
        j.fill(name=who, commitment=printed)
        j.submit("form[action$='/draw/commitments']")
        j.see(printed[:16])
    j.tick(_radio_id(j, "algorithm", "leximin"))
    j.fill(reserves="1")
    j.tick("confirm")
    j.submit("form[action$='/draw/freeze']")
    j.see(t("Reveal the seeds"))
    j.check("draw-frozen")

    # ---- 6. a volunteer withdraws after the freeze, with the letter's code ---------------------
    j.device("citizen-5")
    j.get("/recruitment/withdraw")
    j.check("withdraw")
    j.fill(code=invited[5]["code"])
    j.tick("confirm")
    j.submit()
    j.see(t("You have withdrawn"))
    j.check("withdrawn")
    lap("freeze, withdrawal")

    # ---- 7. reveals, then the draw with its progress -------------------------------------------
    j.device("organiser")
    j.get(draw)
    j.see(j.nt(*POOL, 5, k=3), refresh=True, timeout=60)  # the withdrawal has reached sortition
    for who, secret in secrets_.items():
        j.tick(_radio_id(j, "reveal_name", who))
        j.fill(value=secret)
        j.submit("form[action$='/draw/reveals']")
        j.see(t("Revealed"))
    j.tick("confirm")
    j.submit("form[action$='/draw/start']")
    wait_for(lambda: "/draw/jobs/" in drv.current_url, "the draw's progress page")
    j.see(t("Done."), timeout=120)  # the page updates itself
    j.check("draw-done")
    j.get(f"{draw}/panel")
    j.check("panel")
    lap("draw")

    # ---- 8. anyone replays the draw with the commands on the public fairness page -----------
    j.device("public")
    j.get(f"{draw}/fairness")
    j.check("fairness")
    if replay:
        _run_commands(j.el("pre").text, work / "verify")
    lap("verify")

    # ---- 9. a member declines: a replacement from the pool -------------------------------------
    j.device("organiser")
    j.get(f"{draw}/replacements")
    j.check("replacements")
    j.els("input[name=dropped]")[0].find_element("xpath", "following-sibling::label|../label").click()
    j.tick("confirm")
    j.submit("form[action$='/draw/replacements']")
    wait_for(lambda: "/draw/jobs/" in drv.current_url, "the replacement's progress page")
    j.see(t("Done."), timeout=120)
    j.get(f"{draw}/replacements")
    j.check("replaced")
    if replay:  # the chain from the draw, with the draw's files fetched above
        _run_commands(j.el("pre").text, work / "verify")
    lap("replacement")

    # ---- 10. the registrar issues the selection letters (CSV) -----------------------------------
    j.device("registrar")
    j.get(f"/recruitment/assemblies/{aid}/letters")
    j.see("<form", refresh=True, timeout=60)  # recruitment has heard of the panel
    j.check("letters")
    members = list(csv.DictReader(j.download(lambda: j.submit(navigates=False)).open(encoding="utf-8-sig")))
    assert len(members) == 3, members
    lap("letters")

    # ---- 11. sessions: scheduled, attendance at the door on a phone, closed as held ---------
    j.device("organiser")
    absent = None
    for i in (1, 2):
        j.get(f"/sessions/assemblies/{aid}/calendar/new")
        if i == 1:
            j.check("session-new")
        j.fill(title=f"Session {i}", duration_hours="7,5" if lang == "da" else "7.5")
        drv.execute_script(f"document.getElementById('date').value = '2027-03-{6 + 14 * (i - 1):02d}';"
                           "document.getElementById('time').value = '09:00';")
        j.tick(_radio_id(j, "mode", "physical"))
        Select(j.el("#phase")).select_by_index(i)
        j.submit()
        wait_for(lambda: "done=scheduled" in drv.current_url, "the calendar after scheduling")
        j.see(f"Session {i}")
        links = [a.get_attribute("href") for a in j.els("a[href$='/check-in']")]
        session_path = links[-1].split(origin)[1]
        if i == 1:  # the programme: an expert, an agenda item where they speak, published for the members
            j.get(f"/sessions/assemblies/{aid}/programme/experts")
            j.tick(_radio_id(j, "kind", "expert"))
            j.fill(name="Karen Holm", affiliation="Aarhus University", interests="None")
            j.submit("#expert-form")
            j.see(t("The person is added: choose them as a speaker on an agenda item"))
            j.check("experts")
            j.get(session_path.replace("/check-in", "/programme"))
            Select(j.el("#phase")).select_by_value("learning")
            j.fill(title="What drives emissions?", minutes="45")
            j.tick(j.els("input[name=speakers]")[0].get_attribute("id"))
            j.submit("#item-form")
            j.see(t("The item is on the agenda"))
            j.submit("form[action$='/programme/publish']")
            j.see(t("The programme is published: members see it in their portal"))
            j.check("programme-session")
            # the session moves half an hour later, and gets its venue, from the same page
            drv.execute_script("document.getElementById('time').value = '09:30';")
            j.submit("#when-form")
            j.see(t("The session's date and time are saved"))
            assert 'value="09:30"' in drv.page_source
            j.fill(region_0="DK01", venue_0="Rådhuset, København")
            j.submit("#setting-form")
            j.see(t("Where the session is held is saved"))
            j.see("Rådhuset, København")
            j.check("programme-when", shots=True)
        j.get(session_path)
        j.see("m-3-present", refresh=True, timeout=60)  # sessions has the roster
        if i == 1:
            _tables_and_the_door(j, members, session_path.split("/")[3], aid)
            j.device("organiser")
            j.get(session_path)
        j.visit.width(390)
        for n in (1, 2, 3):
            j.tick(f"m-{n}-absent" if i == 2 and n == 3 else f"m-{n}-present")
        if i == 2:
            absent = j.el("#roster li:nth-child(3) .bt-code").text.strip()
        j.submit()
        j.see(t("Attendance saved: %(n)s marked") % {"n": 3})
        if i == 1:
            j.check("check-in")
        j.visit.width(1280)
        j.el("a[href$='/close']").click()
        if i == 1:
            j.check("close-session")
        j.submit()
        j.see(t("The session is closed as held"))
    j.get(f"/sessions/assemblies/{aid}/calendar")
    j.check("calendar")
    final_session = session_path.split("/")[3]
    lap("sessions")

    # ---- 12. members draft and amend in the portal; the secretariat accepts, freezes the list ----
    drafts = []
    for k, m in enumerate(members[:2]):
        _portal(j, m, aid)
        j.visit.width(390)
        j.el("main a[href$='/recommendations']").click()
        j.fill(group=t("Table %(t)s") % {"t": k + 1}, title=STRAW_POLL[k], text=RECOMMENDATIONS[k],
               rationale="Skygge og **natur**." if k == 0 else "Flere unge tager bussen.")
        j.submit("form[action$='/recommendations']")
        j.see(t("The draft is saved"))
        if k == 0:
            j.check("member-draft", shots=True)
        drafts.append(drv.current_url.split(origin)[1].split("?")[0])
        j.visit.width(1280)
    j.visit.width(390)  # the second member proposes an amendment to the first table's draft
    j.get(drafts[0])
    j.fill(amendment_text=AMENDED, reason="Tydeligere" if lang == "da" else "Clearer")
    j.submit("form[action$='/amendments']")
    j.see(t("Your amendment is sent to the secretariat"))
    j.check("member-amendment", shots=True)
    j.visit.width(1280)
    j.device("organiser")
    j.get(f"/sessions/assemblies/{aid}/recommendations")
    j.see(j.nt("%(n)s amendment waiting", "%(n)s amendments waiting", 1))
    j.check("recommendations", shots=True)
    j.el(f"main a[href$='{drafts[0].split('/sessions', 1)[1]}']").click()  # the draft with the amendment
    j.tick(_radio_id(j, "decision", "accept"))
    j.submit("form[action$='/decide']")
    j.see(t("The amendment is accepted: a new version is saved"))
    j.see(AMENDED.split(".")[0])
    j.check("draft-accepted", shots=True)
    j.el("main a[href$='/recommendations']").click()  # back to the list, then freeze it
    j.el("main a[href$='/recommendations/final-list']").click()
    j.check("final-list-choose")
    j.tick("confirm")
    j.submit("form[action$='/final-list']")
    j.see(t("The final list is frozen"))
    j.get(f"/sessions/assemblies/{aid}/recommendations/final-list")
    j.see(STRAW_POLL[1])
    j.check("final-list", shots=True)
    lap("recommendations")

    # ---- 12b. the final ballot, from the frozen list, for those checked in at the final session -
    j.get(f"/voting/assemblies/{aid}/voting")
    j.see(f"value=\"{final_session}\"", refresh=True, timeout=60)  # voting has heard of the session
    j.see('name="list_id"', refresh=True, timeout=60)  # and of the final list
    j.check("ballots")
    j.tick(_radio_id(j, "ballot_kind", "final"))
    j.tick(_radio_id(j, "fraction", "other"))
    j.fill(fraction_other="0,7" if lang == "da" else "0.7")
    j.tick(_radio_id(j, "session_id", final_session))
    j.submit()
    wait_for(lambda: "/voting/ballots/" in drv.current_url, "the new ballot's page")
    ballot_staff = drv.current_url.split(origin)[1].split("?")[0]
    lap("ballot")

    # ---- 13. members sign in with their letter's code and get a token from the portal --------
    present = [m for m in members if not m["member_id"].startswith(absent.split()[-1][:8].lower())]
    away = [m for m in members if m not in present]
    assert len(present) == 2 and len(away) == 1, (absent, members)
    for m in members:
        _portal(j, m, aid)
        j.visit.width(390)
        j.see("/page?lang=", refresh=True, timeout=60)  # reporting has heard of the ballot
        if m is members[0]:
            j.check("portal")
            j.el("a[href$='/my-programme']").click()  # the programme the secretariat published
            j.see("What drives emissions?")
            j.see("Karen Holm")
            j.check("member-programme")
            j.get(f"/reporting/assemblies/{aid}/portal")
        j.el("a[href*='/ballots/'][href*='/page']").click()
        j.el("#get-token").click()
        if m in present:
            wait_for(lambda: j.el("#token-status").get_attribute("class") == "ok", "the voting token")
        else:  # absent from the final session: refused, in words, in the page's language
            wait_for(lambda: j.el("#token-status").get_attribute("class") == "err", "the refusal")
            assert {"da": "ikke tjekket ind", "en": "not checked in"}[lang] in j.el("#token-status").text
        j.visit.width(1280)
    lap("tokens")

    # ---- 14. the secretariat opens voting; members vote; turnout only; close and count -------
    j.device("organiser")
    j.get(ballot_staff)
    j.check("ballot-staff")
    j.tick("confirm")
    j.submit("form[action$='/open']")
    j.see(t("Close and count"))
    receipts = {}
    for m in present:
        j.device(f"member-{m['member_id']}")
        j.visit.width(390)
        j.get(f"/reporting/assemblies/{aid}/portal")
        j.el("a[href*='/ballots/'][href*='/page']").click()
        for fs in j.els("fieldset[data-qid]"):
            fs.find_element("css selector", "input[value=yes]").click()
        j.el("#submit-vote").click()
        wait_for(lambda: j.el("#receipt-box").is_displayed(), "the receipt")
        receipts[m["member_id"]] = j.el("#receipt-code").text
        if m is present[0]:
            j.check("ballot")
        j.visit.width(1280)
    j.device("organiser")
    j.get(ballot_staff)
    j.see(">2<")  # two votes on the board; no result before the close
    j.check("ballot-open")
    j.tick("confirm")
    j.submit("form[action$='/close']")
    j.see(t("Results"))
    j.check("ballot-closed")
    lap("voting")

    # ---- 15. each voter finds their vote on the public board --------------------------------
    for m in present:
        j.device(f"member-{m['member_id']}")
        j.get(f"/reporting/assemblies/{aid}/portal")
        j.el("a[href*='/ballots/'][href*='/page']").click()
        j.el("#check-receipt").click()
        wait_for(lambda: j.els("#found"), "the vote on the board")
    j.device("public")
    j.get(f"/voting/assemblies/{aid}/voting/board")
    position = next(iter(receipts.values())).split(":")[0]
    j.fill(position=position)
    j.submit()
    j.check("board")
    lap("board")

    # ---- 16. the report: published, and the dashboard's figures are the browser's ------------
    j.device("organiser")
    j.get(f"/reporting/assemblies/{aid}/report")
    j.check("report")
    j.tick("confirm")
    j.submit()
    j.see(t("The report is published."))
    # the figures reporting counted from the events are what was done in the browser (the demo's check)
    j.get(f"/reporting/assemblies/{aid}/dashboard")
    expected = ["7", "5", "3 / 3", "2 / 2", "2", "2 / 2"]  # the final ballot: both recommendations passed
    wait_for(lambda: (drv.refresh() or True) and [x.text for x in j.els(".bt-figures .bt-figure")] == expected,
             f"the dashboard's figures to be {expected}")
    j.check("dashboard")
    j.device("public")
    j.get(f"/reporting/assemblies/{aid}/report/published")
    assert name in drv.page_source
    for text in (STRAW_POLL[0], STRAW_POLL[1], AMENDED.split(".")[0]):  # the final list, as amended
        assert text in drv.page_source, text
    lap("report")
    return {"aid": aid, "timings": timings, "axe": j.visit.results}


def _portal(j: Journey, m: dict, aid: str, check: bool = False) -> None:
    """On the member's phone, their portal: signed in with the selection letter's code the first time."""
    j.device(f"member-{m['member_id']}")
    j.get(f"/reporting/assemblies/{aid}/portal")
    if "/recruitment/member/signin" in j.drv.current_url:
        if check:
            j.check("member-signin")
        j.fill(code=m["code"])
        j.submit()
        wait_for(lambda: "/portal" in j.drv.current_url, "the portal")


def _tables_and_the_door(j: Journey, members: list[dict], sid: str, aid: str) -> None:
    """The secretariat plans the session's tables (2 rounds) and publishes them; a member shows
    their check-in code from the portal; a facilitator, signed in on a phone, checks them in at
    the door by that code, then opens the table plan's print view: one printed page per table and
    round (the browser's own PDF printer counts them)."""
    import base64
    import re

    t, drv = j.t, j.drv
    j.device("organiser")  # from the calendar: the session's tables, then the plan
    j.get(f"/sessions/assemblies/{aid}/calendar")
    j.el(f"main a[href$='/sessions/{sid}/tables']").click()
    j.el("main a[href$='/tables/plan']").click()
    j.tick(_radio_id(j, "seat", "roster"))
    j.fill(rounds="2", table_size="3", min_size="2", max_size="3")
    j.submit("form[action$='/tables/plan']")
    j.see(t("The table plan is made"))
    j.submit("form[action$='/tables/publish']")
    j.see(t("The table plan is published"))
    j.check("tables-plan", shots=True)
    # the member's code, on their phone
    j.visit.width(390)
    _portal(j, members[0], aid, check=True)
    j.visit.width(390)
    j.check("member-portal-before")
    j.visit.width(390)
    j.el("main a[href*='/my-check-in']").click()
    code = j.el("figcaption.bt-code").text.strip()
    j.check("member-check-in", shots=True)
    # the facilitator at the door, on a 390 px phone: the session, then the code typed in
    j.sign_in("facilitator", "facilitator", f"/sessions/assemblies/{aid}/door", aid)
    j.visit.width(390)
    j.check("door-choose")
    j.visit.width(390)
    j.el(f"main a[href*='/sessions/{sid}/door']").click()
    wait_for(lambda: drv.current_url.split("?")[0].endswith(f"/sessions/{sid}/door"), "the door page")
    j.fill(code=code.lower().replace("-", " "))
    j.submit("#door-form")
    wait_for(lambda: "?in=" in drv.current_url, "the member checked in")
    n = drv.current_url.split("in=")[1].split("&")[0]
    j.see(t("Member %(n)s is checked in") % {"n": n})
    j.see(t("Checked in: %(p)s of %(n)s") % {"p": 1, "n": 3})
    j.check("door", shots=True)
    # the table plan, from the door page, printed: one page per table and round, every member on
    # each round's pages
    j.el("main a[href$='/tables']").click()
    j.see(t("Round %(r)s") % {"r": 2})
    j.check("tables")
    j.el("main a[href$='/tables/print']").click()
    j.see(t("Table plan to print"))
    j.check("tables-print", shots=True)
    pdf = base64.b64decode(drv.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"])
    pages_ = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    sheets = j.els("section.bt-sheet")
    assert pages_ == len(sheets) == 2, (pages_, len(sheets))  # 2 rounds of 1 table of 3
    for sheet in sheets:
        assert len(sheet.find_elements("css selector", ".bt-sheet-list li")) == 3


def _radio_id(j: Journey, name: str, value: str) -> str:
    return j.el(f"input[name='{name}'][value='{value}']").get_attribute("id")


def _run_commands(text: str, folder: Path) -> None:
    """Run the commands a page prints (curl, borgerting), as a person would paste them."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    assert any(x.startswith("borgerting ") for x in lines), text
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for line in lines:
        done = subprocess.run(line, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{line}: {done.stdout[-800:]} {done.stderr[-800:]}"


@pytest.mark.timeout(900)  # the stack starts within the first run on a loaded machine
@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_step_of_the_demo_from_the_browser_only(cluster, browser, tmp_path, lang):  # noqa: F811
    started = time.monotonic()
    out = run_journey(browser, cluster.origin, lang, tmp_path, replay=lang == "da")  # the commands are the same in English
    print(f"\n{lang}: {round(time.monotonic() - started)} s; steps (s): {out['timings']}; axe: {out['axe']}")
    assert set(out["axe"].values()) == {0}


if __name__ == "__main__":  # against a running `make demo KEEP=1`: python -m tests.e2e.test_journey ORIGIN [da|en]
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.e2e.test_console import CHROMIUM, DRIVER

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--hide-scrollbars"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_script_timeout(60)
    try:
        lang = sys.argv[2] if len(sys.argv) > 2 else "da"
        print(run_journey(drv, sys.argv[1], lang, Path(tempfile.mkdtemp()), replay=lang == "da"))
    finally:
        drv.quit()
