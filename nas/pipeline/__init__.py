"""The pipeline layer: one module per stage, wiring data, training, evaluators and the search
core in a run's work directory (:class:`nas.rundir.RunDir`).

- :mod:`nas.pipeline.supernet`: stage 1, train (or reuse) the supernet
- :mod:`nas.pipeline.search`: stage 2, one checkpointed search per hardware profile
- :mod:`nas.pipeline.candidates`: the networks chosen for final training
- :mod:`nas.pipeline.final`: stage 3, final training as Ray Tune trials
- :mod:`nas.pipeline.export`: stage 4, export, latency check, ``summary.json``
- :mod:`nas.pipeline.run`: ``nas run``, every stage in order, each skipped when complete
"""
from nas.pipeline.run import RunResult, run_experiment

__all__ = ["RunResult", "run_experiment"]
