"""The Operations Center: the back office's pages inside Airflow's api-server.

A FastAPI app (``application.create_app``) mounted by the Airflow plugin in ``plugin.py`` and
listed in Airflow's navigation. Every request is the Airflow login that made it, authenticated
by Airflow's own JWT (``login``); every write carries a CSRF token bound to that JWT
(``csrf``) and runs the same ``ops_domain`` service as the CLI and the DAGs, as that login's
ops user, recorded on the channel ``operations_center`` (``desk``). Runs are triggered
through Airflow's REST API with the login's own token (``airflow_api``). No business rule
lives here: the pages show what the domain answers, refusals included.
"""
