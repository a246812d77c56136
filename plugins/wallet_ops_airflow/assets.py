"""Assets shared between DAGs: the producer and its consumers name the same object."""

from __future__ import annotations

from airflow.sdk import Asset

# Updated by the release_readiness DAG's gate when a release is ready (and released).
RELEASE_READINESS_PASSED = Asset("release_readiness_passed")
