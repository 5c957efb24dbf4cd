"""Stage 4: export every trained candidate, check predicted latency against this machine,
write ``summary.json``; the report (:func:`nas.report.build_report`) reads what this writes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nas.files import atomic_write_json
from nas.pipeline.candidates import Candidate
from nas.pipeline.final import final_augment, init_of, training_config
from nas.rundir import RunDir
from nas.search_spaces import get_space, net_stats


def export_all(cfg, workdir, cands: list[Candidate], dataset, formats=None) -> dict[str, dict]:
    """Export every trained candidate into ``export/<name>/`` (skips finished exports).

    ``dataset`` (:class:`nas.data.Dataset`) gives the normalisation put into the graphs, the
    int8 calibration images (``export.calibration_images`` training images) and the test
    split on which every exported format's accuracy is measured. With ``export.latency`` the
    float and int8 models' latency is measured here (:func:`deployed_latency`). The ONNX int8
    model has ``export.int8_weight_bits`` weights; an export made with other bits is redone."""
    from nas.export.artifacts import ExportData, export_architecture, load_weights

    run = RunDir(workdir)
    formats = tuple(formats or cfg.export.formats)
    data = ExportData.from_dataset(dataset, cfg.export.calibration_images, cfg.export.accuracy_images)
    batch = cfg.export.batch or None
    records = {}
    for c in cands:
        out = run.export(c.name)
        done = json.loads(out.arch_json.read_text()) if out.arch_json.is_file() else None
        if done is not None and all(done.get(f) for f in formats if f != "json") and \
                ("onnx-int8" not in formats or _int8_bits(done) == cfg.export.int8_weight_bits):
            records[c.name] = done
            continue
        spec = c.spec(cfg, dataset.input_shape, dataset.num_classes)
        net = load_weights(spec, run.final(c.name).weights)
        rec = export_architecture(net, spec, out.path, name=c.name, arch_json=c.arch, space=cfg.space,
                                  formats=formats, tolerance=cfg.export.onnx_tolerance, batch=batch, data=data,
                                  int8_weight_bits=cfg.export.int8_weight_bits)
        if cfg.export.latency:
            rec["latency_ms"] = deployed_latency(out, rec)
            if "json" in formats:
                atomic_write_json(out.arch_json, rec, indent=2)
        records[c.name] = rec
    return records


def _int8_bits(record: dict):
    """The weight bits of an export's ONNX int8 model (None: not recorded)."""
    return (record.get("int8_weight_bits") or {}).get("onnx-int8")


def deployed_latency(out, record: dict, *, threads: int = 1) -> dict[str, float]:
    """Latency (ms) here of each exported ONNX Runtime / LiteRT model of one export, measured
    with the bundle runner's protocol (:mod:`nas.latency.runner`: warm-up, interleaved rounds,
    median), ``threads`` threads."""
    from nas.latency.runner import LOADERS, measure

    files = {"onnx": ("onnxruntime", out.onnx), "onnx-int8": ("onnxruntime", out.onnx_int8),
             "tflite": ("litert", out.tflite), "tflite-int8": ("litert", out.tflite_int8)}
    todo = [(f, rt, str(p)) for f, (rt, p) in files.items() if record.get(f)]
    if not todo:
        return {}
    calls = [LOADERS[rt](p, threads)[0] for _, rt, p in todo]
    med = measure(calls, warmup=10, repeats=20, rounds=5, seed=0)
    return {f: float(v) for (f, _, _), v in zip(todo, np.median(med, axis=0))}


def latencies(cfg, cand: Candidate, spec, profiles: dict) -> dict[str, float]:
    """Predicted latency (ms) of ``cand`` on each loaded profile (reference models through
    :meth:`~nas.latency.profile.Profile.predict_specs_ms`)."""
    if cand.arch is not None:
        arch = get_space(cfg.space).from_json(cand.arch)
        return {p: float(prof.predict_ms([arch])[0]) for p, prof in profiles.items()}
    return {p: float(prof.predict_specs_ms([spec])[0]) for p, prof in profiles.items()}


BAND_FLOOR = 0.10  # a profile's error band is twice its fit's MAPE in the space, never below 10%


