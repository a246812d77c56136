"""Entry point: build the parser from the command modules, run, map errors to exit codes.

Every command runs as the CLI principal (the operating-system user and host, recorded in each
audit row next to the ``--actor-username`` whose roles were checked).

Exit codes: 0 ok, 1 check failed, 2 bad input or refused by a domain rule (nothing changed),
3 infrastructure error (database unreachable, lost connection); 141 (128 + SIGPIPE, as a shell
reports it) when the reader of the output went away (``| head``), without a message.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError

from ops_domain.cli import (
    accounting,
    admin,
    audit,
    data_quality,
    demo,
    disputes,
    escalations,
    listing,
    observability,
    readiness,
    reconciliation,
    rollback,
    settlements,
)
from ops_domain.cli.runtime import EXIT_INFRASTRUCTURE, EXIT_REFUSED, Runtime
from ops_domain.config import Settings
from ops_domain.errors import InvalidInput, OpsError
from ops_domain.principal import acting_as, cli_principal
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT

COMMAND_MODULES = (
    admin,
    demo,
    readiness,
    settlements,
    accounting,
    reconciliation,
    escalations,
    disputes,
    data_quality,
    observability,
    audit,
    rollback,
    listing,  # after the modules whose command groups it extends
)


SURROGATE = re.compile("[\ud800-\udfff]")


class DescribedCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose one-line ``help`` is also their ``--help`` description."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("description", kwargs.get("help"))
        return super().add_parser(name, **kwargs)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr and exit 2, never the usage dump."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", DescribedCommands)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_REFUSED, f"error: {self.prog}: {message}\n")


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """The one parser of the process: parsing leaves it unchanged, and building it (60-odd
    subcommands, a gettext look-up per help string) takes longer than most commands run, in
    the callers that run many commands in one process (the demo's operator, the tests)."""
    parser = OneLineParser(prog="python -m ops_domain", description="Wallet-ops runbook commands")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for commands in COMMAND_MODULES:
        commands.register(subparsers)
    return parser


def refuse_pinned_clock(args: argparse.Namespace) -> None:
    """Only a dry run may be asked "what if it were then": a real run pinned to another time
    would write history that never happened (an escalation as of 2030). Read-only listings may
    pin it; scheduled runs set their clock in Airflow, never through this channel."""
    pinned = getattr(args, "now", None) is not None
    if pinned and not getattr(args, "dry_run", False) and getattr(args, "listing", None) is None:
        raise InvalidInput(
            "--now pins the clock of a dry run only: add --dry-run, or drop --now to act as"
            " of the current time"
        )


def refuse_unstorable_text(args: argparse.Namespace) -> None:
    """PostgreSQL text and file names cannot hold NUL, and text must be UTF-8: refuse both as
    bad input, in one place, rather than fail in the driver or the file system. Bytes that
    are not UTF-8 reach Python as lone surrogates (``surrogateescape``)."""
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        texts = [str(os.fspath(item)) for item in values if isinstance(item, str | os.PathLike)]
        option = "--" + name.replace("_", "-")
        if any("\x00" in item for item in texts):
            raise InvalidInput(f"{option} must not contain NUL characters")
        if any(SURROGATE.search(item) for item in texts):
            raise InvalidInput(f"{option} is not valid UTF-8 text")


EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = run_command(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in an ignored error at exit
    except BrokenPipeError:
        silence_stdout()
        return EXIT_BROKEN_PIPE
    return code


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):  # stdout may not be a file (tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def default_from_settings(args: argparse.Namespace, settings: Settings) -> None:
    """Flags whose default is a setting: the release (``OPS_RELEASE_ID``) a verdict command
    evaluates and the environment (``OPS_ENVIRONMENT``) a command acts on when it names none.
    Elsewhere an absent ``--release-id`` means none (an incident without a release, a list of
    every release's waivers), so only commands that ask for it get the setting."""
    if getattr(args, "environment", "") is None:
        args.environment = settings.environment or DEFAULT_ENVIRONMENT
    if getattr(args, "release_from_settings", False) and args.release_id is None:
        args.release_id = settings.release_id


def run_command(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        refuse_unstorable_text(args)
        refuse_pinned_clock(args)
    except SystemExit as exc:  # --help, or a bad argument already reported in one line
        return exc.code if isinstance(exc.code, int) else EXIT_REFUSED
    except OpsError as exc:  # an argument type (date_arg, ...) refused its value
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    runtime: Runtime | None = None
    debug = False
    try:
        settings = Settings.from_env()
        debug = settings.debug
        logging.basicConfig(level=settings.log_level, format="%(message)s")
        default_from_settings(args, settings)
        runtime = Runtime(settings, owner=getattr(args, "owner", False))
        with acting_as(cli_principal()):
            return args.handler(args, runtime)
    except BrokenPipeError:
        raise  # not a failure of the command: main() exits quietly
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (IntegrityError, DataError) as exc:  # a rule or a column refused a value
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "value refused"
        print(f"error: refused by the database: {reason}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:
        if debug:
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"error: unexpected {type(exc).__name__}: {first_line}"
            " (set OPS_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INFRASTRUCTURE
    finally:
        if runtime is not None:
            runtime.close()
