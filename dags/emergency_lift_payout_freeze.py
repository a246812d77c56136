"""Lift a payout freeze (a checker other than the login that set it).

Manual only; its form: ``wallet_ops_airflow.emergency``, its steps: ``manual_action``.
"""

from wallet_ops_airflow.emergency import EMERGENCY_ACTIONS
from wallet_ops_airflow.manual_action import manual_action_dag

manual_action_dag(EMERGENCY_ACTIONS["emergency_lift_payout_freeze"])
