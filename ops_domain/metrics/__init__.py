"""Prometheus metrics of the ops platform: the collector, the HTTP exporter and its check."""
