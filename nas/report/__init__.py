"""Reports: static HTML page and PNG figures from a run's work directory."""
from nas.report.build import build_report, load_summary

__all__ = ["build_report", "load_summary"]
