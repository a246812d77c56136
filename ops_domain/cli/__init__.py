"""``python -m ops_domain <command>``: the runbook's commands, one module per capability."""
