"""One configuration per work directory: ``config.json`` is the truth every command starts from.

The first command on a work directory resolves the experiment file with its ``--set`` overrides
and records the result in ``config.json``. Every later command (``nas run``, ``nas search``, the
Python API) starts from that file, not from the experiment file's defaults: its ``--set``
overrides (and a ``--profile`` not searched yet, which joins ``search.profiles``) are applied to
it, checked against the finished work they would invalidate, recorded in ``config.json`` with a
``history`` entry (what changed, when, by which command) and printed in one line. A change that
would invalidate finished work (stage 1's supernet, a profile's finished search) is refused with
one line naming the stage and what to do; nothing is rewritten.
"""
from __future__ import annotations

import json
import time

from nas.config import ExperimentConfig, apply_overrides, config_from_dict, load_experiment
from nas.errors import InputError
from nas.files import atomic_write_text, read_json
from nas.rundir import RunDir, profile_label

HISTORY = "history"
# settings of stage 1: a change to any of them once the supernet is trained invalidates it
STAGE1 = ("space", "data.", "supernet.", "supernet_from")


def stored_config(run: RunDir) -> tuple[ExperimentConfig | None, list]:
    """``(config, history)`` recorded in ``run``'s ``config.json`` (``(None, [])`` when there is none)."""
    if not run.config.is_file():
        return None, []
    raw = read_json(run.config, what="config.json")
    if not isinstance(raw, dict):
        raise InputError(f"{run.config}: not a config record")
    history = raw.pop(HISTORY, [])
    try:
        cfg = config_from_dict(raw)
    except InputError as e:
        raise InputError(f"{run.config}: {e}") from None
    return cfg, history if isinstance(history, list) else []


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("budgets", "ray_runtime_env"):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def changes(old: ExperimentConfig, new: ExperimentConfig) -> dict[str, tuple]:
    """``{dotted key: (old value, new value)}`` of every field that differs."""
    a, b = _flat(old.to_dict()), _flat(new.to_dict())
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def resolve(experiment: str, workdir, overrides=(), *, smoke: bool = False, profiles=None) -> tuple:
    """``(config, changes, history)`` of a command on ``workdir``: the directory's config (or, on a
    new directory, the experiment file's) with ``overrides`` applied and ``profiles`` added to
    ``search.profiles``. InputError when the directory holds a run of another experiment."""
    run = RunDir(workdir)
    stored, history = stored_config(run)
    if stored is None:
        cfg = apply_overrides(load_experiment(experiment, smoke=smoke), list(overrides))
        base = None
    else:
        name = load_experiment(experiment, smoke=smoke).name
        if name != stored.name:
            raise InputError(f"{run.config}: {run.root} holds a run of experiment {stored.name!r}, not {name!r}; "
                             "use another --workdir")
        cfg = apply_overrides(config_from_dict(stored.to_dict()), list(overrides))
        base = stored
    from nas.search.objectives import ObjectiveSpec

    if "latency_ms" in ObjectiveSpec.from_config(cfg.search).required:  # else a profile is only a folder's label
        for p in profiles or ():
            if p not in cfg.search.profiles:
                cfg.search.profiles = list(cfg.search.profiles) + [p]
    return cfg, ({} if base is None else changes(base, cfg)), history


def check_invalidation(cfg: ExperimentConfig, run: RunDir, diff: dict) -> None:
    """InputError (one line) when ``diff`` would invalidate finished work in ``run``: a trained
    supernet (stage 1 settings), a finished final training (stage 3), or a profile's search (its
    fingerprint's settings)."""
    if not diff:
        return
    stage1 = [k for k in diff if k.startswith(STAGE1)]
    if stage1 and run.supernet.result.is_file():
        k = stage1[0]
        raise InputError(f"{run.config}: {k} {_v(diff[k][0])} -> {_v(diff[k][1])} invalidates stage 1 (the supernet "
                         f"in {run.supernet.path}); use another --workdir (supernet_from={run.root} reuses it)")
    if any(k.startswith("final.") for k in diff) and run.chosen.is_file():  # stage 3's finished networks
        from nas.pipeline.candidates import Candidate
        from nas.pipeline.final import check_not_stale

        chosen = read_json(run.chosen, what="chosen.json")
        for c in chosen if isinstance(chosen, list) else ():
            check_not_stale(cfg, Candidate.from_dict(c, cfg.space, str(run.chosen)), run.root)
    from nas.pipeline.search import fingerprint, search_space

    space = search_space(cfg)
    fp_new = fingerprint(space, cfg.search)
    for p in cfg.search.profiles:
        d = run.search(p)
        if not d.state.is_file():
            continue
        try:
            saved = read_json(d.state, what="search state").get("fingerprint")
        except (InputError, AttributeError):
            continue  # the search itself reports a damaged state
        saved = saved if isinstance(saved, dict) else {}
        bad = [k for k in fp_new if k in saved and saved[k] != fp_new[k]]
        bad += [k for k in ("accuracy", "resolutions") if k in saved and k not in fp_new]
        if bad:
            k = bad[0]
            raise InputError(f"{run.config}: search.{k} {_v(saved.get(k))} -> {_v(fp_new.get(k))} invalidates "
                             f"stage 2 on {profile_label(p)} ({d.path}); use another --workdir, or move that "
                             "folder away to search it again")


def _v(x) -> str:
    return json.dumps(x, separators=(",", ":"))


def record(cfg: ExperimentConfig, run: RunDir, diff: dict, history: list, command: str) -> str | None:
    """Write ``cfg`` to ``config.json`` (a ``history`` entry for ``diff`` when the file existed);
    returns the one line that says what changed (None when nothing did)."""
    body = {**cfg.to_dict()}
    entry = None
    if diff:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command,
                 "changed": {k: [a, b] for k, (a, b) in diff.items()}}
        history = history + [entry]
    if history:
        body[HISTORY] = history
    text = json.dumps(body, indent=1)
    if not run.config.is_file() or run.config.read_text() != text:
        atomic_write_text(run.config, text)
    if entry is None:
        return None
    return f"{run.config}: " + "; ".join(f"{k} {_v(a)} -> {_v(b)}" for k, (a, b) in diff.items()) + " (recorded)"


def prepare(experiment: str, workdir, overrides=(), *, smoke: bool = False, profiles=None) -> tuple:
    """``(config, diff, history)``: :func:`resolve`, then :func:`check_invalidation`; the caller
    records it (:func:`record`) once its own checks have passed."""
    cfg, diff, history = resolve(experiment, workdir, overrides, smoke=smoke, profiles=profiles)
    check_invalidation(cfg, RunDir(workdir), diff)
    return cfg, diff, history


def record_given(cfg: ExperimentConfig, run: RunDir, command: str) -> str | None:
    """Record a config handed in whole (``nas.api``, ``nas run`` after its checks): the changes
    against ``config.json`` are checked (:func:`check_invalidation`) and recorded with a history
    entry; returns the line that says what changed."""
    stored, history = stored_config(run)
    diff = {} if stored is None else changes(stored, cfg)
    check_invalidation(cfg, run, diff)
    return record(cfg, run, diff, history, command)


__all__ = ["changes", "check_invalidation", "prepare", "record", "record_given", "resolve", "stored_config"]
