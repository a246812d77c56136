"""Approve or reject a release-readiness waiver, as a checker other than the login that asked.

Manual only; its form: ``wallet_ops_airflow.waivers``, its steps: ``manual_action``.
"""

from wallet_ops_airflow.manual_action import manual_action_dag
from wallet_ops_airflow.waivers import DECISION

manual_action_dag(DECISION)
