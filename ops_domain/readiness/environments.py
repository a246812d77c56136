"""Where a release runs: a release is gated, watched and rolled back per (release id,
environment), and a waiver names the environment it applies to."""

from __future__ import annotations

from ops_domain.errors import InvalidInput

DEFAULT_ENVIRONMENT = "production"
# what the Airflow forms offer; the CLI takes any name
ENVIRONMENTS = (DEFAULT_ENVIRONMENT, "staging", "sandbox")
MAX_LENGTH = 64


def require_environment(environment: str | None) -> str:
    """The environment name, stripped; refused when empty or longer than the column."""
    name = (environment or "").strip()
    if not name:
        raise InvalidInput("an environment is required (e.g. --environment production)")
    if len(name) > MAX_LENGTH:
        raise InvalidInput(f"an environment name is at most {MAX_LENGTH} characters")
    return name
