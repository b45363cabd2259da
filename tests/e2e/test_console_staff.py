"""Recruitment's and sessions' staff screens in headless Chromium behind the one origin, each page
checked with axe-core (tests/e2e/test_console.py's Visit: no serious or critical violation, no
sideways scrolling at 390 and 320 px): the operator creates an assembly from the form, the
registrar imports the register (a validation report, then the import) and watches invitations,
registrations against the quotas and the letters, the secretariat schedules a session, and a
facilitator marks attendance on a phone and closes the session after confirming."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.test_console import Visit, browser, draw_through_the_api, wait_for  # noqa: F401  (browser: the module's fixture)

pytestmark = pytest.mark.e2e


def sign_in(drv, cluster, path: str, role: str, aid: str | None = None) -> None:
    """Open `path` signed out, sign in as `role` (in `aid`) at the development issuer, land on it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    drv.delete_all_cookies()
    drv.get(f"{cluster.origin}{path}")
    assert "/reporting/signin" in drv.current_url, drv.current_url
    drv.find_element(By.PARTIAL_LINK_TEXT, "konto i myndigheden").click()
    drv.find_element(By.ID, f"role-{role}").click()
    if aid is not None:
        Select(drv.find_element(By.ID, "assembly")).select_by_value(aid)
    drv.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: drv.current_url.split("?")[0].endswith(path.split("?")[0]), f"{path} after signing in")


def test_recruitment_and_sessions_screens_pass_axe(cluster, staff, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    o, u = cluster.origin, cluster.urls
    drv, visit = browser, Visit(browser)

    def see(text: str) -> None:
        wait_for(lambda: text in drv.page_source, f"the page to say {text!r}", timeout=20)

    http = httpx.Client(timeout=30, auth=staff)

    # --- the operator creates an assembly from the form (errors first)
    sign_in(drv, cluster, "/recruitment/console/assemblies/new", "operator")
    visit.check("assembly-new")
    from selenium.webdriver.common.keys import Keys

    drv.find_element(By.ID, "panel_size").send_keys("1", Keys.ENTER)  # Enter creates (and is refused), adds no rows
    see("Angiv borgertingets navn")
    assert not drv.find_elements(By.ID, "region_code_5")
    visit.check("assembly-new-errors")
    name = f"Borgertinget om trafik {uuid.uuid4().hex[:4]}"
    for field, value in (("name", name), ("panel_size", "1"), ("region_code_0", "DK01"),
                         ("region_name_0", "Region Hovedstaden"), ("region_population_0", "1000"),
                         ("quota_value_0", "female"), ("quota_min_0", "0"), ("quota_max_0", "1"),
                         ("quota_value_1", "male"), ("quota_min_1", "0"), ("quota_max_1", "1")):
        box = drv.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    for i in (0, 1):
        Select(drv.find_element(By.ID, f"quota_category_{i}")).select_by_value("gender")
    drv.find_element(By.CSS_SELECTOR, "button.button-primary[value=save]").click()
    wait_for(lambda: "created=" in drv.current_url, "the assembly list after creating")
    see(f"{name} blev oprettet")
    visit.check("assemblies")
    aid = drv.current_url.split("created=")[1]
    staff.know(aid)
    cluster.issuer.assemblies[aid] = name

    # --- the registrar: the register import with its report, then the import
    sign_in(drv, cluster, f"/recruitment/assemblies/{aid}/register-import", "registrar", aid)
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text("person_id,name,address,region\n1,Karen Hansen,Algade 1,DK09\n")
    good.write_text("person_id,name,address,region\n1,Karen Hansen,Algade 1,DK01\n2,Ole Berg,Bygade 2,DK01\n")
    drv.find_element(By.ID, "extract").send_keys(str(bad))
    drv.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    see("Linje 2: regionen DK09")
    visit.check("register-import-report")
    drv.find_element(By.ID, "extract").send_keys(str(good))
    drv.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    see("2 personer blev importeret")
    visit.check("register-imported")
    codes = [x["code"] for x in http.post(f"{u['recruitment']}/assemblies/{aid}/invitation-batches",
                                          json={"count": 2, "seed": 1}).json()["letters"]]
    assert http.post(f"{u['recruitment']}/registrations", json={"code": codes[0], "consent": True,
                                                                "answers": {"gender": "female"}}).status_code == 201
    for page, name_ in (("recruitment", "recruitment"), ("invitations", "invitations"), ("reply-rates", "reply-rates"),
                        ("replies", "replies"), ("letters", "letters"), ("access", "access")):
        drv.get(f"{o}/recruitment/assemblies/{aid}/{page}")
        visit.check(name_)
    drv.get(f"{o}/recruitment/assemblies/{aid}/replies?lang=en")
    assert "Woman" in drv.page_source and "bt-chart-bar" in drv.page_source
    visit.check("replies-en")

    # --- the draw (API), so that sessions has a roster
    draw_through_the_api(http, u["sortition"], aid, secret="staff")

    # --- the secretariat schedules a session
    sign_in(drv, cluster, f"/sessions/assemblies/{aid}/calendar/new?lang=da", "organiser", aid)
    visit.check("session-new")
    for field, value in (("title", "Weekend 1"), ("duration_hours", "6,5")):
        box = drv.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    drv.execute_script("document.getElementById('date').value = '2027-03-06';"
                       "document.getElementById('time').value = '09:30';")
    drv.find_element(By.XPATH, "//label[normalize-space()='På stedet']").click()
    Select(drv.find_element(By.ID, "phase")).select_by_value("learning")
    drv.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(lambda: "done=scheduled" in drv.current_url, "the calendar after scheduling")
    assert "Lørdag 6. marts, 09.30" in drv.page_source
    wait_for(lambda: (drv.refresh() or True) and "Panelmedlemmer: 1" in drv.page_source,
             "sessions to receive the panel")
    visit.check("calendar")
    drv.get(f"{o}/recruitment/assemblies/{aid}/names")
    see("Svarenes navne")
    visit.check("value-names")
    drv.get(f"{o}/sessions/assemblies/{aid}/calendar")
    sid = drv.find_element(By.CSS_SELECTOR, "a[href$='/check-in']").get_attribute("href").rsplit("/", 2)[-2]

    # --- a facilitator at the door, on a phone: marks, saves, closes after confirming
    sign_in(drv, cluster, f"/sessions/sessions/{sid}/check-in", "facilitator", aid)
    visit.width(390)
    drv.find_element(By.XPATH, "//label[normalize-space()='Til stede']").click()
    drv.find_element(By.XPATH, "//button[normalize-space()='Gem fremmøde']").click()
    see("Fremmøde gemt: 1 markeret")
    visit.check("check-in")
    drv.find_element(By.LINK_TEXT, "Afslut som afholdt").click()
    see("Det kan ikke fortrydes")
    visit.check("close-session")
    drv.find_element(By.XPATH, "//button[normalize-space()='Afslut mødet som afholdt']").click()
    see("Mødet er afsluttet som afholdt")
    assert "1 til stede" in drv.page_source
    visit.check("calendar-held")
    print(f"\naxe (serious or critical violations per page): {visit.results}")
    assert set(visit.results.values()) == {0}
