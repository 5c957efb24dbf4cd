"""Shipped hardware profiles: data only (one YAML per device, the measurement CSVs in ``data/``,
licences). Loaded by :mod:`nas.latency.profile_io`; built by ``python -m
experiments.tools.build_profiles`` (HELP data) and ``nas profile calibrate`` (``local_cpu``)."""
