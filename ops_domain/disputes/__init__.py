"""Refund disputes (maker-checker refunds with an SLA) and card-network chargebacks."""
