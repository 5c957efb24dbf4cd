"""``nas report WORKDIR``: a static HTML page plus PNG figures from a run's work directory.

Reads (written by the pipeline): ``summary.json``; per profile ``search/<profile>/front.jsonl``,
``search/<profile>/gen_*.jsonl`` and ``search/<profile>/metrics.jsonl``; optionally
``latency_check.json``. Writes ``report/index.html`` and ``report/*.png`` and returns the page.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from nas.errors import InputError
from nas.files import atomic_write_text
from nas.report import figures
from nas.rundir import RunDir
from search_spaces import get_space


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise InputError(f"{path}:{i}: not valid JSON") from None
    return rows


def load_summary(workdir: Path) -> dict:
    p = RunDir(workdir).summary
    if not p.is_file():
        raise InputError(f"{workdir}: no summary.json (run `nas run` to completion first)")
    try:
        summary = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{p}: not valid JSON ({e.msg})") from None
    for key in ("space", "profiles", "architectures"):
        if key not in summary:
            raise InputError(f"{p}: missing key {key!r}")
    return summary


def _profile_data(workdir: Path, profile: str, summary: dict) -> dict:
    d = RunDir(workdir).search(profile)
    evaluated = []
    for g in d.generations():
        evaluated += read_jsonl(g)
    marked = [{"name": a["name"], "kind": a["kind"], "accuracy": a.get("supernet_accuracy"),
               "latency_ms": a.get("latency_ms", {}).get(profile)}
              for a in summary["architectures"] + summary.get("untrained", [])
              if a["kind"] != "searched" or profile in a.get("chosen_for", [])]
    return {"evaluated": evaluated, "front": read_jsonl(d.front), "marked": marked,
            "history": read_jsonl(d.metrics)}


def _arch_text(a: dict) -> str:
    return json.dumps(a["arch"], separators=(",", ":")) if a.get("arch") else a["name"]


def _fmt(v, scale=1.0, digits=2, pct=False):
    if v is None:
        return "–"
    return f"{100 * v:.{digits}f}%" if pct else f"{v / scale:.{digits}f}"


def _training(t: dict | None) -> str:
    if not t:
        return "–"
    return html.escape(f"{t['epochs']:g} epochs from {t['init']}" + (", augmented" if t.get("augment") else ""))


def _arch_table(summary: dict) -> str:
    profiles = summary["profiles"]
    head = ("<tr><th>name</th><th>kind</th><th>test acc.</th><th>final training</th><th>supernet acc.</th>"
            "<th>MACs (M)</th>"
            "<th>params (K)</th><th>peak act. (KiB)</th>"
            + "".join(f"<th>latency {html.escape(p)} (ms)</th>" for p in profiles) + "<th>architecture</th></tr>")
    rows = []
    for a in summary["architectures"]:
        lat = "".join(f"<td>{_fmt(a.get('latency_ms', {}).get(p), digits=3)}</td>" for p in profiles)
        rows.append(
            f"<tr><td>{html.escape(a['name'])}</td><td>{a['kind']}</td>"
            f"<td>{_fmt(a.get('test_accuracy'), pct=True)}</td><td>{_training(a.get('training'))}</td>"
            f"<td>{_fmt(a.get('supernet_accuracy'), pct=True)}</td>"
            f"<td>{_fmt(a['macs'], 1e6)}</td><td>{_fmt(a['params'], 1e3, 1)}</td>"
            f"<td>{_fmt(a['peak_activation_bytes'], 1024, 1)}</td>{lat}"
            f"<td><code>{html.escape(_arch_text(a))}</code></td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _design_table(summary: dict) -> str:
    """How the architectures chosen for each device differ (kernel, depth, expansion, resolution)."""
    space = get_space(summary["space"])
    rows = []
    for p in summary["profiles"]:
        for a in summary["architectures"]:
            if a["kind"] == "searched" and p in a.get("chosen_for", []):
                desc = space.describe(space.from_json(a["arch"]))
                cells = "".join(f"<td>{html.escape(str(desc.get(k, '–')))}</td>"
                                for k in ("depth", "mean_kernel", "mean_expand", "resolution"))
                rows.append(f"<tr><td>{html.escape(p)}</td><td>{html.escape(a['name'])}</td>{cells}"
                            f"<td>{_fmt(a['macs'], 1e6)}</td>"
                            f"<td>{_fmt(a.get('latency_ms', {}).get(p), digits=3)}</td></tr>")
    head = ("<tr><th>profile</th><th>chosen</th><th>depth</th><th>mean kernel</th><th>mean expansion</th>"
            "<th>resolution</th><th>MACs (M)</th><th>latency there (ms)</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


RIVAL = {"searched": "reference", "reference": "searched"}


def equal_macs_comparison(architectures: list[dict]) -> list[dict]:
    """Searched networks and reference models, each against the other family at no more MACs.

    One row per trained network of kind ``searched`` or ``reference`` (MAC order): ``rival`` is
    the most accurate network of the other family whose MACs do not exceed this one's (None when
    none is that small), ``difference`` = this network's test accuracy minus the rival's (0-1).
    A reference row with a positive difference is beaten by a searched network at no more MACs;
    a searched row with a positive difference beats every reference model at no more MACs.
    """
    trained = [a for a in architectures if a.get("test_accuracy") is not None and a["kind"] in RIVAL]
    out = []
    for a in sorted(trained, key=lambda a: a["macs"]):
        pool = [b for b in trained if b["kind"] == RIVAL[a["kind"]] and b["macs"] <= a["macs"]]
        rival = max(pool, key=lambda b: b["test_accuracy"], default=None)
        out.append({"name": a["name"], "kind": a["kind"], "macs": a["macs"], "test_accuracy": a["test_accuracy"],
                    "rival": rival["name"] if rival else None, "rival_macs": rival["macs"] if rival else None,
                    "rival_accuracy": rival["test_accuracy"] if rival else None,
                    "difference": a["test_accuracy"] - rival["test_accuracy"] if rival else None})
    return out


def _equal_macs_table(summary: dict) -> str:
    rows = equal_macs_comparison(summary["architectures"])
    if not any(r["kind"] == "reference" for r in rows):
        return ""
    head = ("<tr><th>network</th><th>kind</th><th>MACs (M)</th><th>test acc.</th><th>best of the other kind at "
            "no more MACs</th><th>MACs (M)</th><th>test acc.</th><th>difference (points)</th></tr>")
    cells = []
    for r in rows:
        diff = "–" if r["difference"] is None else f"{100 * r['difference']:+.2f}"
        cells.append(
            f"<tr><td>{html.escape(r['name'])}</td><td>{r['kind']}</td><td>{_fmt(r['macs'], 1e6)}</td>"
            f"<td>{_fmt(r['test_accuracy'], pct=True)}</td><td>{html.escape(r['rival'] or 'none that small')}</td>"
            f"<td>{_fmt(r['rival_macs'], 1e6)}</td><td>{_fmt(r['rival_accuracy'], pct=True)}</td><td>{diff}</td></tr>")
    return ("<h2>Searched networks and reference models at no more MACs</h2>"
            f"<table>{head}{''.join(cells)}</table>")


DEPLOYED = ("onnx", "onnx-int8", "tflite", "tflite-int8")


def _deployment_table(summary: dict) -> str:
    """Test accuracy and latency on this machine of each exported format (float vs int8)."""
    rows = [a for a in summary["architectures"] if (a.get("deployed") or {}).get("accuracy")]
    if not rows:
        return ""
    fmts = [f for f in DEPLOYED if any(f in a["deployed"]["accuracy"] or f in a["deployed"].get("latency_ms_here", {})
                                       for a in rows)]
    head = ("<tr><th>network</th><th>JAX test acc.</th>"
            + "".join(f"<th>{html.escape(f)} acc.</th>" for f in fmts)
            + "".join(f"<th>{html.escape(f)} latency here (ms)</th>" for f in fmts) + "</tr>")
    cells = []
    for a in rows:
        acc, lat = a["deployed"]["accuracy"], a["deployed"].get("latency_ms_here", {})
        cells.append(f"<tr><td>{html.escape(a['name'])}</td><td>{_fmt(a.get('test_accuracy'), pct=True)}</td>"
                     + "".join(f"<td>{_fmt(acc.get(f), pct=True)}</td>" for f in fmts)
                     + "".join(f"<td>{_fmt(lat.get(f), digits=3)}</td>" for f in fmts) + "</tr>")
    return ("<h2>Deployed models: float vs int8</h2><p class='note'>test accuracy of each exported file run by "
            "its runtime (raw-pixel input, normalisation inside the graph); latency measured on this machine, "
            "batch 1, one thread, median of interleaved rounds.</p>"
            f"<table>{head}{''.join(cells)}</table>")


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,td:last-child{text-align:left}code{font-size:11px}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.note{color:#555;font-size:13px}"""


