"""The release runbook (SPEC 1): every release check in one registry, and the full report."""
