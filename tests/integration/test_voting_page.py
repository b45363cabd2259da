"""The ballot page in headless Chromium (Debian's chromium + chromedriver, driven by Selenium):
the browser's RFC 9474 code reproduces the RFC's Appendix A vectors, and a member opens the page,
gets a token (blinded in the browser, signed by the service's Python issuer), votes, sees the
receipt, and finds the vote on the board after close. `make test` installs chromium when it is
missing; the test skips (saying why) only where it cannot be installed."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from services.voting.domain.blind_rsa import PublicKey
from services.voting.domain.verifier import verify_export
from shared.devstack import free_port
from tests.integration.test_voting_service import apply, assembly_with_panel  # noqa: F401

pytestmark = pytest.mark.integration

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "services" / "voting" / "tests" / "data" /
                      "rfc9474_vectors.json").read_text())["vectors"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("chromium and chromedriver are not installed (make test installs them with apt-get as root; "
                    "elsewhere: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(arg)
    opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3}})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_script_timeout(60)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def server(stack_env):
    """The voting API (role api) in a real HTTP server: the browser needs one."""
    import uvicorn

    from services.voting.app import SPEC
    from shared.runtime import build_app
    from shared.settings import Settings

    port = free_port()
    app = build_app(SPEC, "api", Settings())
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    srv.should_exit = True
    t.join(10)


def wait(fn, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = fn()
        if r:
            return r
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


JS_VECTORS = """
const [vectors, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const out = [];
  for (const v of vectors) {
    const key = {n: BigInt("0x" + v.n), e: BigInt("0x" + v.e), pem: v.pem};
    const B = BlindRSA;
    const prepared = B.prepare(B.hexToBytes(v.msg), v.name, v.msg_prefix ? B.hexToBytes(v.msg_prefix) : null);
    const r = B.modInv(BigInt("0x" + v.inv), key.n);
    const {blindedMsg, inv} = await B.blind(key, prepared, v.name, {salt: B.hexToBytes(v.salt), r});
    const sig = await B.finalize(key, prepared, B.hexToBytes(v.blind_sig), inv, v.name);
    out.push({name: v.name, prepared: B.bytesToHex(prepared), blinded: B.bytesToHex(blindedMsg),
              inv: B.bytesToHex(inv), sig: B.bytesToHex(sig)});
  }
  return out;
})().then(done, (e) => done({error: String(e)}));
"""


async def test_the_browser_blinds_exactly_as_rfc_9474_says(browser, server, sessionmaker, auth):
    aid, _, _ = await _ballot_setup(server, sessionmaker, auth, 2)
    bid = (await _open(server, auth, aid, {"title": "Vectors", "recommendations": ["x"]}))["id"]
    browser.get(f"{server}/ballots/{bid}/page?lang=en")
    vectors = [{**v, "pem": PublicKey(int(v["n"], 16), int(v["e"], 16)).to_pem()} for v in VECTORS]
    got = browser.execute_async_script(JS_VECTORS, vectors)
    assert not isinstance(got, dict), got
    assert len(got) == 4
    for v, g in zip(VECTORS, got):
        assert g["name"] == v["name"]
        assert (g["prepared"], g["blinded"], g["inv"], g["sig"]) == (v["prepared_msg"], v["blinded_msg"], v["inv"], v["sig"])


async def _ballot_setup(server, sessionmaker, auth, n):
    return await assembly_with_panel(sessionmaker, n, n)


async def _open(server, auth, aid, body):
    async with httpx.AsyncClient(base_url=server, timeout=60) as c:
        r = await c.post(f"/assemblies/{aid}/ballots", json=body, headers=auth.headers("organiser", aid))
        assert r.status_code == 201, r.text
        return r.json()


BALLOT = {
    "title": "Afstemning om anbefalingerne",
    "threshold": 0.7,
    "questions": [
        {"text": "Mere plads til cykler", "type": "yes_no_abstain"},
        {"text": "Bilfri bymidte", "type": "agree_scale", "points": 5},
        {"text": "Hvad skal finansieres først?", "type": "approval", "options": ["tram", "bus", "bike"]},
        {"text": "Prioriteter", "type": "ranking", "options": ["health", "housing", "climate"]},
    ],
}


async def test_a_member_votes_on_the_page_and_finds_the_vote_on_the_board(browser, server, sessionmaker, auth):
    from selenium.webdriver.common.by import By

    aid, members, _ = await _ballot_setup(server, sessionmaker, auth, 3)
    b = await _open(server, auth, aid, BALLOT)
    bid = b["id"]
    token = auth.token("member", aid, member_id=members[0])

    # Danish by default; English one click away; usable on a phone-sized screen.
    browser.get(f"{server}/ballots/{bid}/page")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "da"
    assert "Hent stemmenøgle" in browser.page_source
    browser.get(f"{server}/ballots/{bid}/page?lang=en#access_token={token}")
    assert "#access_token" not in browser.current_url  # the login token leaves the address bar at once
    width, screen = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert screen <= 400 and width <= screen, f"the page is {width}px wide on a {screen}px phone screen"

    el = lambda i: browser.find_element(By.ID, i)  # noqa: E731
    assert "Get your voting token now" in el("state").text
    el("get-token").click()
    wait(lambda: "valid voting token" in el("token-status").text, "the token", 60)
    assert not el("vote-form").is_displayed()  # no votes while tokens are issued
    opened = httpx.post(f"{server}/ballots/{bid}/open", headers=auth.headers("organiser", aid), timeout=30)
    assert opened.status_code == 200, opened.text
    browser.get(f"{server}/ballots/{bid}/page?lang=en")
    assert browser.find_elements(By.ID, "state") == [] and el("vote-form").is_displayed()

    def pick(css):
        browser.find_element(By.CSS_SELECTOR, css).click()

    pick("input[name='q-q1'][value='yes']")
    pick("input[name='q-q2'][value='4']")
    pick("input[name='q-q3'][value='tram']")
    pick("input[name='q-q3'][value='bike']")
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.CSS_SELECTOR, "select[name='q-q4'][data-option='climate']")).select_by_value("1")
    Select(browser.find_element(By.CSS_SELECTOR, "select[name='q-q4'][data-option='health']")).select_by_value("2")
    el("submit-vote").click()
    wait(lambda: el("receipt-box").is_displayed() and el("receipt-code").text, "the receipt", 30)
    code = el("receipt-code").text
    position, _, digest = code.partition(":")
    assert position == "1" and len(digest) == 64

    # While open, the board confirms the entry but shows no choices.
    el("check-receipt").click()
    wait(lambda: "position 1" in el("board-result").text, "the board lookup")
    assert "shown once the ballot has closed" in el("board-result").text

    # The same token cannot vote twice (the page remembers it voted; the API refuses a replay).
    tok = json.loads(browser.execute_script(f"return localStorage.getItem('borgerting-token-{bid}')"))
    r = httpx.post(f"{server}/ballots/{bid}/votes", json={"choices": {"q1": "no", "q2": 1, "q3": [], "q4": "abstain"},
                                                          "token": tok})
    assert r.status_code == 409 and r.json()["error"]["code"] == "token_already_used"

    closed = httpx.post(f"{server}/ballots/{bid}/close", headers=auth.headers("organiser", aid), timeout=30)
    assert closed.status_code == 200, closed.text
    browser.get(f"{server}/ballots/{bid}/page?lang=en")
    assert el("receipt-code").text == code  # the receipt stays on this device
    el("check-receipt").click()
    wait(lambda: browser.find_elements(By.ID, "board-choices"), "the choices on the board")
    shown = el("board-choices").text
    assert '"q1":"yes"' in shown and '"q2":4' in shown and '"q3":["tram","bike"]' in shown
    assert '"q4":["climate","health"]' in shown

    doc = httpx.get(f"{server}/assemblies/{aid}/board/export", timeout=30).json()
    report = verify_export(doc, receipts=[(int(position), digest)])
    assert report.ok, report.problem
    assert doc["entries"][0]["token_hash"] == browser.find_element(By.ID, "token-hash").text
    assert str(members[0]) not in json.dumps(doc)
