"""Benchmark harness: the jobs at 250,000 and 1,000,000 events (see bench/README.md)."""
