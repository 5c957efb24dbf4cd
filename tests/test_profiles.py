"""Hardware profiles: shipped files load and predict; save/load round trip; malformed files fail
with one clear line; ``nas profile fit`` / ``nas latency predict`` / ``nas profile list`` CLI."""
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nas.cli.main import main
from nas.errors import InputError
from nas.latency import prediction_metrics, read_measurements, write_measurements
from nas.latency.profile_io import PROFILE_DIR, list_profiles, load_profile, save_profile
from nas.search_spaces import arch_to_json, get_space

SHIPPED = ("pixel2", "rtx2080ti_b1", "rtx2080ti_b32", "rtx2080ti_b64", "samsung_s7", "v100_b1",
           "v100_b32", "v100_b64", "xeon_gold6226")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _fm_archs(n, seed=3):
    import jax

    return get_space("fashion_mnist").sample(jax.random.key(seed), n)


def test_shipped_profiles_are_listed_and_predict_every_space():
    names = list_profiles()
    assert set(SHIPPED) <= set(names) and "local_cpu" in names
    sp = get_space("fashion_mnist")
    for name in names:
        prof = load_profile(name)
        ms = prof.predict_ms([sp.smallest(), sp.largest(), *_fm_archs(5)])
        assert ms.shape == (7,) and np.all(np.isfinite(ms)) and np.all(ms > 0), name
        assert ms[1] > ms[0], name  # the largest subnet is slower than the smallest


@pytest.mark.parametrize("name", SHIPPED)
def test_unmeasured_space_uses_the_nonnegative_fit(name):
    """In a space the device was never measured in (fashion_mnist for every shipped profile),
    predictions come from the non-negative fit: never at the floor, ordered like the MACs."""
    from scipy.stats import spearmanr

    from nas.latency.model import PREDICTION_FLOOR_MS
    from nas.search_spaces import arch_stats

    prof = load_profile(name)
    assert "fashion_mnist" not in prof.spaces and prof.prior_weights is not None
    np.testing.assert_array_equal(prof.weights_for("fashion_mnist"), prof.prior_weights)
    for s in prof.spaces:  # measured spaces keep their own (signed) fit
        assert prof.weights_for(s) is prof.weights.get(s, prof.weights["default"])
    sp = get_space("fashion_mnist")
    archs = [sp.smallest(), sp.largest(), *_fm_archs(30)]
    ms = prof.predict_ms(archs)
    assert np.all(ms > 10 * PREDICTION_FLOOR_MS), (name, ms.min())
    assert spearmanr(ms, [arch_stats(a).macs for a in archs])[0] > 0.5


@pytest.mark.parametrize("name,space,min_rho", [("xeon_gold6226", "fbnet", 0.9), ("v100_b64", "ofa_mbv3", 0.97),
                                                ("rtx2080ti_b1", "fbnet", 0.95)])
def test_shipped_profile_fits_its_data(name, space, min_rho):
    prof = load_profile(name)
    ref = next(m for m in prof.measurements if m.space == space)
    archs, y = read_measurements(ref.csv, space, ref.column)
    m = prediction_metrics(prof.predict_ms(archs[-500:]), y[-500:])
    assert m["spearman"] >= min_rho


def test_save_load_round_trip(tmp_path):
    prof = load_profile("pixel2")
    archs = _fm_archs(4)
    out = tmp_path / "copy.yaml"
    save_profile(prof, out)
    again = load_profile(out)
    np.testing.assert_allclose(again.predict_ms(archs), prof.predict_ms(archs), rtol=1e-5)
    assert again.name == "pixel2" and again.batch_size == 1 and again.spaces == ("fbnet",)


def _write_bad(tmp_path, mutate) -> Path:
    obj = yaml.safe_load(Path(load_profile("pixel2").path).read_text())
    src = Path(load_profile("pixel2").measurements[0].csv)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / src.name).write_bytes(src.read_bytes())  # a profile's files lie beside it
    obj["measurements"][0]["csv"] = f"data/{src.name}"
    mutate(obj)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(obj))
    return p