def build_report(workdir) -> Path:
    """Write ``<workdir>/report/index.html`` and its figures; return the HTML path."""
    run = RunDir(workdir)
    summary = load_summary(workdir)
    out = run.report
    out.mkdir(parents=True, exist_ok=True)
    pdata = {p: _profile_data(workdir, p, summary) for p in summary["profiles"]}
    figs = [("Pareto fronts per hardware profile", figures.fronts_figure(pdata, out / "fronts.png")),
            ("Hypervolume by generation",
             figures.hypervolume_figure({p: d["history"] for p, d in pdata.items()}, out / "hypervolume.png")),
            ("Test accuracy against MACs after final training",
             figures.macs_accuracy_figure(summary["architectures"], out / "macs_accuracy.png"))]
    check = run.latency_check
    if check.is_file():
        lc = json.loads(check.read_text())
        figs.append(("Predicted against measured latency on this machine",
                     figures.latency_check_figure(lc["rows"], out / "latency_check.png", lc["profile"])))
    body = [f"<h1>{html.escape(summary.get('experiment', 'experiment'))}: hardware-aware NAS report</h1>",
            f"<p class='note'>search space <b>{html.escape(summary['space'])}</b>; profiles: "
            f"{html.escape(', '.join(summary['profiles']))}. Test accuracy is measured once, after final "
            "training; supernet accuracy is on the validation split with inherited weights.</p>",
            "<h2>Chosen architectures</h2>", _arch_table(summary),
            _deployment_table(summary),
            _equal_macs_table(summary),
            "<h2>How the chosen architectures differ per device</h2>", _design_table(summary)]
    for title, path in figs:
        body.append(f"<h2>{html.escape(title)}</h2><img src='{path.name}' alt='{html.escape(title)}'>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>NAS report</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
    return atomic_write_text(out / "index.html", page)
