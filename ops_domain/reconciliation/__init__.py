"""Reconciliation of internal settled totals against external statements, and its breaks."""
