"""``nas run``: the whole pipeline in one work directory, each stage skipped when complete.

1. supernet training (:func:`nas.train.train_supernet`, resumes from Orbax checkpoints)
2. one search per hardware profile (:func:`nas.search.stage.run_stage`, resumes per generation)
3. final training of the chosen architectures + baselines (:mod:`nas.final`, Ray Tune trials)
4. export (JSON, Flax, ONNX checked with ONNX Runtime), latency check, ``summary.json``, report
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nas.config import ExperimentConfig
from nas.final import Candidate, final_augment, init_of, run_final_training, training_config
from search_spaces import Arch, InputError, get_space, net_stats


@dataclass
class RunResult:
    report: Path
    summary: Path


def _log(console, msg: str) -> None:
    if console is not None:
        console.print(msg)


def save_config(cfg: ExperimentConfig, workdir: Path) -> None:
    """Record the resolved config; keep the previous one as config.prev.json when it changed."""
    p = workdir / "config.json"
    text = json.dumps(cfg.to_dict(), indent=1)
    if p.is_file() and p.read_text() != text:
        shutil.copyfile(p, workdir / "config.prev.json")
    p.write_text(text)


def choose_architectures(cfg: ExperimentConfig, fronts: dict[str, list[dict]]) -> list[Candidate]:
    """``final.top_k`` architectures per profile spread along its front (always its most
    accurate), merged across profiles, plus the space's hand-designed baseline (unless
    ``final.train_hand_designed`` is off) and the reference models of ``final.baselines``."""
    space = get_space(cfg.space)
    chosen: dict[Arch, Candidate] = {}
    for profile, front in fronts.items():
        rows = sorted(front, key=lambda r: r.get("latency_ms", 0.0))
        if not rows:
            continue
        picks = sorted({int(round(i)) for i in np.linspace(len(rows) - 1, 0, min(cfg.final.top_k, len(rows)))})
        for i in picks:
            arch = space.canonical(space.from_json(rows[i]["arch"]))
            if arch not in chosen:
                chosen[arch] = Candidate(f"searched_{len(chosen)}", "searched", arch.to_json(),
                                         supernet_accuracy=rows[i].get("accuracy"))
            chosen[arch].chosen_for.append(profile)
    cands = list(chosen.values())
    if cfg.final.train_hand_designed:
        cands.append(Candidate("hand_designed", "baseline", space.hand_designed().to_json()))
    cands += [Candidate(m, "reference", model=m) for m in cfg.final.baselines]
    return cands


class _SupernetAccuracy:
    """Supernet accuracy evaluator that loads the trained supernet only when first needed."""

    provides = ("accuracy",)

    def __init__(self, cfg, workdir, dataset):
        self.cfg, self.workdir, self.dataset = cfg, workdir, dataset

    def evaluate(self, archs: list[Arch]) -> list[dict]:
        from evaluators import EvaluatorSpec
        from evaluators.accuracy import SupernetBundle

        bundle = SupernetBundle.from_workdir(self.workdir, self.cfg, self.dataset)
        return EvaluatorSpec(self.cfg.space, ("accuracy",), eval_batches=self.cfg.search.eval_batches,
                             batch_size=self.cfg.supernet.batch_size)(bundle).evaluate(archs)


def _supernet_accuracy(cfg, workdir, archs: list[Arch], dataset) -> list[float]:
    """Accuracies from stage 2's evaluation cache; the supernet is loaded only for misses."""
    from evaluators import CachedEvaluator
    from nas.search.stage import supernet_id

    cache = Path(workdir) / "search" / f"accuracy_{supernet_id(workdir)}.jsonl"
    ev = CachedEvaluator(_SupernetAccuracy(cfg, workdir, dataset), get_space(cfg.space), cache)
    return [r["accuracy"] for r in ev.evaluate(archs)]


def predict_spec_ms(profile, specs) -> np.ndarray:
    """Predicted latency (ms) of networks given as NetSpecs outside the search space (reference
    models) on a profile, with its non-negative weights (``Profile.weights_outside``: a signed
    fit of one space does not extrapolate to other networks)."""
    from nas.latency import predict
    from nas.latency.features import features_from_table, op_table
    from search_spaces import expand_ops

    f = np.stack([features_from_table(op_table(expand_ops(s)), profile.hardware) for s in specs])
    return predict(f, profile.weights_outside())


