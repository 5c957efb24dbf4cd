"""``nas report`` of a work directory that holds searches but no finished run (no ``summary.json``):
a search on a predictor file (``nas search ofa_note10``), or a run stopped after stage 2.

Per searched profile: the front and every evaluated network (figure and table, each network's
``arch`` also being Once-for-All's ``ks``/``e``/``d``/``r`` form), and networks the user marks:
``--mark FILE.jsonl`` (``{"name", "arch"}`` per line) or ``--mark-ofa DIR`` (Once-for-All's
specialized networks: sub-folders with ``net.config`` and ``run.config``). A marked network is
scored like the search's own candidates where it can be (the run's predictor file, each
profile's latency); one that cannot (another space, a resolution the tables lack) is listed with
the reason.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from nas.errors import InputError
from nas.files import atomic_write_text, read_json
from nas.report import figures
from nas.rundir import RunDir, profile_label


def ofa_marks(folder) -> list[dict]:
    """``{"name", "arch" or None, "note"}`` of each OFA specialized network under ``folder``."""
    from nas.pretrained.ofa import arch_from_net_config
    from nas.search_spaces import arch_to_json

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--mark-ofa {folder}: not a folder")
    out = []
    for d in sorted(p for p in folder.iterdir() if (p / "net.config").is_file()):
        net = read_json(d / "net.config", what="net.config")
        run_cfg = read_json(d / "run.config", what="run.config") if (d / "run.config").is_file() else {}
        r = run_cfg.get("image_size", 224) if isinstance(run_cfg, dict) else 224
        try:
            arch = arch_from_net_config(net, int(r))
            out.append({"name": d.name, "arch": arch_to_json(arch), "space": arch.space})
        except (InputError, TypeError, ValueError) as e:
            out.append({"name": d.name, "arch": None, "note": str(e)})
    if not out:
        raise InputError(f"--mark-ofa {folder}: no sub-folder with a net.config")
    return out


def file_marks(path) -> list[dict]:
    from nas.files import read_text

    out = []
    for i, line in enumerate(read_text(path, what="marks file").splitlines(), 1):
        if line.strip():
            row = json.loads(line) if line.strip().startswith("{") else None
            if not isinstance(row, dict) or not isinstance(row.get("arch"), dict):
                raise InputError(f"{path}:{i}: expected {{\"name\", \"arch\"}}")
            out.append({"name": str(row.get("name", f"mark {i}")), "arch": row["arch"]})
    return out


def _score(cfg, marks: list[dict], profiles: dict) -> None:
    """Fill each mark's ``accuracy`` and ``latency_ms`` (per profile label) where the run can score it."""
    from nas.pipeline.search import predictor_file
    from nas.search_spaces import get_space

    space = get_space(cfg.space)
    pred = None
    if predictor_file(cfg):
        from nas.accuracy import load_predictor

        pred = load_predictor(predictor_file(cfg), cfg.space)
    for m in marks:
        m.setdefault("latency_ms", {})
        if m.get("arch") is None:
            continue
        if m.get("space", cfg.space) != cfg.space:
            m["note"] = f"a network of space {m['space']}, not this run's {cfg.space}"
            continue
        arch = space.from_json(m["arch"])
        if pred is not None:
            m["accuracy"] = float(pred.predict([arch])[0][0])
        for label, prof in profiles.items():
            try:
                m["latency_ms"][label] = float(prof.predict_ms([arch])[0])
            except InputError as e:
                m["note"] = str(e).split(": ", 1)[-1]


def build_search_report(workdir, marks: list[dict] | None = None) -> Path:
    """Write ``<workdir>/report/index.html`` (and ``fronts.png``) for the searches in ``workdir``."""
    from nas.latency import profile_of
    from nas.pipeline.workdir import stored_config
    from nas.report.build import read_jsonl

    run = RunDir(workdir)
    cfg, _ = stored_config(run)
    if cfg is None:
        raise InputError(f"{workdir}: no config.json and no summary.json (run `nas search` or `nas run` first)")
    labels = {profile_label(p): p for p in cfg.search.profiles if run.search(p).front.is_file()}
    if not labels:
        raise InputError(f"{workdir}: no finished search (no search/<profile>/front.jsonl)")
    loaded: dict = {}
    profiles = {label: profile_of(p, loaded) for label, p in labels.items()}
    marks = [dict(m) for m in marks or []]
    _score(cfg, marks, profiles)
    pdata = {}
    for label in labels:
        d = run.search(label)
        evaluated = [r for g in d.generations() for r in read_jsonl(g)]
        pdata[label] = {"evaluated": evaluated, "front": read_jsonl(d.front),
                        "marked": [{"name": m["name"], "kind": "reference", "accuracy": m.get("accuracy"),
                                    "latency_ms": m["latency_ms"].get(label)} for m in marks]}
    out = run.report
    out.mkdir(parents=True, exist_ok=True)
    from nas.pipeline.search import predictor_file

    fig = figures.fronts_figure(pdata, out / "fronts.png",
                                "predicted accuracy (%)" if predictor_file(cfg) else "supernet accuracy (%)")
    body = [f"<h1>{html.escape(cfg.name)}: search report</h1>",
            f"<p class='note'>space <b>{html.escape(cfg.space)}</b>; accuracy: {html.escape(cfg.search.accuracy)}; "
            f"profiles: {html.escape(', '.join(labels))}. Each arch is also Once-for-All's form where the space is "
            "its (ks, e, d as set_active_subnet takes them; r the resolution).</p>",
            f"<img src='{fig.name}' alt='fronts'>"]
    if marks:
        head = "".join(f"<th>latency {html.escape(p)} (ms)</th>" for p in labels)
        rows = "".join(
            f"<tr><td>{html.escape(m['name'])}</td><td>{_pct(m.get('accuracy'))}</td>"
            + "".join(f"<td>{_ms(m['latency_ms'].get(p))}</td>" for p in labels)
            + f"<td>{html.escape(m.get('note', ''))}</td></tr>" for m in marks)
        body.append(f"<h2>Marked networks</h2><table><tr><th>network</th><th>accuracy</th>{head}<th>note</th></tr>"
                    f"{rows}</table>")
    for label in labels:
        front = pdata[label]["front"]
        rows = "".join(f"<tr><td>{_pct(r.get('accuracy'))}</td><td>{_ms(r.get('latency_ms'))}</td>"
                       f"<td><code>{html.escape(json.dumps(r.get('arch'), separators=(',', ':')))}</code></td></tr>"
                       for r in front)
        body.append(f"<h2>Front on {html.escape(label)}: {len(front)} networks of "
                    f"{len(pdata[label]['evaluated'])} evaluated</h2>"
                    f"<table><tr><th>accuracy</th><th>latency (ms)</th><th>arch</th></tr>{rows}</table>")
    from nas.report.build import CSS

    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>NAS search report</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
    return atomic_write_text(out / "index.html", page)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.2f}%"


def _ms(v) -> str:
    return "–" if v is None else f"{v:.2f}"
