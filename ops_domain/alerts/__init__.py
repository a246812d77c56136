"""Operational alerts, deduplicated per (type, target) while not closed."""
