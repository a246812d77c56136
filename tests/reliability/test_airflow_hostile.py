"""Airflow side of hostile input and faults: every DAG's Params refuse junk with a validation
error (never another exception), and every task retries transient database errors only.

The DAGs are parsed in a fresh interpreter (``airflow_probe``), as the DAG processor does."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
from datetime import date
from functools import cache
from typing import Any

import pytest

from ops_domain.config import PROJECT_ROOT
from tests.reliability.airflow_probe import JUNK

pytestmark = pytest.mark.reliability

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TRANSIENT = {"DatabaseUnavailable", "KeycloakUnavailable", "OperationalError", "InterfaceError"}


@cache
def probe() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="airflow_probe_") as home:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "OPS_ENABLED_CURRENCIES": "USD,EUR,IDR",
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]),
        }
        done = subprocess.run(
            [sys.executable, "-m", "tests.reliability.airflow_probe", str(PROJECT_ROOT / "dags")],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])


def is_iso_date(value: str) -> bool:
    try:
        return bool(ISO_DATE.fullmatch(value)) and bool(date.fromisoformat(value))
    except ValueError:
        return False


def admissible(schema: dict[str, Any], value: Any) -> bool:
    """An independent reading of the Param schemas used here: type, enum, pattern, date
    format, length and bounds."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    kinds = {
        "null": value is None,
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }
    if not any(kinds.get(kind, False) for kind in types):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        if schema.get("format") == "date" and not is_iso_date(value):
            return False
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**9):
            return False
    if kinds["number"] and not (
        schema.get("minimum", -math.inf) <= value <= schema.get("maximum", math.inf)
    ):
        return False
    if isinstance(value, list) and "items" in schema:
        return all(admissible(schema["items"], item) for item in value)
    return True


def test_every_dag_param_refuses_junk_with_a_validation_error() -> None:
    result = probe()
    assert result["import_errors"] == []
    cases = result["params"]
    dags = {case["dag"] for case in cases}
    assert len(dags) >= 6
    assert [case for case in cases if case["outcome"].startswith("crash")] == []
    disagreements = [
        (case["dag"], case["param"], JUNK[case["junk"]], case["outcome"])
        for case in cases
        if (case["outcome"] == "accepted") != admissible(case["schema"], JUNK[case["junk"]])
    ]
    assert disagreements == []
    refused = sum(case["outcome"] == "refused" for case in cases)
    print(f"DAG params fuzz: {len(cases)} cases over {len(dags)} DAGs, {refused} refused")
    assert refused > len(cases) // 2


def test_every_task_retries_transient_errors_and_nothing_else() -> None:
    decisions = probe()["retries"]
    tasks = {d["task"] for d in decisions}
    assert len(tasks) >= 10
    wrong = [
        d for d in decisions if d["action"] != ("retry" if d["error"] in TRANSIENT else "fail")
    ]
    assert wrong == []
