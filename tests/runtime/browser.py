"""A person in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``)
driven by selenium through Airflow's own UI, as one login."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from scripts.headless_chromium import headless_chromium

WAIT_SECONDS = 20
TRIGGER_FORM = "//div[@role='dialog'][contains(., 'Run Parameters')]"


class Browser:
    """One login's browser session on the Airflow UI at ``base_url``."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")

    def log_in(self, login: str, password: str) -> None:
        self.driver.get(f"{self.base_url}/auth/login")
        self._wait_for(By.NAME, "username").send_keys(login)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(self.driver, WAIT_SECONDS).until(lambda d: "/auth/login" not in d.current_url)

    def open_trigger_form(self, dag_id: str) -> None:
        self.driver.get(f"{self.base_url}/dags/{dag_id}")
        self._wait_for(By.CSS_SELECTOR, "button[aria-label='Trigger Dag']").click()
        self._wait_for(By.XPATH, TRIGGER_FORM)

    def field(self, label: str) -> WebElement:
        """The form's input labelled ``label`` (the first one in the label's field)."""
        entry = "*[self::input[not(@type='hidden')] or self::textarea]"
        return self._wait_for(
            By.XPATH,
            f"{TRIGGER_FORM}//label[starts-with(normalize-space(.), '{label}')]"
            f"/ancestor::*[.//{entry}][1]//{entry}",
        )

    def labels(self) -> list[str]:
        """The labels of the form's fields (required ones end with ``*``)."""
        self._wait_for(By.XPATH, f"{TRIGGER_FORM}//label[contains(., '*')]")
        form = self.driver.find_element(By.XPATH, TRIGGER_FORM)
        texts = (
            label.get_attribute("textContent") or ""
            for label in form.find_elements(By.TAG_NAME, "label")
        )
        return [text.strip() for text in texts if text.strip()]

    def trigger_button(self) -> WebElement:
        return next(
            button
            for button in self.driver.find_elements(By.XPATH, f"{TRIGGER_FORM}//button")
            if button.text.strip() == "Trigger"
        )

    def submit(self) -> None:
        self.trigger_button().click()

    def submit_and_open_run(self) -> str:
        """Trigger the run; the UI opens its page, whose address names the run id."""
        self.submit()
        WebDriverWait(self.driver, WAIT_SECONDS).until(lambda d: "/runs/" in d.current_url)
        return self.driver.current_url.rsplit("/runs/", 1)[1]

    def shows(self, text: str) -> bool:
        """Whether ``text`` appears on the page within the wait."""
        try:
            WebDriverWait(self.driver, WAIT_SECONDS).until(
                lambda d: text in d.find_element(By.TAG_NAME, "body").text
            )
        except TimeoutException:
            return False
        return True

    def open_run(self, dag_id: str, run_id: str) -> None:
        self.driver.get(f"{self.base_url}/dags/{dag_id}/runs/{run_id}")

    def _wait_for(self, by: str, value: str) -> WebElement:
        return WebDriverWait(self.driver, WAIT_SECONDS).until(
            ready.presence_of_element_located((by, value))
        )


@contextmanager
def chromium(base_url: str) -> Iterator[Browser]:
    """A fresh headless Chromium session (its own cookies: a second person), always quit."""
    with headless_chromium() as driver:
        yield Browser(driver, base_url)
