"""Airflow adapters for ``ops_domain``: the hook, job tasks, params, notifier and checks.

Everything here translates between Airflow (connections, params, run context, task states)
and the domain services; no business rule lives in this package.
"""