@pytest.mark.parametrize("mutate,msg", [
    (lambda o: o.pop("runtime"), "missing field 'runtime'"),
    (lambda o: o.update(batch_size="one"), "'batch_size' must be int"),
    (lambda o: o.update(batch_size=0), "'batch_size' must be positive"),
    (lambda o: o["measurements"][0].update(csv="nowhere.csv"), "not found"),
    (lambda o: o["measurements"][0].update(csv="/etc/passwd"), "must be a relative path inside the profile's folder"),
    (lambda o: o["measurements"][0].update(csv="../../../../etc/passwd"), "must be a relative path inside"),
    (lambda o: o.update(peak_gflops=float("inf")), "'peak_gflops' must be a finite number"),
    (lambda o: o["predictor"].update(peak_gflops=float("nan")), "'peak_gflops' must be a finite number"),
    (lambda o: o["predictor"]["weights"]["default"].__setitem__(0, 1e308), "finite numbers"),
    (lambda o: o["predictor"]["weights"].update(default=[1.0, 2.0]), "weights['default'] must be a list"),
    (lambda o: o["predictor"].update(model="mlp"), "'model' must be"),
    (lambda o: o.update(spaces=["imagenet_xl"]), "unknown search space"),
    (lambda o: o["predictor"]["space_models"]["fbnet"].update(weights=[1.0]),
     "space_models['fbnet']: field 'weights'"),
    (lambda o: o["predictor"]["space_models"].update(fashion_mnist={}), "has no encoding"),
])
def test_malformed_profile_is_one_clear_line(tmp_path, capsys, mutate, msg):
    p = _write_bad(tmp_path, mutate)
    with pytest.raises(InputError, match=msg.replace("[", r"\[").replace("(", r"\(")):
        load_profile(p)
    jl = tmp_path / "a.jsonl"
    jl.write_text(json.dumps(arch_to_json(_fm_archs(1)[0])) + "\n")
    code, out, err = run(capsys, "latency", "predict", "--profile", p, "--space", "fashion_mnist", "--archs", jl)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and str(p) in err


def test_profile_without_space_models_still_loads_and_space_model_round_trips(tmp_path):
    """Older profiles (no space_models) load and predict with the physics weights; a shipped
    profile's space model survives save/load exactly and changes its own space's prediction."""
    archs, _ = read_measurements(load_profile("pixel2").measurements[0].csv, "fbnet", "pixel2")
    prof = load_profile("pixel2")
    assert prof.space_models["fbnet"].kind == "direct"
    old = _write_bad(tmp_path, lambda o: o["predictor"].pop("space_models"))
    plain = load_profile(old)
    assert plain.space_models == {}
    assert np.all(np.isfinite(plain.predict_ms(archs[:20])))
    assert not np.allclose(plain.predict_ms(archs[:20]), prof.predict_ms(archs[:20]))
    save_profile(prof, tmp_path / "copy.yaml")
    np.testing.assert_allclose(load_profile(tmp_path / "copy.yaml").predict_ms(archs[:20]),
                               prof.predict_ms(archs[:20]), rtol=1e-9)


def test_unknown_profile_and_invalid_yaml(tmp_path):
    with pytest.raises(InputError, match="unknown profile 'nope'"):
        load_profile("nope")
    p = tmp_path / "x.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_profile(p)


def _csv_from_shipped(tmp_path, n, name="m.csv"):
    prof = load_profile("xeon_gold6226")
    archs, y = read_measurements(prof.measurements[0].csv, "fbnet", prof.measurements[0].column)
    return write_measurements(tmp_path / name, archs[:n], y[:n]), archs, y


def test_cli_fit_then_predict_round_trip(tmp_path, capsys):
    csv, archs, y = _csv_from_shipped(tmp_path, 20)
    out = tmp_path / "prof" / "gold_copy.yaml"
    code, _, err = run(capsys, "profile", "fit", "gold_copy", "--space", "fbnet", "--measurements", csv,
                       "--out", out, "--peak-gflops", "1036.8", "--bandwidth-gbs", "140.8", "--json")
    assert code == 0, err
    assert (tmp_path / "prof" / "data" / "gold_copy.csv").is_file()
    jl = tmp_path / "test.jsonl"
    jl.write_text("".join(json.dumps(arch_to_json(a)) + "\n" for a in archs[1000:1300]))
    code, stdout, err = run(capsys, "latency", "predict", "--profile", out, "--space", "fbnet", "--archs", jl, "--json")
    assert code == 0, err
    pred = [json.loads(line)["latency_ms"] for line in stdout.splitlines()]
    assert len(pred) == 300
    np.testing.assert_allclose(pred, load_profile(out).predict_ms(archs[1000:1300]), rtol=1e-9)
    m = prediction_metrics(pred, y[1000:1300])
    assert m["spearman"] > 0.85  # 20 measurements of a device, shipped profiles as prior


