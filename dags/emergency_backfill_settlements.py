"""Settle a window's unsettled events again, each exactly once.

Manual only; its form: ``wallet_ops_airflow.emergency``, its steps: ``manual_action``.
"""

from wallet_ops_airflow.emergency import EMERGENCY_ACTIONS
from wallet_ops_airflow.manual_action import manual_action_dag

manual_action_dag(EMERGENCY_ACTIONS["emergency_backfill_settlements"])
