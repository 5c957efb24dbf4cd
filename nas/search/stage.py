"""Stage 2 of the pipeline: one search per hardware profile on the trained supernet.

Cheap values (analytic costs, predicted latency) are computed in process; supernet accuracy,
the expensive and profile-independent part, goes to a Ray actor pool when
``search.num_workers > 0`` (in process otherwise) behind a cache shared by all profiles,
``<workdir>/search/accuracy_<supernet id>.jsonl``, so no subnet is evaluated twice (the
space's hand-designed baseline is scored into the same cache after the searches). Each
profile's search runs in ``<workdir>/search/<profile>/`` (see :mod:`nas.search.runner`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

from evaluators import CachedEvaluator, CompositeEvaluator, EvaluatorSpec, make_evaluator
from evaluators.accuracy import SupernetBundle
from nas.search.checkpoint import atomic_write_bytes
from nas.search.objectives import ObjectiveSpec
from nas.search.runner import SearchResult, run_search
from search_spaces import get_space


def supernet_id(workdir) -> str:
    """Short hash of ``<workdir>/supernet/result.json`` (changes when the supernet is retrained)."""
    text = (Path(workdir) / "supernet" / "result.json").read_bytes()
    return hashlib.sha256(text).hexdigest()[:12]


def run_stage(cfg, workdir, *, profiles: list[str] | None = None, dataset=None,
              on_generation: Callable[[str, dict], None] | None = None) -> dict[str, SearchResult]:
    """Search every profile of ``cfg.search.profiles`` (or ``profiles``); returns results by
    profile (a profile given as a YAML path is stored under its file stem). InputError when accuracy is an objective and the supernet is not trained yet, or a
    profile cannot be loaded."""
    s = cfg.search
    space = get_space(cfg.space)
    needs = ObjectiveSpec.from_config(s).required
    profiles = list(profiles or s.profiles)
    accuracy, extra = None, {}
    if "accuracy" in needs:
        bundle = SupernetBundle.from_workdir(workdir, cfg, dataset)
        sid = supernet_id(workdir)
        extra = {"supernet": sid, "eval_batches": s.eval_batches}
        pool = make_evaluator(EvaluatorSpec(cfg.space, ("accuracy",), eval_batches=s.eval_batches,
                                            batch_size=cfg.supernet.batch_size),
                              bundle, num_workers=s.num_workers, address=s.ray_address)
        accuracy = CachedEvaluator(pool, space, Path(workdir) / "search" / f"accuracy_{sid}.jsonl")
    results = {}
    try:
        for profile in profiles:
            local = tuple(n for n in needs if n != "accuracy")
            parts = [EvaluatorSpec(cfg.space, local, profile=profile)()] if local else []
            evaluator = CompositeEvaluator(parts + ([accuracy] if accuracy else []))
            cb = (lambda m, p=profile: on_generation(p, m)) if on_generation else None
            label = Path(profile).stem if profile.endswith((".yaml", ".yml")) else profile
            results[profile] = run_search(space, evaluator, s, workdir, profile=label,
                                          fingerprint_extra={**extra, "profile": profile}, on_generation=cb)
            summary = {"profile": profile, "evaluations": results[profile].evaluations,
                       "hypervolume": results[profile].hypervolume, "front_size": len(results[profile].front)}
            atomic_write_bytes(results[profile].directory / "result.json", json.dumps(summary, indent=1).encode())
        if accuracy is not None:  # the hand-designed baseline, scored while the evaluator is up
            accuracy.evaluate([space.hand_designed()])
    finally:
        if accuracy is not None:
            accuracy.close()
    return results