@pytest.mark.parametrize("content,msg", [
    ("arch,latency\n", "missing column 'latency_ms'"),
    ('arch,latency_ms\n"{""ops"":[0],""r"":32}",1.0\n', ":2:"),
    ("arch,latency_ms\n\"{}\",abc\n", ":2:"),
])
def test_cli_fit_bad_csv(tmp_path, capsys, content, msg):
    csv = tmp_path / "bad.csv"
    csv.write_text(content)
    out = tmp_path / "p.yaml"
    code, stdout, err = run(capsys, "profile", "fit", "x", "--space", "fbnet", "--measurements", csv, "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and msg in err and str(csv) in err
    assert not out.exists()


@pytest.mark.parametrize("bad_value,msg", [("abc", "is not a number"), ("-3", "positive"), ("0", "positive"),
                                           ("nan", "positive")])
def test_cli_fit_bad_latency_names_line(tmp_path, capsys, bad_value, msg):
    csv, _, _ = _csv_from_shipped(tmp_path, 12)
    lines = csv.read_text().splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0] + "," + bad_value
    csv.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "profile", "fit", "x", "--space", "fbnet", "--measurements", csv,
                       "--out", tmp_path / "p.yaml")
    assert code == 2 and f"{csv}:8:" in err and msg in err and len(err.strip().splitlines()) == 1


def test_cli_fit_too_few_rows_keeps_existing_profile(tmp_path, capsys):
    csv, _, _ = _csv_from_shipped(tmp_path, 3)
    out = tmp_path / "p.yaml"
    out.write_text("precious")
    code, _, err = run(capsys, "profile", "fit", "x", "--space", "fbnet", "--measurements", csv, "--out", out)
    assert code == 2 and "too few" in err and len(err.strip().splitlines()) == 1
    assert out.read_text() == "precious"


def test_cli_profile_list(capsys):
    code, out, _ = run(capsys, "profile", "list", "--json")
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert code == 0 and set(SHIPPED) <= set(names)


@pytest.mark.parametrize("name", ("local_cpu", *SHIPPED))
def test_reference_models_are_predicted_with_nonnegative_weights(name):
    """Networks outside every measured space (reference models at 28x28) are predicted with the
    profile's non-negative weights; local_cpu, calibrated on 20 points (no prior_weights of its
    own), fits them with the shipped profiles as prior instead of extrapolating its signed fit."""
    from nas.latency.model import PREDICTION_FLOOR_MS
    from nas.search_spaces import get_reference_model

    prof = load_profile(name)
    w = prof.weights_outside()
    stored = prof.prior_weights if prof.prior_weights is not None else prof.outside_weights
    assert stored is not None and w is stored  # fitted at fit time and stored, never on load
    assert np.all(w >= 0) and not np.array_equal(w, prof.weights["default"])
    specs = [get_reference_model(m, resolution=28, num_classes=10, in_channels=1)
             for m in ("mobilenet_v2_0.35", "mobilenet_v2")]
    ms = prof.predict_specs_ms(specs)
    assert np.all(ms > 10 * PREDICTION_FLOOR_MS), ms
    assert ms[1] > ms[0]  # the wider network is slower


def test_loading_and_predicting_never_fits(monkeypatch):
    """Fitting happens at fit time only: a profile loads and predicts (reference models
    included) with every fitting function disabled."""
    import nas.latency.fit
    import nas.latency.model
    import nas.latency.transfer
    from nas.search_spaces import get_reference_model

    def boom(*a, **k):
        raise AssertionError("a profile was fitted while loading or predicting")

    for mod, name in ((nas.latency.model, "fit_weights"), (nas.latency.fit, "fit_weights"),
                      (nas.latency.fit, "fit_predictor"), (nas.latency.transfer, "fit_direct")):
        monkeypatch.setattr(mod, name, boom)
    spec = get_reference_model("mobilenet_v2", resolution=28, num_classes=10, in_channels=1)
    for name in ("local_cpu", "pixel2"):
        prof = load_profile(name)
        assert np.all(prof.predict_ms(_fm_archs(3)) > 0) and prof.predict_specs_ms([spec])[0] > 0


