"""Stage 4: export every trained candidate, check predicted latency against this machine,
write ``summary.json``; the report (:func:`nas.report.build_report`) reads what this writes."""
from __future__ import annotations

import json

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


def latency_check(cfg, workdir, cands: list[Candidate], profile: str = "local_cpu", *, loaded=None):
    """Measure every candidate here (XLA) and compare with ``profile``'s predictions (reference
    models too: they test the prediction outside the measured space, ``in_space`` false);
    returns the written ``latency_check.json``, or None when ``profile`` does not cover the space.
    ``loaded``: profiles the run loaded already (name -> Profile)."""
    from nas.latency.measure import measure_specs
    from nas.latency.profile_io import list_profiles, profile_of
    from nas.pipeline.supernet import data_shape

    if profile not in list_profiles():
        return None
    prof = profile_of(profile, loaded)
    if cfg.space not in prof.spaces:
        return None
    input_shape, num_classes = data_shape(cfg, workdir)
    specs = [c.spec(cfg, input_shape, num_classes) for c in cands]
    measured = measure_specs(specs, "xla", warmup=5, repeats=30)
    rows = [{"name": c.name, "measured_ms": m.latency_ms,
             "predicted_ms": latencies(cfg, c, spec, {profile: prof})[profile], "in_space": c.arch is not None}
            for c, spec, m in zip(cands, specs, measured)]
    return atomic_write_json(RunDir(workdir).latency_check, {"profile": profile, "runtime": "xla", "rows": rows})


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
