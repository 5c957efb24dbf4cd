"""Benchmarks: speed and quality ratios measured in one run; each writes a table under docs/."""
