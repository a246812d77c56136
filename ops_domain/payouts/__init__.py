"""Payouts of posted settlements, their maker-checker decisions, and payout freezes."""
