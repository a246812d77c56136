"""The append-only audit log and the record of every job run."""
