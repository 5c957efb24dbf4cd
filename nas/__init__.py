"""The engine: data, training, latency prediction, search, export, report, CLI."""
__version__ = "0.1.0"
