"""``make demo``: the whole platform on one machine, from an empty database to a green gate.

1. The embedded PostgreSQL gets two databases with separate logins (``airflow``, ``ops``),
   the ops schema and RBAC, and the deterministic demo back office (``seed_demo --reset``).
2. The real DAGs run for the demo's business date with ``dag.test()``: settlement
   automation with payouts (the daily run, whose one-day look-back covers the unsettled
   window), refund, case and work-queue escalation, and an attempt to close the month, which
   the blockers stop.
3. ``release_readiness`` runs every runbook check and fails; its gate table is printed.
4. An operator clears the blockers with the runbook's commands (checker approvals, payout
   resubmission, break resolution, one waiver approved by a second person), and
   ``release_readiness`` passes.

Progress goes to the terminal; Airflow's, Great Expectations' and pytest's own output goes
to ``var/logs/demo.log``. Every run recreates the demo's databases (whatever was in them), so
it starts clean and ends the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, create_engine, text

from ops_domain.config import Settings
from ops_domain.demo.plan import DemoPlan
from scripts import demo_operator
from scripts.airflow_local import DEFAULT_UI_PORT
from scripts.airflow_platform import HOST
from scripts.airflow_runs import DagRunOutcome, migrate_metadata_here, run_dag
from scripts.demo_operator import OperatorLog
from scripts.operations_center import demo_release_url
from scripts.platform_services import KEYCLOAK_SETTINGS, observability
from scripts.stack import (
    DATABASES,
    OPS_LOGINS,
    OWNER_URL_ENV,
    grant_ops_logins,
    local_environment,
    logs_dir,
)

TOTAL_STEPS = 12
DEFAULT_UI_URL = f"http://{HOST}:{DEFAULT_UI_PORT}"  # where make airflow serves the UI
TABLE_WIDTH = 110


class Console:
    """Progress lines on the terminal; everything written to stdout/stderr (by Airflow, GX,
    pytest, warnings) goes to the log file instead, at the file-descriptor level."""

    def __init__(self, log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self.terminal: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
        self.log_path = log_path
        self._log = log_path.open("wb")
        os.dup2(self._log.fileno(), 1)
        os.dup2(self._log.fileno(), 2)
        self._step = 0

    def say(self, line: str = "") -> None:
        self.terminal.write(line + "\n")

    def step(self, what: str, action: Callable[[], str]) -> None:
        """Run one step and print ``[n/N] what: outcome (seconds)``."""
        self._step += 1
        started = time.monotonic()
        print(f"==> step {self._step}: {what}", flush=True)  # a landmark in the log
        outcome = action()
        self.say(
            f"[{self._step:>2}/{TOTAL_STEPS}] {what}: {outcome}"
            f" ({time.monotonic() - started:.1f} s)"
        )

    @property
    def current_step(self) -> int:
        return self._step


def shown(path: Path) -> str:
    """A path as the reader would type it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def counts_text(counts: dict[str, Any]) -> str:
    nonzero = [f"{name} {value}" for name, value in counts.items() if value]
    return ", ".join(nonzero) or "nothing to do"


def blockers_found(engine: Engine, run_id: str) -> list[tuple[str, int]]:
    """Blockers each currency's dry run counted, from its job-run record."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT parameters ->> 'currency', (counts ->> 'blockers')::int FROM job_runs"
                " WHERE idempotency_key LIKE :key AND counts ? 'blockers'"
                " ORDER BY parameters ->> 'currency'"
            ),
            {"key": f"accounting_period_governance/{run_id}/list_blockers/%"},
        )
        return [(currency, count) for currency, count in found]


def gate_table(engine: Engine, release_id: str) -> list[str]:
    """The stored verdict of the latest evaluation of ``release_id``, one row per check."""
    with engine.connect() as conn:
        snapshot = conn.execute(
            text(
                "SELECT id, verdict, checks FROM release_snapshots"
                " WHERE release_id = :release ORDER BY id DESC LIMIT 1"
            ),
            {"release": release_id},
        ).one()
    width = max(len(check["name"]) for check in snapshot.checks)
    lines = [
        f"      release {release_id}: verdict {snapshot.verdict.upper()}"
        f" (release snapshot #{snapshot.id})",
        f"      {'check'.ljust(width)}  status  summary",
    ]
    indent = " " * (6 + width + 2 + 6 + 2)
    for check in snapshot.checks:
        first = f"      {check['name'].ljust(width)}  {check['status'].ljust(6)}  "
        lines += textwrap.wrap(
            check["summary"], width=TABLE_WIDTH, initial_indent=first, subsequent_indent=indent
        )
    return lines


@contextmanager
def owner_login() -> Iterator[None]:
    """Migrations and demo data are the owner's work (ops-migrate's in compose); the DAGs and
    the operator's commands run as the application role."""
    application = os.environ["OPS_DATABASE_URL"]
    os.environ["OPS_DATABASE_URL"] = os.environ[OWNER_URL_ENV]
    try:
        yield
    finally:
        os.environ["OPS_DATABASE_URL"] = application


