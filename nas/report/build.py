"""``nas report WORKDIR``: a static HTML page plus PNG figures from a run's work directory.

Reads (written by the pipeline): ``summary.json``; per profile ``search/<profile>/front.jsonl``,
``search/<profile>/gen_*.jsonl`` and ``search/<profile>/metrics.jsonl``; optionally
``latency_check.json``. Writes ``report/index.html`` and ``report/*.png`` and returns the page.
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path

from nas.errors import InputError, loads_json
from nas.files import atomic_write_text, read_json, read_text
from nas.report import figures
from nas.rundir import RunDir
from nas.search_spaces import get_space


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSONL file written by the search (absent: none); InputError naming file and
    line for a line that is not a JSON object of finite values."""
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(read_text(path, what="JSONL file").splitlines(), 1):
        if line.strip():
            row = loads_json(line, f"{path}:{i}")
            if not isinstance(row, dict):
                raise InputError(f"{path}:{i}: not a JSON object")
            rows.append(row)
    return rows


KINDS = ("searched", "baseline", "reference")


def _num(v, where: str, *, lo: float = 0.0, hi: float = math.inf, optional: bool = False):
    if v is None and optional:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
        raise InputError(f"{where} must be a number in [{lo:g}, {hi:g}], got {v!r}"[:300])


