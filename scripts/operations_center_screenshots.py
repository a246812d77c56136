"""Screenshots of every Operations Center page, for the docs: ``python -m
scripts.operations_center_screenshots`` against a running platform (``make demo`` then ``make
airflow``; ``--base-url`` if it is not on the default port).

It logs in as one person of the demo cast (Airflow's ``POST /auth/token`` with the password
``make airflow`` generated under ``var/``, the token set as the UI's session cookie), finds
the pages in the Operations Center's own navigation, and writes one PNG per page plus one of
a page shown inside Airflow's UI, at a fixed window size. It only reads: nothing is clicked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from ops_domain.config import PROJECT_ROOT, Settings
from scripts.airflow_local import DEFAULT_UI_PORT
from scripts.airflow_logins import PASSWORDS_FILE
from scripts.airflow_platform import HOST
from scripts.headless_chromium import headless_chromium
from scripts.operations_center import home_url
from scripts.stack import airflow_home

OUT = PROJECT_ROOT / "docs" / "operations_center"
WIDTH, HEIGHT = 1400, 900
WAIT_SECONDS = 30
LOGIN = "rita"  # risk: a checker who may read every list the pages show
IN_AIRFLOW = "in-airflow.png"
# Charts draw on a canvas with an animation: once each chart exists, redraw it without one.
CHARTS_DRAWN = """
const canvases = [...document.querySelectorAll('canvas')];
if (!canvases.length) return true;
if (!window.Chart || !canvases.every(c => Chart.getChart(c))) return false;
for (const canvas of canvases) {
  const chart = Chart.getChart(canvas);
  chart.options.animation = false;
  chart.update('none');
}
return true;
"""


def generated_password(login: str) -> str:
    """The password ``make airflow`` generated for ``login`` (under ``var/``)."""
    passwords = json.loads((airflow_home(Settings.from_env().var_dir) / PASSWORDS_FILE).read_text())
    return str(passwords[login])


def session_token(base_url: str, login: str, password: str) -> str:
    """A JWT for ``login``, as Airflow's UI gets one at login."""
    response = httpx.post(
        f"{base_url}/auth/token",
        json={"username": login, "password": password},
        timeout=WAIT_SECONDS,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def fit_viewport(driver: WebDriver) -> None:
    """Make the page area (not the window around it) ``WIDTH`` x ``HEIGHT``."""
    inner_width, inner_height = driver.execute_script(
        "return [window.innerWidth, window.innerHeight]"
    )
    window = driver.get_window_size()
    driver.set_window_size(
        window["width"] + WIDTH - inner_width, window["height"] + HEIGHT - inner_height
    )


def open_page(driver: WebDriver, url: str) -> None:
    """Load ``url`` and wait until it shows who is signed in (a refusal page does not) and
    its charts are drawn."""
    driver.get(url)
    WebDriverWait(driver, WAIT_SECONDS).until(ready.presence_of_element_located((By.ID, "login")))
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.execute_script(CHARTS_DRAWN))


def navigation(driver: WebDriver) -> list[tuple[str, str]]:
    """(slug, address) of each page in the Operations Center's navigation, in its order."""
    links = driver.find_elements(By.CSS_SELECTOR, "header nav a")
    addresses = [str(link.get_attribute("href")) for link in links]
    return [(address.rsplit("/", 1)[1].split("?")[0], address) for address in addresses]


def take_screenshots(base_url: str, login: str, password: str, out: Path) -> list[Path]:
    """One PNG per page of the navigation, then one inside Airflow's UI; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    token = session_token(base_url, login, password)
    written = []
    with headless_chromium(WIDTH, HEIGHT) as driver:
        driver.get(f"{base_url}/auth/login")  # the cookie belongs to the api-server's origin
        driver.add_cookie({"name": "_token", "value": token, "path": "/"})
        fit_viewport(driver)
        open_page(driver, home_url(base_url))
        for slug, address in navigation(driver):
            open_page(driver, address)
            written.append(out / f"{slug}.png")
            driver.save_screenshot(str(written[-1]))
        first = navigation(driver)[0][0]
        driver.get(f"{base_url}/plugin/ops-{first}")  # the page inside Airflow's own UI
        WebDriverWait(driver, WAIT_SECONDS).until(
            ready.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe"))
        )
        WebDriverWait(driver, WAIT_SECONDS).until(
            ready.presence_of_element_located((By.ID, "login"))
        )
        driver.switch_to.default_content()
        written.append(out / IN_AIRFLOW)
        driver.save_screenshot(str(written[-1]))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.operations_center_screenshots")
    port = os.environ.get("AIRFLOW__API__PORT") or DEFAULT_UI_PORT  # as make airflow picks it
    parser.add_argument(
        "--base-url", default=f"http://{HOST}:{port}", help="the running Airflow UI"
    )
    parser.add_argument("--login", default=LOGIN, help="who is logged in (demo cast)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    args = parser.parse_args(argv)
    password = generated_password(args.login)
    for path in take_screenshots(args.base_url.rstrip("/"), args.login, password, args.out):
        print(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
