"""Release readiness: the runbook checks, approved exceptions and release evidence."""