class Demo:
    """The demo's state between steps: the plan, the engine, the release being gated."""

    def __init__(self, console: Console, business_date: date, var_dir: Path) -> None:
        self.console = console
        self.plan = DemoPlan.build("small", 1, business_date)
        self.var_dir = var_dir
        self.release_id = f"{self.plan.as_of:%Y.%m.%d}-demo"
        self.setup = OperatorLog()
        self.operator = OperatorLog()
        self.engine: Engine | None = None

    @property
    def ops(self) -> Engine:
        assert self.engine is not None
        return self.engine

    def databases(self) -> str:
        os.environ.update(local_environment(self.var_dir, fresh=tuple(DATABASES)))
        self.engine = create_engine(os.environ["OPS_DATABASE_URL"])
        return (
            "airflow (metadata, login airflow), ops (business, owner ops, used as ops_app) and"
            " ops_audit (login ops_audit) on the"
            f" embedded PostgreSQL under {shown(self.var_dir / 'pgdata')}"
        )

    def schema(self) -> str:
        with owner_login():
            migrated = self.setup.run("migrate")
            self.setup.run("seed_rbac")
        grant_ops_logins(os.environ[OWNER_URL_ENV])
        return (
            f"ops schema at revision {migrated['after']}, role matrix seeded, logins"
            f" {', '.join(OPS_LOGINS)} granted"
        )

    def demo_data(self) -> str:
        with owner_login():
            seeded = self.setup.run(
                "seed_demo", "--reset", "--business-date", self.plan.business_date.isoformat()
            )
        counters = ", ".join(f"{k} {v}" for k, v in seeded["readiness_counters"].items())
        return f"{seeded['tables']['cashflow_events']} events; readiness counters: {counters}"

    def airflow_metadata(self) -> str:
        migrate_metadata_here()
        return "airflow db migrate, pool ops_db (4 slots)"

    def settle(self, day: date) -> str:
        run = run_dag(
            "settlement_automation",
            {"business_date": day.isoformat()},
            datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC).replace(hour=1),
        )
        return self._outcome(run, lambda: counts_text(run.returns["report"]["counts"]))

    def escalate(self, dag_id: str, job: str) -> str:
        run = run_dag(dag_id, {}, self.plan.as_of, login="oscar")
        return self._outcome(run, lambda: counts_text(run.returns[job]["counts"]))

    def close_month(self) -> str:
        first, last = self.plan.previous_month
        conf = {
            "action": "close",
            "period_start": first.isoformat(),
            "period_end": last.isoformat(),
        }
        run = run_dag("accounting_period_governance", conf, self.plan.as_of, login="alice")
        if run.succeeded:
            return f"{first:%B %Y} closed"
        if not any(task.startswith("list_blockers") for task in run.failed_tasks()):
            raise RuntimeError(f"period close failed in {run.failed_tasks()}")
        blocked = ", ".join(
            f"{currency} {count}" for currency, count in blockers_found(self.ops, run.run_id)
        )
        return f"refused, nothing closed; blockers per currency: {blocked} (listed in the log)"

    def gate(self, expect_ready: bool) -> str:
        conf = {"release_id": self.release_id, "environment": "production"}
        run = run_dag("release_readiness", conf, datetime.now(UTC), login="oscar")
        if run.succeeded != expect_ready:
            raise RuntimeError(f"release_readiness ended {run.state}: {run.failed_tasks()}")
        if run.succeeded:
            return "PASSED: the release may ship"
        failed = sorted({task.split(".")[-1] for task in run.failed_tasks()} - {"release_gate"})
        return f"FAILED, as expected: {', '.join(failed)}"

    def resolve(self) -> str:
        for step in demo_operator.OPERATOR_STEPS:
            step(self.operator)
        demo_operator.waive_remaining_alerts(self.operator, self.release_id)
        return f"{len(self.operator.commands)} runbook commands"

    def _outcome(self, run: DagRunOutcome, summary: Callable[[], str]) -> str:
        if not run.succeeded:
            raise RuntimeError(f"{run.dag_id} {run.state}: failed tasks {run.failed_tasks()}")
        return f"success - {summary()}"


