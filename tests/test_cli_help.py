"""``--help`` is enough to run a command: every command says what it does, every option what it
takes, and ``--actor-username`` which roles the declared matrix accepts."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator

from ops_domain.cli.main import build_parser
from ops_domain.rbac.matrix import roles_granted
from tests.support.factories import Factory

Cli = Callable[..., tuple[int, str, str]]


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield " ".join((*path, name)), command
                yield from commands(command, (*path, name))


def options(command: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    return (action for action in command._actions if action.option_strings)


def test_every_command_has_a_one_line_description() -> None:
    undescribed = [name for name, command in commands(build_parser()) if not command.description]
    assert undescribed == []


def test_every_option_has_help_text() -> None:
    silent = [
        f"{name} {action.option_strings[0]}"
        for name, command in commands(build_parser())
        for action in options(command)
        if not action.help
    ]
    assert silent == []


def test_actor_help_names_the_roles_the_matrix_accepts() -> None:
    helps = {
        name: action.help
        for name, command in commands(build_parser())
        for action in options(command)
        if action.dest == "actor_username"
    }
    assert len(helps) > 40
    assert [name for name, text in helps.items() if "accepted roles: " not in (text or "")] == []
    approve = ", ".join(roles_granted("settlements.approve"))
    assert helps["settlements approve"] == f"who runs this; accepted roles: {approve}"
    assert helps["refunds execute"].endswith(", ".join(roles_granted("refunds.execute")))
    assert helps["users deactivate"] == "who deactivates; accepted roles: admin, super_admin"


def test_the_period_action_is_a_choice(cli: Cli) -> None:
    code, out, err = cli(
        "manage_accounting_period", "--actor-username", "x", "--period-start", "2026-11-01",
        "--period-end", "2026-11-30", "--currency", "USD", "--action", "lock",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert "argument --action: invalid choice: 'lock' (choose from 'close', 'open')" in err


def test_journal_lines_refuse_exponent_notation(cli: Cli, factory: Factory) -> None:
    factory.user("fiona", "finance")
    factory.account("1000")
    factory.account("4000", "revenue")
    before = factory.table_checksums()
    code, out, err = cli(
        "journals", "create", "--actor-username", "fiona", "--entry-date", "2026-11-20",
        "--currency", "USD", "--description", "sale",
        "--line", "1000:debit:1e3", "--line", "4000:credit:1000.00",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert "must be a plain decimal amount like 1000.00, got '1e3'" in err
    assert factory.table_checksums() == before