def check_summary(summary, p: Path) -> dict:
    """Validate ``summary.json`` as the report reads it; InputError naming the file and field."""
    from nas.search_spaces.registry import SPACES

    if not isinstance(summary, dict):
        raise InputError(f"{p}: must be a JSON object")
    for key in ("space", "profiles", "architectures"):
        if key not in summary:
            raise InputError(f"{p}: missing key {key!r}")
    if summary["space"] not in SPACES:
        raise InputError(f"{p}: space: unknown search space {summary['space']!r}"[:300])
    if not isinstance(summary["profiles"], list) or not all(isinstance(x, str) and x and "/" not in x and
                                                            x not in (".", "..") for x in summary["profiles"]):
        raise InputError(f"{p}: profiles must be a list of profile names (a YAML path's file stem)")
    files = summary.get("profile_files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise InputError(f"{p}: profile_files must map profile names to YAML paths")
    if not isinstance(summary.get("experiment", ""), str):
        raise InputError(f"{p}: experiment must be a string")
    space = get_space(summary["space"])
    for key in ("architectures", "untrained"):
        entries = summary.get(key, [])
        if not isinstance(entries, list):
            raise InputError(f"{p}: {key} must be a list")
        for i, a in enumerate(entries):
            w = f"{p}: {key}[{i}]"
            if not isinstance(a, dict) or not isinstance(a.get("name"), str) or a.get("kind") not in KINDS:
                raise InputError(f"{w}: needs a name and a kind ({', '.join(KINDS)})")
            if a.get("arch") is not None:
                try:
                    space.from_json(a["arch"])
                except InputError as e:
                    raise InputError(f"{w}: {e}") from None
            elif a["kind"] == "searched":
                raise InputError(f"{w}: a searched network needs its arch")
            for f in ("macs", "params", "peak_activation_bytes"):
                _num(a.get(f), f"{w}.{f}", optional=key == "untrained")
            for f in ("test_accuracy", "supernet_accuracy"):
                _num(a.get(f), f"{w}.{f}", hi=1.0, optional=True)
            lat = a.get("latency_ms", {})
            if not isinstance(lat, dict):
                raise InputError(f"{w}.latency_ms must map profile names to numbers")
            for q, v in lat.items():
                _num(v, f"{w}.latency_ms[{q!r}]", optional=True)
            if not isinstance(a.get("chosen_for", []), list) or not all(isinstance(x, str) for x in
                                                                        a.get("chosen_for", [])):
                raise InputError(f"{w}.chosen_for must be a list of profile names")
            t = a.get("training")
            if t is not None and not (isinstance(t, dict) and isinstance(t.get("init"), str)):
                raise InputError(f"{w}.training must be an object with epochs and init")
            if t is not None:
                _num(t.get("epochs"), f"{w}.training.epochs")
    return summary


def _supernet_id_or_none(run: RunDir) -> str | None:
    """The run's current supernet id, or None without a trained supernet: a benchmark record is
    shown only when it was measured on this very supernet."""
    try:
        return run.supernet_id()
    except OSError:
        return None


def _fidelity_note(run: RunDir) -> str:
    """How far to trust the fronts: the supernet's measured ranking fidelity
    (``nas check fidelity``) when it was measured for this very supernet."""
    if not run.fidelity.is_file():
        return ("<p class='note'>Supernet ranking fidelity: not measured for this run "
                "(<code>nas check fidelity WORKDIR</code>).</p>")
    fid = read_json(run.fidelity, what="fidelity record")
    current = _supernet_id_or_none(run)
    try:
        same = isinstance(fid, dict) and fid.get("supernet_id") == current
        parts = []
        for key, label in (("overall", "overall"), ("band_only", "within one MACs band")):
            d = fid[key]
            t, (lo, hi) = d["kendall_tau"]["value"], d["kendall_tau"]["ci95"]
            if t is None:  # undefined (too few subnets)
                parts.append(f"Kendall τ undefined {label} ({int(d['n'])} subnets)")
                continue
            _num(t, f"{run.fidelity}: {key}.kendall_tau", lo=-1.0, hi=1.0)
            ci = f" [95% CI {lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else ""
            parts.append(f"Kendall τ {t:.2f}{ci} {label} ({int(d['n'])} subnets)")
        epochs = float(fid["recipe"]["epochs"])
        n_seeds = len(fid["recipe"].get("seeds") or [0])
        retest = fid.get("ground_truth_retest")
        ceiling = retest and retest["overall"]["kendall_tau"]["value"]
        if ceiling is not None:
            _num(ceiling, f"{run.fidelity}: ground_truth_retest.overall.kendall_tau", lo=-1.0, hi=1.0)
            parts.append(f"stand-alone training against itself (seed vs seed) τ {ceiling:.2f}, "
                         "the most any supernet can show here")
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{run.fidelity}: malformed fidelity record ({type(e).__name__})") from None
    if not same:
        return (f"<p class='note'>Supernet ranking fidelity: {run.fidelity.name} was measured on another "
                "supernet (retrained since); not shown.</p>")
    seeds = f", mean of {n_seeds} seeds" if n_seeds > 1 else ""
    return (f"<p class='note'>Supernet ranking fidelity (inherited accuracy against stand-alone training, "
            f"{epochs:g} epochs{seeds}): {html.escape('; '.join(parts))}.</p>")


def supernet_check_line(s: dict) -> str:
    """``nas check supernet``'s summary of all random subnets (``summary.all``) in one line, with
    the goal of docs/benchmarks/supernet.md."""
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    rho = "n/a" if s["spearman"] is None else f"{s['spearman']:.2f}"
    verdict = "meets the goal" if s["meets_goal"] else "misses the goal"
    return (f"{s['n']} random subnets: {pct(s['share_on_or_above'])} on or above the line from the smallest "
            f"({pct(s['smallest'])}) to the largest ({pct(s['largest'])}), "
            f"worst {100 * (s['worst_below_line'] or 0):.2f} "
            f"points below it and {100 * (s['worst_below_smallest'] or 0):.2f} below the smallest; Spearman vs MACs "
            f"{rho} ({verdict}: >= 80%, <= 0.50, >= 0.80)")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _latency_note(c: dict) -> str:
    """What the local latency check says of one profile: agreement within its error band, or a
    warning with the command that calibrates a profile here."""
    med, band = c.get("median_error"), c.get("band")
    if med is None:
        return ""
    what = (f"Latency check of {html.escape(c['profile'])} with {html.escape(c['runtime'])} on this machine: "
            f"predictions {100 * med:.0f}% off the measurements (median over the searched networks)")
    if band is None:
        return f"<p class='note'>{what}; the profile has no error band in this space.</p>"
    if not c.get("disagrees"):
        return f"<p class='note'>{what}, within its error band ({100 * band:.0f}%).</p>"
    from nas.latency.profile_io import calibrate_command

    return (f"<p class='warn'>{what}, beyond its error band ({100 * band:.0f}%). If this machine is the profile's "
            f"device, it was calibrated on another one: measure this one with "
            f"<code>{html.escape(calibrate_command(c['profile'], c['runtime'], 'SPACE'))}</code> "
            "(about two minutes) and search with it.</p>")


def _supernet_check(run: RunDir) -> tuple[str, list[dict]] | None:
    """The summary line and rows of ``nas check supernet`` when it was measured on this very
    supernet (None when not measured, or measured on another); InputError for a malformed record."""
    if not run.supernet_check.is_file():
        return None
    rec = read_json(run.supernet_check, what="supernet check")
    try:
        if rec.get("supernet_id") != _supernet_id_or_none(run):
            return None
        for i, r in enumerate(rec["rows"]):
            _num(r["macs"], f"{run.supernet_check}: rows[{i}].macs", lo=1e-9)
            _num(r["accuracy"], f"{run.supernet_check}: rows[{i}].accuracy", lo=0.0, hi=1.0)
            if not isinstance(r["name"], str):
                raise TypeError
        return supernet_check_line(rec["summary"]["all"]), rec["rows"]
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{run.supernet_check}: malformed supernet check ({type(e).__name__})") from None


def _search_check_note(run: RunDir) -> str:
    """Did the search earn its choice: the chosen network against random networks of equal
    predicted latency fine-tuned the same way (``nas check search-vs-random``),
    when that was measured, complete, for this very supernet."""
    if not run.search_check.is_file():
        return ""
    rec = read_json(run.search_check, what="search check")
    current = _supernet_id_or_none(run)
    try:
        rows = rec["rows"]
        if rec.get("supernet_id") != current or rec["done"] < rec["sample"] or len(rows) < 2:
            return ""
        for k in ("chosen_test_acc", "best_random_test_acc"):
            _num(rec[k], f"{run.search_check}: {k}", hi=1.0)
        epochs = (rec.get("final") or {}).get("epochs")
        _num(epochs, f"{run.search_check}: final.epochs", hi=1e4, optional=True)
        budget = "" if epochs is None else f" ({epochs:g} epochs)"
        text = (f"{rows[0]['name']} ranks {int(rec['chosen_rank'])} of {len(rows)} against {len(rows) - 1} random "
                f"networks within ±{100 * float(rec['tolerance']):g}% of its predicted latency, all fine-tuned the "
                f"same way{budget}: test accuracy {100 * rec['chosen_test_acc']:.2f}% against the best random "
                f"{100 * rec['best_random_test_acc']:.2f}%")
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise InputError(f"{run.search_check}: malformed search check ({type(e).__name__})") from None
    verdict = "the search earned its choice" if rec.get("earned") else "the search did not earn its choice"
    return f"<p class='note'>Search against random ({verdict}): {html.escape(text)}.</p>"


def load_summary(workdir: Path) -> dict:
    p = RunDir(workdir).summary
    if not p.is_file():
        raise InputError(f"{workdir}: no summary.json (run `nas run` to completion first)")
    return check_summary(read_json(p, what="summary"), p)


def _profile_data(workdir: Path, profile: str, summary: dict) -> dict:
    d = RunDir(workdir).search(profile)
    evaluated = []
    for g in d.generations():
        evaluated += read_jsonl(g)
    marked = [{"name": a["name"], "kind": a["kind"], "accuracy": a.get("supernet_accuracy"),
               "latency_ms": a.get("latency_ms", {}).get(profile)}
              for a in summary["architectures"] + summary.get("untrained", [])
              if a["kind"] != "searched" or profile in a.get("chosen_for", [])]
    front, history = read_jsonl(d.front), read_jsonl(d.metrics)
    for rows, path in ((evaluated, d.path / "gen_*.jsonl"), (front, d.front)):
        _numbers(rows, ("accuracy", "latency_ms", "generation"), path)
    _numbers(history, ("generation", "hypervolume"), d.metrics)
    return {"evaluated": evaluated, "front": front, "marked": marked, "history": history}


def _numbers(rows: list[dict], keys, path) -> None:
    """InputError naming ``path`` when a row holds a non-number under one of ``keys``."""
    for r in rows:
        for k in keys:
            if k in r and r[k] is not None:
                _num(r[k], f"{path}: {k}", lo=-math.inf)


def _profile_names(summary: dict) -> str:
    """The run's profiles, each read from a YAML path followed by that path."""
    files = summary.get("profile_files", {})
    return ", ".join(f"{p} ({files[p]})" if p in files else p for p in summary["profiles"])


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
            f"<table>{head}{''.join(cells)}</table>{_int8_note(rows)}")


