"""How ``make test`` shares the suite between its two worker processes (pytest-xdist,
``--dist loadgroup``): test by test to whichever worker is free, except the suites that must
share one process, which go whole, in collection order, to one worker.

- ``platforms``: ``tests/runtime`` then ``tests/runtime_celery``, never at once: each starts a
  whole Airflow platform and fills the machine.
- ``airflow``: ``tests/airflow`` in a fresh worker: its package fixture sets Airflow's settings,
  which must happen before anything in that process imports airflow. xdist hands out the
  largest units first, so each of the two workers starts with one of the two groups.

The group comes from the test's path, read by the controller: the ``xdist_group`` mark travels
as a suffix xdist 3.8 writes into the test id, which pytest 9.2 no longer takes, so marked
tests were silently spread over both workers."""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling

SUITE_GROUPS = {"runtime": "platforms", "runtime_celery": "platforms", "airflow": "airflow"}


def suite_group(nodeid: str) -> str | None:
    """The group of a test id such as ``tests/airflow/test_x.py::test_y``, if any."""
    parts = nodeid.split("::", 1)[0].split("/")
    if len(parts) > 2 and parts[0] == "tests":
        return SUITE_GROUPS.get(parts[1])
    return None


class SuiteGroupScheduling(LoadGroupScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return suite_group(nodeid) or super()._split_scope(nodeid)


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own loadgroup
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadGroupScheduling | None:
    if config.getvalue("dist") == "loadgroup":
        return SuiteGroupScheduling(config, log)
    return None
