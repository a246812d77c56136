"""The rollback triggers of the runbook, one module each; ``rollback.registry`` lists them."""
