"""Ask for a release-readiness waiver; another login decides it.

Manual only; its form: ``wallet_ops_airflow.waivers``, its steps: ``manual_action``.
"""

from wallet_ops_airflow.manual_action import manual_action_dag
from wallet_ops_airflow.waivers import REQUEST

manual_action_dag(REQUEST)
