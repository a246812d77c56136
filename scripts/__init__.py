"""Developer entry points around the platform: ``make demo`` and ``make airflow``."""