def run_story(demo: Demo) -> None:
    console, plan = demo.console, demo.plan
    console.step("databases", demo.databases)
    console.step("migrations and RBAC", demo.schema)
    console.step(f"demo data for business date {plan.business_date}", demo.demo_data)
    console.step("Airflow metadata database", demo.airflow_metadata)
    with observability(
        os.environ["OPS_DATABASE_URL"],
        demo.var_dir / "demo" / "prometheus",
        logs_dir(demo.var_dir) / "prometheus.log",
    ) as services:
        os.environ.update(services.environment())
        scraped = (
            f"Prometheus {services.prometheus_url} scraping it"
            if services.prometheus_url
            else "no Prometheus installed: the check reads the endpoint only"
        )
        console.say(
            f"        metrics exporter {services.metrics_url} (token), {scraped};"
            f" Keycloak realm from {Path(KEYCLOAK_SETTINGS['KEYCLOAK_REALM_EXPORT']).name}"
        )
        first, last = plan.window
        console.step(
            f"DAG settlement_automation {last} (look-back from {first})",
            lambda: demo.settle(last),
        )
        console.say(f"        escalations run as of {plan.as_of:%Y-%m-%d %H:%M} UTC")
        for dag_id, job in (
            ("refund_dispute_escalation", "escalate_refund_disputes"),
            ("case_sla_escalation", "escalate_operation_cases"),
            ("ops_work_queue_escalation", "escalate_ops_work_queue"),
        ):
            console.step(f"DAG {dag_id}", lambda d=dag_id, j=job: demo.escalate(d, j))
        console.step(
            f"DAG accounting_period_governance close {plan.previous_month[0]:%B %Y}",
            demo.close_month,
        )
        services.wait_until_scraped()  # long since, as a rule: the gate reads the series
        console.step(f"DAG release_readiness {demo.release_id}", lambda: demo.gate(False))
        for line in gate_table(demo.ops, demo.release_id):
            console.say(line)
        console.step("operator clears the blockers", demo.resolve)
        for summary in demo.operator.summaries:
            console.say(f"        - {summary}")
        console.step(f"DAG release_readiness {demo.release_id} again", lambda: demo.gate(True))
        for line in gate_table(demo.ops, demo.release_id):
            console.say(line)


def where_to_look(console: Console, demo: Demo) -> None:
    commands = demo.var_dir / "logs" / "demo-operator-commands.txt"
    commands.write_text("\n".join(demo.operator.commands) + "\n")
    for line in (
        "",
        "where to look next:",
        f"  {shown(console.log_path)}: Airflow's own output of every DAG run above",
        f"  {shown(commands)}: the operator's commands, one per line",
        f"  make airflow: the Airflow UI on {DEFAULT_UI_URL} with these runs (same databases)",
        "  python -m ops_domain --help: every runbook command; README.md: runbook table",
    ):
        console.say(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__)
    parser.add_argument(
        "--business-date",
        type=date.fromisoformat,
        default=datetime.now(UTC).date() - timedelta(days=1),
        help="YYYY-MM-DD the demo data is relative to (default: yesterday, UTC)",
    )
    args = parser.parse_args(argv)
    var_dir = Settings.from_env().var_dir.resolve()
    console = Console(logs_dir(var_dir) / "demo.log")
    demo = Demo(console, args.business_date, var_dir)
    started = time.monotonic()
    console.say(
        f"wallet-ops demo: business date {demo.plan.business_date},"
        f" release {demo.release_id}; Airflow output in {shown(console.log_path)}"
    )
    try:
        run_story(demo)
    except Exception as exc:
        traceback.print_exc()
        console.say(
            f"demo FAILED at step {console.current_step}: {type(exc).__name__}: {exc}"
            f"\n  details: {shown(console.log_path)}"
        )
        return 1
    where_to_look(console, demo)
    console.say(f"demo finished in {time.monotonic() - started:.0f} s")
    console.say(
        f"Operations Center for release {demo.release_id} (after make airflow):"
        f" {demo_release_url(DEFAULT_UI_URL, demo.release_id)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
