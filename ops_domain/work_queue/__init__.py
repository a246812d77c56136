"""The ops work queue: journal approvals, settlement exceptions and reconciliation breaks
waiting on a person, and the SLA alerts raised when they wait too long."""
