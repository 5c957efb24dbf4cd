"""Checks users run on their own runs (``nas check ...``), each writing its result into the
work directory, where ``nas report`` reads it:

- :mod:`~nas.checks.ranking_fidelity`: does inherited-weight accuracy rank subnets like
  stand-alone training (``nas check fidelity``)?
- :mod:`~nas.checks.search_vs_random`: does the chosen network beat random ones of equal
  predicted latency fine-tuned alike (``nas check search-vs-random``)?
- :mod:`~nas.checks.scratch_vs_inherited`: the searched networks trained from scratch with
  the reference models' budget (``nas check scratch-vs-inherited``);
- :mod:`~nas.checks.rows`: their per-network rows, kept across sittings (``--rows FILE``).
"""
