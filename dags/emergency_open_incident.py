"""Open a critical incident case for risk and operation.

Manual only; its form and steps are built by ``wallet_ops_airflow.emergency``.
"""

from wallet_ops_airflow.emergency import emergency_dag

emergency_dag("open_incident")