def _int8_note(rows: list) -> str:
    """A warning when an int8 model ran slower than its float model here, with the reason and the fix."""
    slow = []
    for a in rows:
        lat = a["deployed"].get("latency_ms_here", {})
        for f in ("onnx", "tflite"):
            if lat.get(f) and lat.get(f"{f}-int8") and lat[f"{f}-int8"] > lat[f]:
                slow.append(f"{a['name']} ({f}: {lat[f + '-int8']:.3f} vs {lat[f]:.3f} ms)")
    if not slow:
        return ""
    return ("<p class='warn'><b>int8 ran slower than float on this machine</b>: " + html.escape("; ".join(slow))
            + ". On x86 CPUs without VNNI (AVX2 only) ONNX Runtime's int8 kernels widen 8-bit products to 16 bits "
            "and can lose to float. There, 7-bit weights (<code>--set export.int8_weight_bits=7</code> or "
            "<code>nas export WORKDIR --int8-weight-bits 7</code>) avoid the saturation of that path (accuracy), "
            "not its cost: judge int8 speed on the target device, whose integer units it is meant for.</p>")


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,td:last-child{text-align:left}code{font-size:11px}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.note{color:#555;font-size:13px}
.warn{color:#8a4b00;background:#fff6e5;padding:6px;font-size:13px}"""


def _supernet_note(summary: dict) -> str:
    """Which supernet the run searched: trained here, or imported from which file (SHA-256)."""
    src = summary.get("supernet")
    if not isinstance(src, dict) or src.get("kind") != "imported":
        return "<p class='note'>supernet: trained in this run.</p>"
    named = f"<code>{html.escape(str(src['name']))}</code> shipped with jaxnas, " if src.get("name") else ""
    return (f"<p class='note'>supernet: imported ({html.escape(str(src.get('format', '')))}) from {named}"
            f"<code>{html.escape(str(src.get('file', '')))}</code>, SHA-256 "
            f"<code>{html.escape(str(src.get('sha256', '')))}</code>; not trained in this run.</p>")


def build_report(workdir) -> Path:
    """Write ``<workdir>/report/index.html`` and its figures; return the HTML path."""
    run = RunDir(workdir)
    summary = load_summary(workdir)
    out = run.report
    out.mkdir(parents=True, exist_ok=True)
    pdata = {p: _profile_data(workdir, p, summary) for p in summary["profiles"]}
    figs = [("Pareto fronts per hardware profile", figures.fronts_figure(pdata, out / "fronts.png")),
            ("Hypervolume by generation",
             figures.hypervolume_figure({p: d["history"] for p, d in pdata.items()}, out / "hypervolume.png"))]
    trained = [r for r in summary["architectures"] if r.get("test_accuracy") is not None]
    if len(trained) > 1:  # one network is no curve: its accuracy is in the table
        figs.append(("Test accuracy against MACs after final training",
                     figures.macs_accuracy_figure(summary["architectures"], out / "macs_accuracy.png")))
    middle = _supernet_check(run)
    if middle is not None:
        line, rows = middle
        figs.append((f"The supernet's middle against its ends (nas check supernet): {line}",
                     figures.supernet_check_figure(rows, out / "supernet_check.png")))
    check = run.latency_check
    latency_notes = []
    if check.is_file():
        lc = read_json(check, what="latency check")
        if not isinstance(lc, dict) or not isinstance(lc.get("profile"), str) or not isinstance(lc.get("rows"), list):
            raise InputError(f"{check}: must be an object with profile and rows")
        checks = lc.get("checks") or [{"profile": lc["profile"], "runtime": lc.get("runtime", "xla"),
                                        "rows": lc["rows"]}]  # a first-version record: one check
        for c in checks:
            for i, r in enumerate(c["rows"]):
                if not isinstance(r, dict) or not isinstance(r.get("name", ""), str):
                    raise InputError(f"{check}: rows[{i}] must be an object with name, predicted_ms, measured_ms")
                for k in ("predicted_ms", "measured_ms"):
                    _num(r.get(k), f"{check}: rows[{i}].{k}", lo=1e-9)
            figs.append((f"Predicted ({c['profile']}) against measured latency on this machine ({c['runtime']})",
                         figures.latency_check_figure(c["rows"], out / f"latency_check_{_slug(c['profile'])}.png",
                                                      c["profile"])))
            latency_notes.append(_latency_note(c))
        for s_ in lc.get("not_checked") or []:
            latency_notes.append(f"<p class='note'>Latency of {html.escape(str(s_.get('profile')))} not checked here: "
                                 f"{html.escape(str(s_.get('reason')))}.</p>")
    body = [f"<h1>{html.escape(summary.get('experiment', 'experiment'))}: hardware-aware NAS report</h1>",
            f"<p class='note'>search space <b>{html.escape(summary['space'])}</b>; profiles: "
            f"{html.escape(_profile_names(summary))}. Test accuracy is measured once, after final "
            "training; supernet accuracy is on the validation split with inherited weights.</p>",
            _supernet_note(summary),
            _fidelity_note(run), _search_check_note(run), *latency_notes,
            "<h2>Chosen architectures</h2>", _arch_table(summary),
            _deployment_table(summary),
            _equal_macs_table(summary),
            "<h2>How the chosen architectures differ per device</h2>", _design_table(summary)]
    for title, path in figs:
        body.append(f"<h2>{html.escape(title)}</h2><img src='{path.name}' alt='{html.escape(title)}'>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>NAS report</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
    return atomic_write_text(out / "index.html", page)
