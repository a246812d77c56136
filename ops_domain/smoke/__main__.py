"""``python -m ops_domain.smoke``: run the scenarios in ``OPS_TEST_DATABASE_URL`` (unset: a
fresh database on the embedded server, dropped afterwards) and print one JSON line,
``{"scenarios": [{"scenario", "outcome", "message"}, ...]}``. Exit 0 when every scenario
passed, 1 when one did not, 2 (and no JSON) when the target is the ops database."""

from __future__ import annotations

import json
import sys

from ops_domain.config import Settings
from ops_domain.db import create_ops_engine
from ops_domain.readiness.isolation import database_location
from ops_domain.smoke.runner import run_scenarios
from ops_domain.smoke.scratch import create_scratch_database, drop_scratch_database


def main() -> int:
    settings = Settings.from_env()
    url, ops_url = settings.test_database_url, settings.ops_database_url
    if url and ops_url and database_location(url) == database_location(ops_url):
        print(
            "OPS_TEST_DATABASE_URL is the ops database: the smoke scenarios empty theirs",
            file=sys.stderr,
        )
        return 2
    created = None
    if not url:
        url, created = create_scratch_database(settings.var_dir, "ops_smoke")
    engine = create_ops_engine(url)
    try:
        outcomes = run_scenarios(engine)
    finally:
        engine.dispose()
        if created:
            drop_scratch_database(url, created)
    print(json.dumps({"scenarios": [outcome.to_dict() for outcome in outcomes]}))
    return 0 if all(outcome.outcome == "passed" for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
