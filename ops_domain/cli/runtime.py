"""What every command handler receives: settings, a lazily opened engine, and output."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from ops_domain.clock import parse_date, parse_timestamp, utc_now
from ops_domain.config import Settings
from ops_domain.db import create_ops_engine, resolve_database_url
from ops_domain.errors import InvalidInput
from ops_domain.jsonable import jsonable
from ops_domain.numbers import whole_number
from ops_domain.rbac.matrix import roles_granted

PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_REFUSED = 2
EXIT_INFRASTRUCTURE = 3


@dataclass
class Runtime:
    """``owner``: the command is the schema owner's work (migrations, RBAC, demo data,
    grants, user administration), which the application role may not do."""

    settings: Settings
    owner: bool = False
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url = resolve_database_url(self.settings, owner=self.owner)
            self._engine = create_ops_engine(url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


Handler = Callable[[argparse.Namespace, Runtime], int]


def check_exit(*, passed: bool, bad_input: bool = False, unreachable: bool = False) -> int:
    """Exit code of a check command: 2 when its input is bad (a missing file, setting or URL),
    3 when a target it must reach could not be reached, 1 when it ran and found problems."""
    if bad_input:
        return EXIT_REFUSED
    if unreachable:
        return EXIT_INFRASTRUCTURE
    return EXIT_OK if passed else EXIT_CHECK_FAILED


def emit(payload: Any, *, as_json: bool, text: str | Iterable[str] | None = None) -> None:
    """Print ``payload`` as JSON, or the human ``text`` (default: key: value lines)."""
    if as_json:
        print(json.dumps(jsonable(payload), indent=2, sort_keys=True, ensure_ascii=False))
        return
    if text is None:
        text = [f"{key}: {value}" for key, value in jsonable(payload).items()]
    print(text if isinstance(text, str) else "\n".join(text))


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 event``, ``2 events``: a count with its noun in the right number."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def emit_job_result(
    result: Any, *, as_json: bool, described_by_messages: Collection[str] = ()
) -> None:
    """Human form of a ``JobResult``: a headline, counts, messages, a few items (none of the
    empty kinds, nor of ``described_by_messages``, whose items the messages already list)."""
    data = result.to_dict()
    if as_json:
        emit(data, as_json=True)
        return
    mode = " (dry run: nothing written)" if data["dry_run"] else ""
    lines = [f"{data['job']}: run #{data['job_run_id']}{mode}"]
    lines += [f"  {name}: {value}" for name, value in sorted(data["counts"].items())]
    lines += [f"  - {message}" for message in data["messages"]]
    for kind, items in sorted(data["items"].items()):
        if not items or kind in described_by_messages:
            continue
        lines.append(f"  {kind} (first {min(len(items), 5)}):")
        lines += [
            f"    {json.dumps(item, sort_keys=True, ensure_ascii=False)}" for item in items[:5]
        ]
    print("\n".join(lines))


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def actor_help(permission: str, who: str = "who runs this") -> str:
    """``--actor-username`` help naming the roles the declared matrix grants ``permission``."""
    return f"{who}; accepted roles: {', '.join(roles_granted(permission))}"


def add_actor(parser: argparse.ArgumentParser, permission: str) -> None:
    parser.add_argument("--actor-username", required=True, help=actor_help(permission))


def add_dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="compute and report, change nothing")


def date_arg(field_name: str) -> Callable[[str], date]:
    return lambda raw: parse_date(raw, field=field_name)


def whole_number_arg(raw: str) -> int:
    """``type=`` of ids and counts: ASCII digits only, within PostgreSQL's bigint."""
    try:
        return whole_number(raw, field="value")
    except InvalidInput as refused:
        raise argparse.ArgumentTypeError(str(refused).removeprefix("value ")) from None


def decimal_number_arg(raw: str) -> float:
    """``type=`` of hours and seconds: a plain decimal in ASCII digits (no exponent, NaN or
    infinity); the command checks its range."""
    if not PLAIN_NUMBER.fullmatch(raw.strip()):
        raise argparse.ArgumentTypeError(f"must be a plain number like 12 or 1.5, got {raw!r}")
    return float(raw)


def timestamp_arg(field_name: str) -> Callable[[str], datetime]:
    return lambda raw: parse_timestamp(raw, field=field_name)


def now_or(value: datetime | None) -> datetime:
    return value if value is not None else utc_now()


def add_command(
    commands: argparse._SubParsersAction, name: str, help_text: str, *, permission: str
) -> argparse.ArgumentParser:
    """A command run by a named actor holding ``permission``, with ``--json`` output."""
    command = commands.add_parser(name, help=help_text)
    add_actor(command, permission)
    add_json_flag(command)
    return command


def add_decision_command(
    commands: argparse._SubParsersAction,
    name: str,
    help_text: str,
    *,
    record: str,
    permission: str,
    handler: Handler,
    **defaults: Any,
) -> argparse.ArgumentParser:
    """A decision on one record: ``--<record>-id``, the actor, a required note and ``--json``;
    ``handler`` runs it, with ``defaults`` set on the parsed arguments."""
    command = add_command(commands, name, help_text, permission=permission)
    command.add_argument(
        f"--{record}-id", type=whole_number_arg, required=True, help=f"the {record}'s id"
    )
    command.add_argument("--note", required=True, help="why: kept in the audit trail")
    command.set_defaults(handler=handler, **defaults)
    return command
