"""Two people, two browsers (real headless Chromium on Airflow's own UI): a maker's gate run
fails and the UI shows it, a checker approves the waiver through the decision DAG's form in
her own session; the trigger forms refuse bad input where the person sees it. (That the next
gate run passes is proved in the Operations Center's browser test and over REST in
test_release_gate: a third passing gate run here would prove nothing new.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scripts import demo_operator
from scripts.airflow_platform import Platform
from scripts.airflow_rest import AirflowClient
from tests.runtime.browser import Browser, chromium

GATE = "release_readiness"
DECISION = "readiness_waiver_decision"


def trigger_gate(maker: Browser, release: str) -> str:
    maker.open_trigger_form(GATE)
    maker.field("Release id").send_keys(release)
    return maker.submit_and_open_run()


def test_a_maker_fails_the_gate_and_a_checker_decides_the_waiver_in_two_browser_sessions(
    platform: Platform,
    demo_back_office: date,
    in_platform_env: None,
    ops_cli: Callable[..., Any],
    client: Callable[[str], AirflowClient],
) -> None:
    release = f"{demo_back_office:%Y.%m.%d}-browser"
    operator = demo_operator.OperatorLog()
    for step in demo_operator.OPERATOR_STEPS:  # the runbook, but for the open high alerts
        step(operator)
    passwords = platform.logins.passwords

    with chromium(platform.base_url) as maker, chromium(platform.base_url) as checker:
        maker.log_in("oscar", passwords["oscar"])
        failing = client("oscar").wait(GATE, trigger_gate(maker, release))

        assert (failing.state, failing.triggering_user) == ("failed", "oscar")
        assert failing.failed_tasks() == ["business_state.readiness_snapshot", "release_gate"]
        maker.open_run(GATE, failing.run_id)
        assert maker.shows("Failed")

        alerts = [str(alert["id"]) for alert in demo_operator.open_high_alerts(operator)]
        expires = (datetime.now(UTC) + timedelta(days=2)).isoformat(timespec="seconds")
        waiver = ops_cli(
            "waivers", "request", "--counter", "open_high_alerts",
            *[flag for alert in alerts for flag in ("--item-id", alert)],
            "--reason", "awaiting the card network; not release related",
            "--expires-at", expires, "--release-id", release, "--actor-username", "oscar",
        )  # fmt: skip
        checker.log_in("rita", passwords["rita"])
        checker.open_trigger_form(DECISION)
        checker.field("Waiver id").send_keys(str(waiver["id"]))
        checker.field("Note").send_keys("accepted for this release only")
        decided = client("rita").wait(DECISION, checker.submit_and_open_run())

        assert (decided.state, decided.triggering_user) == ("success", "rita")
        checker.open_run(DECISION, decided.run_id)
        assert checker.shows("Success")
        listed = ops_cli("waivers", "list", "--release-id", release, "--actor-username", "rita")
        assert [(row["id"], row["status"]) for row in listed["items"]] == [
            (waiver["id"], "approved")
        ]


def test_the_trigger_forms_refuse_bad_input_visibly(
    platform: Platform, client: Callable[[str], AirflowClient]
) -> None:
    runs_before = len(client("oscar").runs(GATE))
    with chromium(platform.base_url) as person:
        person.log_in("oscar", platform.logins.passwords["oscar"])

        person.open_trigger_form(GATE)
        person.field("Release id").send_keys("   ")
        person.submit()
        assert person.shows("Invalid input for param release_id")

        person.open_trigger_form("settlement_automation")
        business_date = person.field("Business date")
        business_date.click()
        business_date.send_keys("02302026")  # 30 February: the picker cannot read it
        assert person.shows("This field is required")
        assert not person.trigger_button().is_enabled()
        for count in ("Look-back days", "Merchant shards"):  # dropdowns: nothing to clamp
            assert person.field(count).get_attribute("role") == "combobox"

        person.open_trigger_form("emergency_lift_payout_freeze")
        required = [label.rstrip(" *") for label in person.labels() if label.endswith("*")]
        assert required == ["Freeze id", "Note"]

    assert len(client("oscar").runs(GATE)) == runs_before
