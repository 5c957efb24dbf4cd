"""Thin command-line layer over the libraries (``nas ...``)."""
