"""Report rendering from a work directory's files (HTML + PNG, checked in headless Chromium)."""
import json

import jax

from nas.cli.main import main
from nas.report import build_report
from nas.search_spaces import arch_stats, arch_to_json, get_space
from tests.report_helpers import assert_report_renders


def _write_workdir(tmp_path, profiles=("pa", "pb")):
    sp = get_space("fashion_mnist")
    archs = sp.sample(jax.random.key(0), 30)
    entries = []
    for p_i, p in enumerate(profiles):
        d = tmp_path / "search" / p
        d.mkdir(parents=True)
        rows = []
        for i, a in enumerate(archs):
            s = arch_stats(a)
            rows.append({"arch": arch_to_json(a), "accuracy": 0.8 + s.macs / 1e8,
                         "latency_ms": (1 + p_i) * s.macs / 1e6, "feasible": i % 4 != 0})
        for g in range(3):
            (d / f"gen_{g:04d}.jsonl").write_text("\n".join(json.dumps(r) for r in rows[g * 10:(g + 1) * 10]))
        front = sorted(rows, key=lambda r: r["latency_ms"])[:5]
        (d / "front.jsonl").write_text("\n".join(json.dumps(r) for r in front))
        (d / "metrics.jsonl").write_text("\n".join(json.dumps({"generation": g, "hypervolume": 0.1 * g + 0.2})
                                                   for g in range(3)))
        a = archs[p_i]
        s = arch_stats(a)
        entries.append({"name": f"{p}-0", "kind": "searched", "arch": arch_to_json(a), "chosen_for": [p],
                        "test_accuracy": 0.9, "supernet_accuracy": 0.88, **s.to_dict(),
                        "latency_ms": {q: 1.0 + i for i, q in enumerate(profiles)}})
    s = arch_stats(sp.largest())
    entries.append({"name": "mobilenet_v2", "kind": "reference", "arch": None, "test_accuracy": 0.91,
                    "supernet_accuracy": None, **s.to_dict(), "latency_ms": {q: 3.0 for q in profiles}})
    summary = {"experiment": "unit", "space": "fashion_mnist", "profiles": list(profiles), "architectures": entries}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "latency_check.json").write_text(json.dumps(
        {"profile": "pa", "rows": [{"name": "x", "predicted_ms": 1.0, "measured_ms": 1.1}]}))
    return summary


def test_report_files_and_rendering(tmp_path):
    summary = _write_workdir(tmp_path)
    index = build_report(tmp_path)
    html = index.read_text()
    for a in summary["architectures"]:
        assert a["name"] in html
    assert "How the chosen architectures differ per device" in html
    assert "Searched networks and reference models at no more MACs" in html
    assert (index.parent / "latency_check_pa.png").is_file()
    assert_report_renders(index, tmp_path)


def test_report_shows_each_profiles_latency_check_and_warns_beyond_its_band(tmp_path):
    """One check per profile measured here with its own runtime; a disagreement beyond the
    profile's band is a warning with the calibration command; a device's profile is listed as
    not checked with the reason."""
    _write_workdir(tmp_path)
    rows = [{"name": "x", "predicted_ms": 1.0, "measured_ms": 1.6, "in_space": True}]
    (tmp_path / "latency_check.json").write_text(json.dumps({
        "profile": "pa", "runtime": "xla", "rows": rows,
        "checks": [{"profile": "pa", "runtime": "xla", "rows": rows, "band": 0.14, "median_error": 0.375,
                    "disagrees": True},
                   {"profile": "pb", "runtime": "onnxruntime", "rows": rows, "band": 0.5, "median_error": 0.375,
                    "disagrees": False}],
        "not_checked": [{"profile": "pixel2", "reason": "measured on Google Pixel 2 by others"}]}))
    html = build_report(tmp_path).read_text()
    assert "<p class='warn'>Latency check of pa with xla on this machine: predictions 38% off" in html
    assert "nas profile calibrate pa_here --space SPACE --runtime xla" in html
    assert "Latency check of pb with onnxruntime on this machine: predictions 38% off the measurements " \
           "(median over the searched networks), within its error band (50%)" in html
    assert "Latency of pixel2 not checked here: measured on Google Pixel 2 by others." in html
    assert (tmp_path / "report" / "latency_check_pb.png").is_file()


