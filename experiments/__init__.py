"""Runnable experiment configs (``get_config(smoke=False)``) and benchmarks."""
