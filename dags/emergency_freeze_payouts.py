"""Freeze payouts, globally or for one merchant.

Manual only; its form: ``wallet_ops_airflow.emergency``, its steps: ``manual_action``.
"""

from wallet_ops_airflow.emergency import EMERGENCY_ACTIONS
from wallet_ops_airflow.manual_action import manual_action_dag

manual_action_dag(EMERGENCY_ACTIONS["emergency_freeze_payouts"])
