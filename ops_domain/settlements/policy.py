"""The auto-post policy: which settlements are posted without a checker.

A settlement whose net is at or below its currency's limit (``OPS_AUTO_POST_LIMITS``
override, else ``OPS_AUTO_POST_LIMIT``) is posted by policy (``policy:auto_post``); a larger
one stays draft for a checker. One SQL expression serves every set-based query that applies
or predicts the policy.
"""

from __future__ import annotations

from ops_domain.config import Settings


def auto_post_limit_sql(currency_expr: str) -> str:
    """SQL for the auto-post limit of the currency in ``currency_expr`` (bind the params)."""
    return (
        f"coalesce(CAST(CAST(:auto_post_limits AS jsonb) ->> {currency_expr} AS numeric),"
        " :auto_post_limit)"
    )


def auto_post_limit_params(settings: Settings) -> dict[str, object]:
    return {
        "auto_post_limit": settings.auto_post_limit,
        "auto_post_limits": settings.auto_post_limits_json(),
    }
