"""Roles, users, the declared permission matrix and the actor check every job uses."""
