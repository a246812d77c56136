"""After a release: watch the four rollback triggers, and the emergency actions (SPEC 1, 7)."""
