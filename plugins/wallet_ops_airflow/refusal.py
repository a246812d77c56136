"""A run refused because of its input: a user mistake, not an incident.

Airflow logs every exception a task raises with its Python traceback and our failure
notifier opens an ``airflow_task_failed`` ops alert for it. A refused input (an unknown or
unauthorised login, a business rule, a form value the schema could not stop) is neither a
crash nor an incident: it is an answer to the person who triggered the run. ``RunRefused``
fails the task at once, without retry, with its one-line reason first in the task log and no
traceback, and the notifier opens no alert for it.

It is a ``SystemExit`` because that is the one failure Airflow's task runner reports as a
line (``Task exited``) instead of a traceback; the retry policy fails it without retry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from ops_domain.errors import DomainError

log = logging.getLogger(__name__)


class RunRefused(SystemExit):
    """The run's input was refused; ``reason`` (one line) says what to change, ``details``
    (e.g. a list of blockers) follow it on the next lines."""

    def __init__(self, reason: str, details: str = "") -> None:
        super().__init__(f"refused: {reason}" + (f"\n{details.strip(chr(10))}" if details else ""))
        self.reason = reason


def refuse(reason: str, details: str = "") -> RunRefused:
    """Log ``reason`` as the task's error line and return the exception to raise."""
    log.error("refused: %s", reason)
    return RunRefused(reason, details)


@contextmanager
def domain_refusals_refuse_the_run() -> Iterator[None]:
    """A request the business rules refuse fails the task as a refusal, naming the problem."""
    try:
        yield
    except DomainError as exc:
        raise refuse(f"{type(exc).__name__}: {exc}") from None