def check_runtime(prof) -> tuple[str, str, int] | None:
    """``(runtime, export format, threads)`` with which this machine can measure what ``prof``
    predicts: a profile calibrated with jaxnas's runners (``nas profile calibrate``, or fitted to a
    bundle's measurements) names its runtime; a profile measured elsewhere by others gives None."""
    measured = (prof.extra or {}).get("measured") or {}
    if measured.get("runtime") in ("onnxruntime", "litert"):
        int8 = str(measured.get("precision", "")).startswith("int8")
        fmt = {"onnxruntime": "onnx", "litert": "tflite"}[measured["runtime"]] + ("-int8" if int8 else "")
        return measured["runtime"], fmt, _threads(measured.get("threads"))
    text = prof.runtime.lower()
    for name, fmt in (("xla", None), ("onnxruntime", "onnx")):
        if text.startswith(name):
            return name, fmt, _threads((prof.extra or {}).get("threads"))
    return None


def _threads(value) -> int:
    """A profile's recorded thread count (an int, or text beginning with one; default 1)."""
    import re

    m = re.match(r"\s*(\d+)", str(value or 1))
    return int(m.group(1)) if m else 1


def error_band(prof, space: str) -> float | None:
    """The relative error a profile admits in ``space``: twice its fit's MAPE there (at least
    :data:`BAND_FLOOR`); None when it was not fitted in ``space``."""
    fit = ((prof.extra or {}).get("fit") or {}).get(space) or {}
    mape = fit.get("mape")
    return max(BAND_FLOOR, 2 * float(mape)) if isinstance(mape, (int, float)) else None


def latency_check(cfg, workdir, cands: list[Candidate], *, loaded=None, records: dict | None = None):
    """Measure the candidates here with each of the run's profiles' own runtime
    (:func:`check_runtime`: XLA, or the exported ONNX / LiteRT model with the profile's precision
    and threads) and compare with that profile's predictions (reference models too: they test the
    prediction outside the measured space, ``in_space`` false). Writes ``latency_check.json``:
    ``checks`` (one per profile measured: ``profile``, ``runtime``, ``format``, ``threads``,
    ``rows``, ``band``, ``median_error``, ``disagrees``), ``not_checked`` (profile and reason),
    and, for readers of the first version, the first check's ``profile``/``runtime``/``rows``.
    Returns the path, or None when no profile could be checked here. ``records``: the exports
    (name -> record) of :func:`export_all`."""
    from nas.latency.measure import measure_specs
    from nas.latency.profile_io import profile_of
    from nas.pipeline.supernet import data_shape
    from nas.rundir import profile_label

    input_shape, num_classes = data_shape(cfg, workdir)
    specs = [c.spec(cfg, input_shape, num_classes) for c in cands]
    run = RunDir(workdir)
    checks, skipped, xla = [], [], None
    for p in cfg.search.profiles:
        prof, label = profile_of(p, loaded), profile_label(p)
        how = check_runtime(prof)
        if how is None:
            skipped.append({"profile": label, "reason": f"measured on {prof.device} by others: only that device "
                            "can check it"})
            continue
        runtime, fmt, threads = how
        if runtime == "xla":
            xla = xla or [m.latency_ms for m in measure_specs(specs, "xla", warmup=5, repeats=30)]
            measured = dict(zip([c.name for c in cands], xla))
        else:
            measured = {}
            for c in cands:
                rec = (records or {}).get(c.name) or {}
                if rec.get(fmt):
                    measured[c.name] = deployed_latency(run.export(c.name), {fmt: True}, threads=threads).get(fmt)
            if not measured:
                skipped.append({"profile": label, "reason": f"no {fmt} export to run with {runtime}"})
                continue
        rows = [{"name": c.name, "measured_ms": float(measured[c.name]),
                 "predicted_ms": latencies(cfg, c, spec, {label: prof})[label], "in_space": c.arch is not None}
                for c, spec in zip(cands, specs) if measured.get(c.name)]
        errs = [abs(r["predicted_ms"] / r["measured_ms"] - 1) for r in rows if r["in_space"]]
        band = error_band(prof, cfg.space)
        median = float(np.median(errs)) if errs else None
        checks.append({"profile": label, "device": prof.device, "runtime": runtime, "format": fmt, "threads": threads,
                       "rows": rows, "band": band, "median_error": median,
                       "disagrees": bool(median is not None and band is not None and median > band)})
    if not checks:
        return None
    first = checks[0]
    return atomic_write_json(run.latency_check, {"profile": first["profile"], "runtime": first["runtime"],
                                                 "rows": first["rows"], "checks": checks, "not_checked": skipped})


