"""Param builders shared by the DAGs, so every trigger form reads and validates the same way.

Each Param carries a title and a description for the UI form and a JSON schema that Airflow
checks when the run is triggered (and in ``dag.test(run_conf=...)``): dates use
``format: date``, closed choices are ``enum`` dropdowns, currencies come from the enabled set.
Rules that relate two fields (an end date before its start) cannot be written in a per-field
schema; the DAG's first task checks them before anything reads or writes business data.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow.sdk import Param

from ops_domain.config import Settings

USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{1,100}$"


def dry_run_param() -> Param:
    return Param(
        False,
        type="boolean",
        title="Dry run",
        description="Compute and report what the job would do; write nothing but the run record.",
        section="Who and how",
    )


def date_param(title: str, description: str, *, required: bool = False) -> Param:
    """A UTC business date (YYYY-MM-DD); optional dates default to null."""
    if required:
        return Param(type="string", format="date", title=title, description=description)
    return Param(None, type=["null", "string"], format="date", title=title, description=description)


def business_date_param(meaning: str) -> Param:
    return date_param(
        "Business date",
        f"UTC business date {meaning}. Empty: the start day of the run's data interval "
        "(scheduled runs), or yesterday for manual runs without a logical date.",
    )


def currency_param(settings: Settings, *, all_label: str | None = None) -> Param:
    """Dropdown of the enabled currencies; with ``all_label``, null means every currency."""
    codes = sorted(settings.enabled_currencies)
    if all_label is None:
        return Param(
            codes[0],
            type="string",
            enum=codes,
            title="Currency",
            description=f"One of the enabled currencies ({', '.join(codes)}).",
        )
    return Param(
        None,
        type=["null", "string"],
        enum=[None, *codes],
        title="Currency",
        description=f"Empty: {all_label}. Otherwise one of {', '.join(codes)}.",
    )


def choice_param(default: str, choices: Iterable[str], *, title: str, description: str) -> Param:
    return Param(default, type="string", enum=list(choices), title=title, description=description)


def count_param(
    default: int, *, title: str, description: str, minimum: int = 1, maximum: int = 10_000
) -> Param:
    return Param(
        default,
        type="integer",
        minimum=minimum,
        maximum=maximum,
        title=title,
        description=description,
    )


def flag_param(default: bool, *, title: str, description: str) -> Param:
    return Param(default, type="boolean", title=title, description=description)


def text_param(
    *, title: str, description: str, required: bool = False, max_length: int = 500
) -> Param:
    if required:
        return Param(
            type="string", minLength=1, maxLength=max_length, title=title, description=description
        )
    return Param(
        None,
        type=["null", "string"],
        maxLength=max_length,
        title=title,
        description=description,
    )
