"""Run in a fresh interpreter by ``test_airflow_hostile``: parse the DAGs as the DAG processor
does, feed every Param junk, ask every task's retry policy about each error; print JSON.

A separate process keeps Airflow's import-time configuration away from the test session.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from ops_domain.errors import (
    ActorNotAllowed,
    DatabaseUnavailable,
    IllegalTransition,
    InvalidInput,
    KeycloakUnavailable,
    PeriodClosed,
    ReadinessNotEvaluated,
)

JUNK: list[Any] = [
    "",
    " ",
    "2026-02-30",
    "2026-13-01",
    "20261120",
    "2026-11-20T25:00:00",
    "yesterday",
    "0000-00-00",
    "'; DROP TABLE settlements; --",
    "1 OR 1=1",
    "usd",
    "ÜSD",
    "\u202eDSU",
    "ñ" * 600,
    "x" * 10_000,
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    -1,
    0,
    10**12,
    1.5,
    True,
    [],
    {},
    ["2026-11-20"],
    {"$ne": None},
]
ERRORS: dict[str, BaseException] = {
    "DatabaseUnavailable": DatabaseUnavailable("database unavailable at host:5432/ops"),
    "KeycloakUnavailable": KeycloakUnavailable("keycloak admin API unreachable"),
    "OperationalError": OperationalError("SELECT 1", {}, Exception("server closed")),
    "InterfaceError": InterfaceError("SELECT 1", {}, Exception("connection already closed")),
    "InvalidInput": InvalidInput("period_end must not be before period_start"),
    "ActorNotAllowed": ActorNotAllowed("eve", "automate_settlements", ["operation"]),
    "IllegalTransition": IllegalTransition("payout", "settled", "pending"),
    "PeriodClosed": PeriodClosed("USD", "2026-10-31", "2026-10-01..2026-10-31"),
    "ReadinessNotEvaluated": ReadinessNotEvaluated("gate could not evaluate"),
    "IntegrityError": IntegrityError("INSERT", {}, Exception("duplicate key")),
    "ValueError": ValueError("a bug"),
    "KeyError": KeyError("a bug"),
}


def param_outcomes(dags: dict[str, Any]) -> list[dict[str, Any]]:
    from airflow.sdk.definitions.param import ParamValidationError

    outcomes = []
    for dag_id, dag in sorted(dags.items()):
        for name in dag.params:
            param = dag.params.get_param(name)
            for index, junk in enumerate(JUNK):
                try:
                    copy.deepcopy(param).resolve(value=junk)
                    outcome = "accepted"
                except ParamValidationError:
                    outcome = "refused"
                except Exception as exc:  # reported, the test fails on it
                    outcome = f"crash: {type(exc).__name__}"
                outcomes.append(
                    {
                        "dag": dag_id,
                        "param": name,
                        "schema": param.schema,
                        "junk": index,
                        "junk_is_text": isinstance(junk, str),
                        "junk_length": len(junk) if isinstance(junk, str) else None,
                        "outcome": outcome,
                    }
                )
    return outcomes


def retry_decisions(dags: dict[str, Any]) -> list[dict[str, Any]]:
    decisions = []
    for dag_id, dag in sorted(dags.items()):
        for task in dag.tasks:
            for name, error in ERRORS.items():
                decision = task.retry_policy.evaluate(error, try_number=1, max_tries=4)
                decisions.append(
                    {
                        "task": f"{dag_id}.{task.task_id}",
                        "error": name,
                        "action": decision.action.value,
                    }
                )
    return decisions


def main() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
    print(
        json.dumps(
            {
                "import_errors": sorted(bag.import_errors),
                "params": param_outcomes(bag.dags),
                "retries": retry_decisions(bag.dags),
            }
        )
    )


if __name__ == "__main__":
    main()
