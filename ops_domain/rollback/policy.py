"""The rollback watch's fixed rules: incident SLAs and the emergency permission. Its
configurable thresholds and switches are ``config.RollbackPolicy`` (``Settings.rollback``)."""

from __future__ import annotations

INCIDENT_SLA_HOURS = 4
# every emergency action after a bad release (incident, reconciliation, backfill, rollback)
EMERGENCY_PERMISSION = "emergency.act"
MAX_INCIDENT_SLA_HOURS = 72
