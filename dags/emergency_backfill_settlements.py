"""Settle a window's unsettled events again, each exactly once.

Manual only; its form and steps are built by ``wallet_ops_airflow.emergency``.
"""

from wallet_ops_airflow.emergency import emergency_dag

emergency_dag("backfill_settlements")
