"""Param builders shared by the DAGs, so every trigger form reads and validates the same way.

Each Param carries a title and a description for the UI form and a JSON schema that Airflow
checks when the run is triggered (and in ``dag.test(run_conf=...)``). The form itself loses
some wrong input before validation sees it: a date it cannot parse becomes ``null``, and a
number outside ``minimum``/``maximum`` is clamped into range. So:

- a date a run needs is never nullable: a mistyped date is refused at trigger time instead of
  silently becoming "the default day";
- counts are dropdowns of their allowed values (nothing to clamp);
- closed choices are dropdowns without a ``null`` option ("every currency" is a named choice);
- text that must say something has a pattern refusing blank or padded values.

Rules that relate two fields (an end date before its start, one of two statement sources)
cannot be written in a per-field schema; the DAG's first task refuses them in one line
before anything reads or writes business data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from airflow.sdk import Param

from ops_domain.config import Settings
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, ENVIRONMENTS

EVERY_CURRENCY = "ALL"
# Something to read, with no leading or trailing blanks: "   " is not a release id.
NOT_BLANK = r"^\S([\s\S]*\S)?$"
EMPTY_OR_NOT_BLANK = r"^$|^\S([\s\S]*\S)?$"  # an emptied form field may arrive as ""


def dry_run_param() -> Param:
    return Param(
        False,
        type="boolean",
        title="Dry run",
        description="Compute and report what the job would do; write nothing but the run record.",
        section="Who and how",
    )


def date_param(title: str, description: str, *, required: bool = False) -> Param:
    """A UTC date (YYYY-MM-DD). Required: no default, never null. Optional: null means "not
    given" (for dates only scheduled runs may leave out; the first task refuses a manual run
    without them)."""
    if required:
        return Param(type="string", format="date", title=title, description=description)
    return Param(None, type=["null", "string"], format="date", title=title, description=description)


def business_date_param(meaning: str) -> Param:
    """The day a manual run works on: always a date, prefilled with yesterday (UTC, as of
    parsing). Scheduled runs and backfills use their data interval instead."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return Param(
        yesterday.isoformat(),
        type="string",
        format="date",
        title="Business date",
        description=f"UTC business date {meaning} (manual runs). Scheduled runs and backfills "
        "use the day of their data interval.",
    )


def currency_param(settings: Settings, *, all_label: str | None = None) -> Param:
    """Dropdown of the enabled currencies; with ``all_label``, also ``ALL`` (shown as
    ``all_label``), which ``chosen_currency`` turns into None."""
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
        EVERY_CURRENCY,
        type="string",
        enum=[EVERY_CURRENCY, *codes],
        values_display={EVERY_CURRENCY: all_label.capitalize()},
        title="Currency",
        description=f"{all_label.capitalize()}, or one of {', '.join(codes)}.",
    )


def chosen_currency(value: str) -> str | None:
    """The currency a ``currency_param`` names; None for every currency."""
    return None if value == EVERY_CURRENCY else value


def choice_param(default: str, choices: Iterable[str], *, title: str, description: str) -> Param:
    return Param(default, type="string", enum=list(choices), title=title, description=description)


def count_param(
    default: int, *, title: str, description: str, minimum: int = 1, maximum: int
) -> Param:
    """A whole number picked from the dropdown ``minimum..maximum``."""
    return Param(
        default,
        type="integer",
        enum=list(range(minimum, maximum + 1)),
        title=title,
        description=f"{description} ({minimum}..{maximum})",
    )


def given_text(value: str | None) -> str | None:
    """An optional text Param's value; None when left empty."""
    return value or None


def flag_param(default: bool, *, title: str, description: str) -> Param:
    return Param(default, type="boolean", title=title, description=description)


def text_param(
    *, title: str, description: str, required: bool = False, max_length: int = 500
) -> Param:
    """Free text; when given, not blank and not padded with blanks."""
    if required:
        return Param(
            type="string",
            pattern=NOT_BLANK,
            maxLength=max_length,
            title=title,
            description=description,
        )
    return Param(
        None,
        type=["null", "string"],
        pattern=EMPTY_OR_NOT_BLANK,
        maxLength=max_length,
        title=title,
        description=description,
    )


def release_id_param(description: str, *, required: bool = True) -> Param:
    """A release id as the readiness report records it (at most 100 characters)."""
    return text_param(
        title="Release id", description=description, required=required, max_length=100
    )


def environment_param(description: str) -> Param:
    """The environment a release goes to, the default one preselected."""
    return choice_param(
        DEFAULT_ENVIRONMENT, ENVIRONMENTS, title="Environment", description=description
    )
