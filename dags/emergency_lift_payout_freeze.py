"""Lift a payout freeze (a checker other than the login that set it).

Manual only; its form and steps are built by ``wallet_ops_airflow.emergency``.
"""

from wallet_ops_airflow.emergency import emergency_dag

emergency_dag("lift_payout_freeze")