def test_refit_cli_writes_a_profile_that_predicts_like_the_original(tmp_path, capsys):
    """A refit profile re-fitted again predicts as before (the fit is a function of the
    measurements); its outside weights match the shipped profile's (same physics fit) and it
    records the cross-validated choice between physics and FLOPs-linear fits."""
    out = tmp_path / "refit" / "local_cpu.yaml"
    code, stdout, err = run(capsys, "profile", "refit", "local_cpu", "--out", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["name"] == "local_cpu"
    new, old = load_profile(out), load_profile("local_cpu")
    assert new.outside_weights is not None and np.all(new.outside_weights >= 0)
    sel = new.extra["fit"]["fashion_mnist"]["selection"]
    assert sel["physics_share"] in (1.0, 0.75, 0.5, 0.25, 0.0) and len(sel["cv_spearman"]) == 5
    again = tmp_path / "again" / "local_cpu.yaml"
    code, _, err = run(capsys, "profile", "refit", str(out), "--out", again)
    assert code == 0, err
    archs = _fm_archs(20)
    np.testing.assert_allclose(load_profile(again).predict_ms(archs), new.predict_ms(archs), rtol=1e-6)
    np.testing.assert_allclose(new.weights_outside(), old.weights_outside(), rtol=1e-3, atol=1e-6)
    shipped = (PROFILE_DIR / "local_cpu.yaml").read_bytes()
    code, _, err = run(capsys, "profile", "refit", "local_cpu")  # a shipped file is never rewritten
    assert code == 2 and "read-only" in err and "--out" in err and err.count("\n") == 1
    assert (PROFILE_DIR / "local_cpu.yaml").read_bytes() == shipped
    code, _, err = run(capsys, "profile", "refit", "local_cpu", "--out", tmp_path / "x.txt")
    assert code == 2 and "must end in .yaml" in err and not (tmp_path / "x.txt").exists()


def test_fit_reports_a_cross_validated_spearman_beside_the_in_sample_one(tmp_path, capsys):
    """`nas profile fit` says how the profile ranks measurements it was not fitted on."""
    archs, lat = read_measurements(PROFILE_DIR / "data" / "local_cpu.csv", "fashion_mnist")
    csv = tmp_path / "m.csv"
    write_measurements(csv, archs[:20], lat[:20])
    code, out, err = run(capsys, "profile", "fit", "mine", "--space", "fashion_mnist", "--measurements", csv,
                         "--out", tmp_path / "mine.yaml")
    assert code == 0, err
    assert "in-sample Spearman" in out and "-fold cross-validated Spearman" in out


def test_latency_check_measures_each_profile_with_its_own_runtime_here():
    """The run's latency check: a profile calibrated here (XLA), one fitted to a bundle's ONNX
    Runtime int8 measurements (its format and threads), and a device's profile measured by others
    (not checkable here); the error band is twice the fit's MAPE in the space, at least 10%."""
    import dataclasses

    from nas.latency.profile_io import load_profile
    from nas.pipeline.export import check_runtime, error_band

    local = load_profile("local_cpu")
    assert check_runtime(local) == ("xla", None, 1)
    mape = local.extra["fit"]["fashion_mnist"]["mape"]
    assert error_band(local, "fashion_mnist") == pytest.approx(max(0.10, 2 * mape))
    assert error_band(local, "ofa_mbv3") is None
    assert check_runtime(load_profile("pixel2")) is None
    board = dataclasses.replace(local, runtime="onnxruntime 1.20 int8 (4 threads)", extra={
        "measured": {"runtime": "onnxruntime", "precision": "int8", "threads": 4},
        "fit": {"fashion_mnist": {"mape": 0.01}}})
    assert check_runtime(board) == ("onnxruntime", "onnx-int8", 4)
    assert error_band(board, "fashion_mnist") == 0.10
    phone = dataclasses.replace(board, extra={"measured": {"runtime": "litert", "precision": "fp32", "threads": 2}})
    assert check_runtime(phone) == ("litert", "tflite", 2)