def latency_check_lines(cfg, path) -> list[str]:
    """One line per profile the local check disagrees with beyond its error band (with the
    command that calibrates one here), for the run's output; [] when none."""
    from nas.latency.profile_io import calibrate_command

    if path is None:
        return []
    out = []
    for c in json.loads(Path(path).read_text()).get("checks", []):
        if c["disagrees"]:
            out.append(f"latency check: {c['profile']} predicts {100 * c['median_error']:.0f}% off what "
                       f"{c['runtime']} measures here (its band: {100 * c['band']:.0f}%); "
                       "if this machine is its device, "
                       f"calibrate: {calibrate_command(c['profile'], c['runtime'], cfg.space)}")
    return out


def training_record(cfg, cand: Candidate, result: dict) -> dict:
    """How a candidate was finally trained: its budget, for comparisons at equal budgets."""
    return {"epochs": training_config(cfg, cand).epochs, "steps": result.get("steps"), "init": init_of(cfg, cand),
            "augment": final_augment(cfg)}


def write_summary(cfg, workdir, cands: list[Candidate], finals: dict, dataset, untrained: list[Candidate] = (),
                  *, loaded=None):
    """``summary.json``: the trained candidates under ``architectures`` (with ``training``: epochs,
    steps, init from ``scratch`` or ``supernet``, augment); ``untrained`` ones
    (the hand-designed network when ``final.train_hand_designed`` is off) under ``untrained``,
    with supernet accuracy, costs and latencies but no test accuracy. Profiles are named as the
    run names them (:func:`nas.rundir.profile_label`: a YAML path by its file's stem, the path
    under ``profile_files``). ``loaded``: profiles the run loaded already (name -> Profile)."""
    from nas.latency.profile_io import profile_of
    from nas.rundir import profile_label

    run = RunDir(workdir)
    # keyed as the run names them (a path by its file's stem)
    profiles = {profile_label(p): profile_of(p, loaded) for p in cfg.search.profiles}

    def entry(c: Candidate) -> dict:
        spec = c.spec(cfg, dataset.input_shape, dataset.num_classes)
        return {"name": c.name, "kind": c.kind, "arch": c.arch, "model": c.model or None,
                "chosen_for": c.chosen_for, "supernet_accuracy": c.supernet_accuracy,
                **net_stats(spec).to_dict(), "latency_ms": latencies(cfg, c, spec, profiles)}

    def deployed(c: Candidate) -> dict:
        out = run.export(c.name)
        rec = json.loads(out.arch_json.read_text()) if out.arch_json.is_file() else {}
        return {"deployed": {"accuracy": rec.get("accuracy", {}), "latency_ms_here": rec.get("latency_ms", {}),
                             "input": rec.get("input")}}

    entries = [{**entry(c), **deployed(c), "test_accuracy": finals[c.name]["test_acc"],
                "val_accuracy": finals[c.name]["val_acc"], "export": str(run.export(c.name).path.relative_to(run.root)),
                "training": training_record(cfg, c, finals[c.name])} for c in cands]
    from nas.pretrained.init import supernet_source

    summary = {"experiment": cfg.name, "space": cfg.space, "profiles": list(profiles),
               "dataset": dataset.name, "supernet": supernet_source(workdir), "architectures": entries}
    files = {profile_label(p): p for p in cfg.search.profiles if profile_label(p) != p}
    if files:
        summary["profile_files"] = files  # the YAML each path profile was read from
    if untrained:
        summary["untrained"] = [entry(c) for c in untrained]
    return atomic_write_json(run.summary, summary)