def _latencies(cfg, cand: Candidate, spec, profiles: dict) -> dict[str, float]:
    out = {}
    for p, prof in profiles.items():
        if cand.arch is not None:
            out[p] = float(prof.predict_ms([get_space(cfg.space).from_json(cand.arch)])[0])
        else:
            out[p] = float(predict_spec_ms(prof, [spec])[0])
    return out


def latency_check(cfg, workdir: Path, cands: list[Candidate], profile: str = "local_cpu") -> Path | None:
    """Measure every candidate here (XLA) and compare with ``profile``'s predictions (reference
    models too: they test the prediction outside the measured space, ``in_space`` false)."""
    from hardware_profiles import list_profiles, load_profile
    from nas.latency.measure import measure_specs

    if profile not in list_profiles():
        return None
    prof = load_profile(profile)
    if cfg.space not in prof.spaces:
        return None
    input_shape, num_classes = data_shape(cfg, workdir)
    specs = [c.spec(cfg, input_shape, num_classes) for c in cands]
    measured = measure_specs(specs, "xla", warmup=5, repeats=30)
    profiles = {profile: prof}
    rows = [{"name": c.name, "measured_ms": m.latency_ms, "predicted_ms": _latencies(cfg, c, spec, profiles)[profile],
             "in_space": c.arch is not None} for c, spec, m in zip(cands, specs, measured)]
    out = workdir / "latency_check.json"
    out.write_text(json.dumps({"profile": profile, "runtime": "xla", "rows": rows}, indent=1))
    return out


def data_shape(cfg, workdir: Path) -> tuple[tuple[int, ...], int]:
    """``(input_shape, num_classes)`` of the run's dataset, from the trained supernet's record
    (no dataset load); the dataset is loaded only when that record is missing."""
    try:
        fp = json.loads((Path(workdir) / "supernet" / "result.json").read_text())["fingerprint"]
        return tuple(int(v) for v in fp["input_shape"]), int(fp["num_classes"])
    except (OSError, ValueError, KeyError, TypeError):
        from nas.data import load_dataset

        ds = load_dataset(cfg.data)
        return ds.input_shape, ds.num_classes


def export_all(cfg, workdir: Path, cands: list[Candidate], dataset_shape, num_classes: int,
               formats=None) -> dict[str, dict]:
    """Export every trained candidate into ``export/<name>/`` (skips finished exports)."""
    from nas.export.artifacts import export_architecture, load_weights

    formats = tuple(formats or cfg.export.formats)
    records = {}
    for c in cands:
        out = workdir / "export" / c.name
        done = out / "arch.json"
        if done.is_file() and all(json.loads(done.read_text()).get(f) for f in formats if f != "json"):
            records[c.name] = json.loads(done.read_text())
            continue
        spec = c.spec(cfg, dataset_shape, num_classes)
        net = load_weights(spec, workdir / "final" / c.name / "weights")
        records[c.name] = export_architecture(net, spec, out, name=c.name, arch_json=c.arch, space=cfg.space,
                                              formats=formats, tolerance=cfg.export.onnx_tolerance)
    return records


def training_record(cfg, cand: Candidate, result: dict) -> dict:
    """How a candidate was finally trained: its budget, for comparisons at equal budgets."""
    return {"epochs": training_config(cfg, cand).epochs, "steps": result.get("steps"), "init": init_of(cfg, cand),
            "augment": final_augment(cfg)}


