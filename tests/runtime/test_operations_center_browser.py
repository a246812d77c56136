"""The Operations Center in real browsers (headless Chromium on the package's platform): a
maker asks for a waiver of the demo's blocking alert on the Release readiness page, a checker
approves it on the Decisions page in her own session, and the maker runs the gate from the
page and sees it pass; a checker's approval of her own waiver request is refused on the page;
a payout freeze set by an operator on the Payouts page is lifted there by a checker (the
operator himself may not). The docs' screenshot script runs against the same platform.

The module seeds the demo back office once (the runbook done, but for the alert awaiting the
card network) and keeps one logged-in browser per person for all its tests.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from ops_domain.demo.cast import CAFE
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT
from scripts import demo_operator
from scripts.airflow_platform import Platform
from scripts.airflow_rest import AirflowClient
from scripts.operations_center_screenshots import take_screenshots
from tests.runtime.browser import WAIT_SECONDS, Browser, chromium
from tests.runtime.conftest import CLI_SETTINGS, DEMO_DATE, seed_demo

GATE = "release_readiness"
BLOCKING_ALERT = "#counter-open_high_alerts .item"


class OpsDesk:
    """One login's browser on the Operations Center (``/ops`` in the api-server)."""

    def __init__(self, browser: Browser, login: str) -> None:
        self.browser = browser
        self.driver = browser.driver
        self.login = login

    def open(self, page: str, **query: str) -> None:
        address = f"{self.browser.base_url}/ops/{page}"
        self.driver.get(f"{address}?{urlencode(query)}" if query else address)
        signed_in = self.element("#login")
        assert signed_in.text == self.login, f"the page says {signed_in.text!r} is signed in"

    def element(self, css: str) -> WebElement:
        return WebDriverWait(self.driver, WAIT_SECONDS).until(
            ready.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def text(self, css: str) -> str:
        return self.element(css).text

    def submit(self, form: WebElement, button_css: str, **fields: str) -> str:
        """Fill ``form``'s fields, press its button ``button_css``; the notice of the page it
        lands on (what was done, or ``Refused: ...`` and why)."""
        for name, value in fields.items():
            entry = form.find_element(By.NAME, name)
            entry.clear()
            entry.send_keys(value)
        self.driver.execute_script("window.opsPageBeforeSubmit = true")
        form.find_element(By.CSS_SELECTOR, button_css).click()
        # the next page is a new document, without the mark; while it loads, chromium may
        # answer with errors for the old one's nodes other than "stale element"
        WebDriverWait(self.driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
            lambda driver: driver.execute_script("return window.opsPageBeforeSubmit === undefined")
        )
        return self.text("#notice")

    def request_waiver(self, release_id: str, reason: str) -> int:
        """Ask for a waiver of the blocking alert of ``release_id``; the waiver's id."""
        self.open("readiness", release_id=release_id, environment=DEFAULT_ENVIRONMENT)
        item = self.element(BLOCKING_ALERT)
        item.find_element(By.CSS_SELECTOR, "details.ask summary").click()
        notice = self.submit(item.find_element(By.TAG_NAME, "form"), "button", reason=reason)
        asked = re.search(rf"waiver #(\d+) requested by {self.login}\b", notice)
        assert asked, notice
        return int(asked.group(1))

    def decide_waiver(self, waiver_id: int, verb: str, note: str) -> str:
        """Take ``verb`` on the waiver on the Decisions page; the page's notice."""
        self.open("decisions")
        form = self.element(f"#decide-waivers-{waiver_id}")
        return self.submit(form, f"button[data-verb='{verb}']", note=note)


def logged_in(platform: Platform, login: str) -> Iterator[OpsDesk]:
    with chromium(platform.base_url) as browser:
        browser.log_in(login, platform.logins.passwords[login])
        yield OpsDesk(browser, login)


@pytest.fixture(scope="module")
def back_office(platform: Platform) -> date:
    """The demo's back office with the runbook done but for the alert that waits on the
    card network: the one item blocking a release."""
    seed_demo(platform.env, DEMO_DATE)
    with pytest.MonkeyPatch.context() as env:
        for name in CLI_SETTINGS:
            env.setenv(name, platform.env[name])
        operator = demo_operator.OperatorLog()
        for step in demo_operator.OPERATOR_STEPS:
            step(operator)
    return DEMO_DATE


@pytest.fixture(scope="module")
def maker(platform: Platform, back_office: date) -> Iterator[OpsDesk]:
    yield from logged_in(platform, demo_operator.OPERATOR)


@pytest.fixture(scope="module")
def checker(platform: Platform, back_office: date) -> Iterator[OpsDesk]:
    yield from logged_in(platform, demo_operator.CHECKER)


def test_a_maker_and_a_checker_waive_the_blocking_alert_and_the_maker_gates_the_release(
    maker: OpsDesk, checker: OpsDesk, client: Callable[[str], AirflowClient]
) -> None:
    release = f"{DEMO_DATE:%Y.%m.%d}-ops-center"
    waiver_id = maker.request_waiver(release, "chargeback awaits the card network's ruling")

    assert "pending" in maker.text(f"#waiver-{waiver_id}")
    assert "fail" in maker.text("#counter-open_high_alerts")
    decided = checker.decide_waiver(waiver_id, "approve", "accepted for this release only")

    assert decided == f"waiver requests: #{waiver_id} approve by rita"
    maker.open("readiness", release_id=release, environment=DEFAULT_ENVIRONMENT)
    assert "approved" in maker.text(f"#waiver-{waiver_id}")
    assert "waived" in maker.text(BLOCKING_ALERT)
    started = maker.submit(maker.element("#gate form"), "#trigger-gate")
    run_id = re.search(rf"{GATE} run (\S+) started as oscar", started)
    assert run_id, started
    outcome = client("oscar").wait(GATE, run_id.group(1))

    assert (outcome.state, outcome.triggering_user) == ("success", "oscar"), outcome.states()
    maker.open("readiness", release_id=release, environment=DEFAULT_ENVIRONMENT)
    assert maker.text("#gate .status") == "ready"
    assert run_id.group(1) in maker.text("#gate")


def test_a_checker_who_asked_for_a_waiver_cannot_approve_it_on_the_page(checker: OpsDesk) -> None:
    """rita (risk) may both ask for and approve waivers, never her own."""
    release = f"{DEMO_DATE:%Y.%m.%d}-own-request"
    waiver_id = checker.request_waiver(release, "asked and approved by the same person?")

    refused = checker.decide_waiver(waiver_id, "approve", "looks fine to me")

    assert refused.startswith("Refused:"), refused
    assert refused.endswith("the checker 'rita' is the maker")
    assert checker.element(f"#decide-waivers-{waiver_id}")  # still waiting for a checker
    checker.open("readiness", release_id=release, environment=DEFAULT_ENVIRONMENT)
    assert "pending" in checker.text(f"#waiver-{waiver_id}")


def test_a_freeze_is_set_by_one_login_and_lifted_by_another_on_the_payouts_page(
    maker: OpsDesk, checker: OpsDesk
) -> None:
    reason = "card scheme incident drill"
    maker.open("payouts")
    notice = maker.submit(maker.element("#set-freeze"), "button", reason=reason, merchant_code=CAFE)
    set_by = re.search(r"freeze #(\d+) set by oscar", notice)
    assert set_by, notice
    freeze = f"#freeze-{set_by.group(1)}"

    assert reason in maker.text(freeze)
    assert CAFE in maker.text(freeze)
    refused = maker.submit(maker.element(f"{freeze} form"), "button", note="lifting my own")
    assert refused.startswith("Refused: actor 'oscar' may not"), refused
    assert maker.element(freeze)  # still active
    checker.open("payouts")
    lifted = checker.submit(checker.element(f"{freeze} form"), "button", note="drill over")

    assert lifted == f"freeze #{set_by.group(1)} lifted by rita"
    assert not checker.driver.find_elements(By.CSS_SELECTOR, freeze)
    assert "rita" in checker.text(f"#lifted-{set_by.group(1)}")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (its IHDR chunk)."""
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_the_screenshot_script_writes_every_page(
    platform: Platform, back_office: date, tmp_path: Path
) -> None:
    login = demo_operator.CHECKER
    written = take_screenshots(platform.base_url, login, platform.logins.passwords[login], tmp_path)

    assert [path.name for path in written] == [
        "readiness.png", "decisions.png", "payouts.png", "rollback.png", "charts.png",
        "in-airflow.png",
    ]  # fmt: skip
    assert {png_size(path) for path in written} == {(1400, 900)}
