"""The README's screenshots, taken from a running demo (`make demo KEEP=1` prints the arguments):

    .venv/bin/python docs/screens/take.py --origin http://127.0.0.1:PORT --assembly ID --member-code CODE

Headless Chromium (Debian's chromium + chromedriver, as in the tests) signs in as the secretariat
(the development issuer's OIDC flow) and as a member (a letter's code), and saves whole pages as
PNG here: desktop (1280 px) and phone (390 px) widths."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

from pages import member, staff  # noqa: E402  (benchmarks/pages.py: the sign-ins)


def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def shoot(drv, url: str, name: str, width: int) -> None:
    drv.set_window_size(width, 900)
    drv.get(url)
    height = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(width, min(height + 100, 4000))
    drv.save_screenshot(str(HERE / f"{name}.png"))
    print(f"wrote {HERE / (name + '.png')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--origin", required=True)
    ap.add_argument("--assembly", required=True)
    ap.add_argument("--member-code", required=True)
    a = ap.parse_args()
    o, aid = a.origin.rstrip("/"), a.assembly
    drv = driver()
    try:
        drv.get(f"{o}/reporting/signin")
        shoot(drv, f"{o}/recruitment/register?assembly={aid}", "registration-phone", 390)
        drv.add_cookie({"name": "borgerting_session", "value": staff(o, aid).cookies["borgerting_session"], "path": "/"})
        shoot(drv, f"{o}/reporting/assemblies/{aid}/dashboard", "dashboard", 1280)
        shoot(drv, f"{o}/reporting/assemblies/{aid}/dashboard?lang=en", "dashboard-en-phone", 390)
        drv.delete_all_cookies()
        drv.get(f"{o}/reporting/signin?lang=da")
        drv.add_cookie({"name": "borgerting_session", "value": member(o, a.member_code).cookies["borgerting_session"],
                        "path": "/"})
        shoot(drv, f"{o}/reporting/assemblies/{aid}/portal", "portal-phone", 390)
    finally:
        drv.quit()


if __name__ == "__main__":
    main()