def write_summary(cfg, workdir: Path, cands: list[Candidate], finals: dict, dataset,
                  untrained: list[Candidate] = ()) -> Path:
    """``summary.json``: the trained candidates under ``architectures`` (with ``training``: epochs,
    steps, init from ``scratch`` or ``supernet``, augment); ``untrained`` ones
    (the hand-designed network when ``final.train_hand_designed`` is off) under ``untrained``,
    with supernet accuracy, costs and latencies but no test accuracy."""
    from hardware_profiles import load_profile

    profiles = {p: load_profile(p) for p in cfg.search.profiles}  # each YAML read once

    def entry(c: Candidate) -> dict:
        spec = c.spec(cfg, dataset.input_shape, dataset.num_classes)
        return {"name": c.name, "kind": c.kind, "arch": c.arch, "model": c.model or None,
                "chosen_for": c.chosen_for, "supernet_accuracy": c.supernet_accuracy,
                **net_stats(spec).to_dict(), "latency_ms": _latencies(cfg, c, spec, profiles)}

    entries = [{**entry(c), "test_accuracy": finals[c.name]["test_acc"],
                "val_accuracy": finals[c.name]["val_acc"], "export": f"export/{c.name}",
                "training": training_record(cfg, c, finals[c.name])} for c in cands]
    summary = {"experiment": cfg.name, "space": cfg.space, "profiles": list(cfg.search.profiles),
               "dataset": dataset.name, "architectures": entries}
    if untrained:
        summary["untrained"] = [entry(c) for c in untrained]
    p = workdir / "summary.json"
    p.write_text(json.dumps(summary, indent=1))
    return p


def link_supernet(source: Path, workdir: Path) -> dict:
    """Reuse the trained supernet of another work directory (design studies): its result is
    copied and its checkpoints are linked into ``workdir/supernet``; returns its result."""
    src = source.resolve() / "supernet"
    if not (src / "result.json").is_file() or not (src / "checkpoints").is_dir():
        raise InputError(f"supernet_from: {source} holds no trained supernet")
    dst = workdir / "supernet"
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "result.json", dst / "result.json")
    link = dst / "checkpoints"
    if link.is_symlink() or not link.exists():
        link.unlink(missing_ok=True)
        link.symlink_to(src / "checkpoints", target_is_directory=True)
    return json.loads((src / "result.json").read_text())["result"]


def run_experiment(cfg: ExperimentConfig, workdir, *, console=None,
                   on_generation: Callable[[str, dict], None] | None = None) -> RunResult:
    """Run (or resume) every stage of ``cfg`` in ``workdir``; return the report and summary paths."""
    from nas.data import load_dataset
    from nas.search.stage import run_stage
    from nas.train import train_supernet

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, workdir)
    dataset = load_dataset(cfg.data)

    _log(console, "[bold]stage 1/4[/] supernet training")
    if cfg.supernet_from:
        info = link_supernet(Path(cfg.supernet_from), workdir)
    else:
        info = train_supernet(cfg, workdir, dataset)
    _log(console, f"  supernet: largest {100 * info['val_acc_largest']:.2f}%, smallest "
                  f"{100 * info['val_acc_smallest']:.2f}% validation accuracy (inherited weights)")

    _log(console, f"[bold]stage 2/4[/] search on {', '.join(cfg.search.profiles)}")
    results = run_stage(cfg, workdir, profiles=cfg.search.profiles, dataset=dataset, on_generation=on_generation)
    fronts = {p: r.front for p, r in results.items()}
    cands = choose_architectures(cfg, fronts)
    missing = [c for c in cands if c.kind == "baseline" and c.supernet_accuracy is None]
    for c, acc in zip(missing, _supernet_accuracy(cfg, workdir, [get_space(cfg.space).from_json(c.arch)
                                                                   for c in missing], dataset)):
        c.supernet_accuracy = acc
    (workdir / "chosen.json").write_text(json.dumps([c.to_dict() for c in cands], indent=1))
    hand = None
    if not cfg.final.train_hand_designed:  # not trained, still marked on the fronts
        arch = get_space(cfg.space).hand_designed()
        hand = Candidate("hand_designed", "baseline", arch.to_json(),
                         supernet_accuracy=_supernet_accuracy(cfg, workdir, [arch], dataset)[0])

    _log(console, f"[bold]stage 3/4[/] final training of {len(cands)} networks (Ray Tune)")
    finals = run_final_training(cfg, workdir, cands)
    for c in cands:
        _log(console, f"  {c.name:16s} test accuracy {100 * finals[c.name]['test_acc']:.2f}%")

    _log(console, "[bold]stage 4/4[/] export, latency check, report")
    export_all(cfg, workdir, cands, dataset.input_shape, dataset.num_classes)
    latency_check(cfg, workdir, cands)
    summary = write_summary(cfg, workdir, cands, finals, dataset, untrained=[hand] if hand else [])
    from nas.report import build_report

    report = build_report(workdir)
    return RunResult(report, summary)
