"""The release gate's end-to-end smoke scenarios, shipped with the package.

Each scenario is a plain function over an engine and ``Settings`` that goes through the service
functions the CLI and the DAGs call. ``python -m ops_domain.smoke`` runs them all in a scratch
database and prints one JSON result; the readiness check ``smoke_tests`` reads it.
"""
