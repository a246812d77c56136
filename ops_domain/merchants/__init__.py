"""Merchants and the cash-flow events that settlements gather."""
