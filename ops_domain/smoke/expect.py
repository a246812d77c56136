"""How a scenario states what must hold: a plain exception, never ``assert`` (which
``python -O`` strips) and never pytest (a test dependency only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


class ScenarioFailed(Exception):
    """What a release broke: the scenario's expectation and what it got instead."""


def expect_equal(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise ScenarioFailed(f"{what}: expected {expected!r}, got {actual!r}")


@contextmanager
def expect_refused(error: type[Exception], match: str = "") -> Iterator[None]:
    """The block must raise ``error`` with a message matching ``match``."""
    try:
        yield
    except error as refused:
        if not re.search(match, str(refused)):
            raise ScenarioFailed(
                f"{error.__name__} {str(refused)!r} does not say {match!r}"
            ) from refused
        return
    raise ScenarioFailed(f"expected {error.__name__}, nothing was refused")
