"""Settlements: unsettled events grouped per merchant and currency, posted by checker or policy."""