def test_equal_macs_comparison_pits_each_network_against_the_other_kind_at_no_more_macs():
    from nas.report.build import equal_macs_comparison

    def net(name, kind, macs, acc):
        return {"name": name, "kind": kind, "macs": macs, "test_accuracy": acc}

    archs = [net("s_small", "searched", 1e6, 0.90), net("s_mid", "searched", 4e6, 0.92),
             net("s_big", "searched", 8e6, 0.95), net("untrained", "searched", 2e6, None),
             net("hand", "baseline", 3e6, 0.99), net("mbv2_050", "reference", 2e6, 0.89),
             net("mbv2", "reference", 5e6, 0.93), net("tiny_ref", "reference", 5e5, 0.80)]
    rows = {r["name"]: r for r in equal_macs_comparison(archs)}
    assert set(rows) == {"s_small", "s_mid", "s_big", "mbv2_050", "mbv2", "tiny_ref"}  # trained, two kinds
    assert [r["name"] for r in equal_macs_comparison(archs)][0] == "tiny_ref"  # MAC order
    assert rows["mbv2_050"]["rival"] == "s_small" and abs(rows["mbv2_050"]["difference"] + 0.01) < 1e-12
    assert rows["mbv2"]["rival"] == "s_mid" and rows["mbv2"]["difference"] > 0  # s_big has more MACs
    assert rows["tiny_ref"]["rival"] is None and rows["tiny_ref"]["difference"] is None
    assert rows["s_small"]["rival"] == "tiny_ref"
    assert rows["s_big"]["rival"] == "mbv2" and abs(rows["s_big"]["difference"] - 0.02) < 1e-12


def test_untrained_hand_design_is_marked_on_fronts(tmp_path):
    from nas.report.build import _profile_data

    summary = _write_workdir(tmp_path)
    s = arch_stats(get_space("fashion_mnist").hand_designed())
    summary["untrained"] = [{"name": "hand_designed", "kind": "baseline", "supernet_accuracy": 0.85,
                             **s.to_dict(), "latency_ms": {"pa": 2.0, "pb": 2.5}}]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    marked = _profile_data(tmp_path, "pb", summary)["marked"]
    assert {"name": "hand_designed", "kind": "baseline", "accuracy": 0.85, "latency_ms": 2.5} in marked
    assert (build_report(tmp_path).parent / "fronts.png").is_file()


def test_report_cli_bad_workdir(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no summary.json" in capsys.readouterr().err
    (tmp_path / "summary.json").write_text("{broken")
    assert main(["report", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    (tmp_path / "summary.json").write_text("{}")
    assert main(["report", str(tmp_path)]) == 2
    assert "missing key 'space'" in capsys.readouterr().err


def test_run_with_a_profile_given_as_a_path_reaches_the_report(tmp_path):
    """A YAML path in search.profiles: search, choice, summary and report all name it by its
    file's stem, in one folder ``search/<stem>/`` inside the work directory."""
    from types import SimpleNamespace

    from nas.config import apply_overrides, load_experiment
    from nas.pipeline.candidates import choose_architectures
    from nas.pipeline.export import write_summary
    from nas.pipeline.search import run_stage
    from nas.rundir import profile_label
    from tests.conftest import profile_beside_its_data

    yaml = profile_beside_its_data(tmp_path / "devices")
    wd = tmp_path / "run"
    cfg = apply_overrides(load_experiment("fashion_mnist", smoke=True), [
        f"search.profiles={yaml}", "search.objectives=flops,latency_ms", "search.budgets={}",
        "final.baselines=[]", "final.train_hand_designed=false"])
    assert profile_label(cfg.search.profiles[0]) == "my_phone"
    results = run_stage(cfg, wd, profiles=cfg.search.profiles)  # no accuracy objective: no supernet
    cands = choose_architectures(cfg, {p: r.front for p, r in results.items()})
    assert cands and all(c.chosen_for == ["my_phone"] for c in cands)
    finals = {c.name: {"test_acc": 0.5, "val_acc": 0.5} for c in cands}
    data = SimpleNamespace(input_shape=(28, 28, 1), num_classes=10, name="fashion_mnist")
    write_summary(cfg, wd, cands, finals, data)
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["profiles"] == ["my_phone"] and summary["profile_files"] == {"my_phone": str(yaml)}
    assert all(set(a["latency_ms"]) == {"my_phone"} for a in summary["architectures"])
    assert [p.name for p in (wd / "search").iterdir()] == ["my_phone"]  # one folder, not the path's
    assert (wd / "search" / "my_phone" / "front.jsonl").is_file()
    html = build_report(wd).read_text()
    assert f"my_phone ({yaml})" in html and "<th>latency my_phone (ms)</th>" in html
    assert all(a["name"] in html for a in summary["architectures"])
