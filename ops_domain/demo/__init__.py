"""Demo data: a deterministic back office relative to a business date (``seed_demo``)."""
