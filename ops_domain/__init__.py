"""Wallet-ops business domain: plain Python over PostgreSQL, no Airflow import."""
