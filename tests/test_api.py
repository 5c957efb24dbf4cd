"""The Python API (:mod:`nas.api`): its argument checks (bad input raises InputError before any
work), and ``experiments/api_example.py --smoke`` run as a user runs it, its outputs checked
against the files it wrote and against ONNX Runtime."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nas import api
from nas.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cfg():
    return api.load_config("fashion_mnist", smoke=True)


def some_arch():
    return api.space("fashion_mnist").largest()


# ---------------------------------------------------------------- load_config, space
def test_load_config_applies_python_and_cli_overrides():
    cfg = api.load_config("fashion_mnist", {"supernet.epochs": 2, "search.budgets.latency_ms": 0.5,
                                            "search.profiles": ["pixel2"]}, smoke=True)
    assert cfg.supernet.epochs == 2.0 and cfg.search.budgets == {"flops": 2e7, "latency_ms": 0.5}
    assert cfg.search.profiles == ["pixel2"] and cfg.supernet.max_steps == 4  # smoke sizes kept
    assert api.load_config("fashion_mnist", ["search.population=6"]).search.population == 6


@pytest.mark.parametrize("name, overrides, match", [
    ("no_such_experiment", None, "experiment 'no_such_experiment' not found"),
    ("fashion_mnist", {"supernet.nope": 1}, "unknown field 'nope'"),
    ("fashion_mnist", {"supernet.epochs": float("nan")}, "supernet.epochs: .* not a JSON value"),
    ("fashion_mnist", {"search.budgets.flops": -1}, "search.budgets.flops: must be a positive number"),
    ("fashion_mnist", {"search.profiles": ["my_phone"]}, "unknown profile 'my_phone'"),
    ("fashion_mnist", "supernet.epochs=2", "overrides: a mapping or a list"),
])
def test_load_config_refuses_bad_input(name, overrides, match):
    with pytest.raises(InputError, match=match):
        api.load_config(name, overrides)


def test_space_by_name():
    assert api.space("fashion_mnist").name == "fashion_mnist"
    with pytest.raises(InputError, match="unknown search space 'resnet'"):
        api.space("resnet")


# ---------------------------------------------------------------- search: checked before any work
@pytest.mark.parametrize("kwargs, match", [
    ({"profile": "no_such_profile"}, "unknown profile 'no_such_profile'"),
    ({"profile": 3}, "profile: a name or a YAML path"),
    ({"profile": "missing/phone.yaml"}, "phone.yaml"),
    ({"budgets": {"watts": 1.0}}, "search.budgets: unknown budget 'watts'"),
    ({"budgets": {"flops": 0}}, "search.budgets.flops: must be a positive number"),
    ({"budgets": {"flops": "1e6"}}, "search.budgets.flops: expected a number"),
    ({"budgets": [("flops", 1e6)]}, "budgets: a mapping"),
    ({"budgets": {"flops": 1.0}}, "no network of fashion_mnist meets 1; the smallest the space reaches is"),
    ({"budgets": {"latency_ms": 1e-6}}, "search.budgets.latency_ms: no network .* on profile local_cpu"),
    ({"generations": 0}, "search.generations: must be positive"),
])
def test_search_refuses_bad_arguments_before_touching_the_workdir(cfg, tmp_path, kwargs, match):
    wd = tmp_path / "run"
    with pytest.raises(InputError, match=match):
        api.search(cfg, wd, **kwargs)
    assert not wd.exists()
    assert cfg.search.budgets == {"flops": 2e7} and cfg.search.generations == 2  # the caller's config untouched


def test_search_without_a_supernet_names_the_missing_stage(cfg, tmp_path):
    with pytest.raises(InputError, match="no trained supernet"):
        api.search(cfg, tmp_path / "run", "pixel2", budgets={"latency_ms": 50.0})


def test_search_reads_its_profile_file_once(tmp_path, monkeypatch):
    """A search on a profile YAML with a latency budget: the file is checked, the budget checked
    against it and the search run from one read, so a file edited mid-search changes nothing."""
    from nas.latency import profile_io
    from tests.conftest import profile_beside_its_data

    yaml = profile_beside_its_data(tmp_path / "devices")
    reads, real = [], profile_io.read_profile_file
    monkeypatch.setattr(profile_io, "read_profile_file", lambda path: reads.append(str(path)) or real(path))
    cfg = api.load_config("fashion_mnist", {"search.objectives": ["flops", "latency_ms"]}, smoke=True)
    found = api.search(cfg, tmp_path / "run", yaml, budgets={"latency_ms": 50.0},
                       on_generation=lambda m: yaml.write_text("not: a profile\n"))
    assert reads == [str(yaml)]
    assert found.front and all(s.values["latency_ms"] <= 50.0 for s in found.front)
    assert found.profile == "my_phone"


def test_api_calls_take_configs_and_folders_only(tmp_path):
    with pytest.raises(InputError, match="cfg: an ExperimentConfig"):
        api.search({"space": "fashion_mnist"}, tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="work directory is a file"):
        api.search(api.load_config("fashion_mnist", smoke=True), tmp_path / "file")


# ---------------------------------------------------------------- predict_latency
def test_predict_latency_is_the_profiles_prediction():
    from nas.latency.profile_io import load_profile

    archs = [some_arch(), api.space("fashion_mnist").smallest()]
    want = load_profile("pixel2").predict_ms(archs)
    assert api.predict_latency(archs[0], "pixel2") == pytest.approx(want[0], rel=1e-12)
    assert api.predict_latency(archs, "pixel2") == pytest.approx(list(want), rel=1e-12)
    assert api.predict_latency([], "pixel2") == []
    assert want[0] > want[1] > 0


@pytest.mark.parametrize("arch, profile, match", [
    (None, "no_such_profile", "profile: unknown profile 'no_such_profile'"),
    (None, "missing/phone.yaml", "phone.yaml"),
    ('{"ks": [3]}', "local_cpu", "arch: an Arch, a Solution or a sequence"),
    ([{"ks": [3]}], "local_cpu", "arch: an Arch or a Solution, got dict"),
])
def test_predict_latency_refuses_bad_input(arch, profile, match):
    with pytest.raises(InputError, match=match):
        api.predict_latency(some_arch() if arch is None else arch, profile)


def test_predict_latency_refuses_a_hand_built_arch_out_of_its_space():
    from nas.search_spaces import Arch

    with pytest.raises(InputError, match="expected 29 genes"):
        api.predict_latency(Arch("fashion_mnist", (3, 3)), "local_cpu")


# ---------------------------------------------------------------- supernet, export: checked before training
def test_supernet_init_must_be_a_supernet_folder(cfg, tmp_path):
    (tmp_path / "ofa.pth").write_bytes(b"x")
    with pytest.raises(InputError, match="init: .*ofa.pth is not a folder"):
        api.supernet(cfg, tmp_path / "run", init=tmp_path / "ofa.pth")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no jaxnas supernet"):
        api.supernet(cfg, tmp_path / "run", init=tmp_path / "empty")


@pytest.mark.parametrize("kwargs, match", [
    ({"formats": ["onnx", "savedmodel"]}, "formats: unknown format 'savedmodel'"),
    ({"formats": []}, "formats: unknown format '\\(empty\\)'"),
    ({}, "no trained supernet to fine-tune from"),
])
def test_export_refuses_bad_input_before_training(cfg, tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        api.export(cfg, tmp_path / "run", some_arch(), **kwargs)
    assert not (tmp_path / "run" / "final").exists()


def test_export_refuses_an_arch_of_another_space(cfg, tmp_path):
    with pytest.raises(InputError, match="arch: belongs to space 'fbnet', the config's is 'fashion_mnist'"):
        api.export(cfg, tmp_path / "run", api.space("fbnet").smallest())


def test_run_refuses_bad_input_before_touching_the_workdir(tmp_path):
    cfg = api.load_config("fashion_mnist", {"data.source": "idx"}, smoke=True)
    with pytest.raises(InputError, match="data.path: a folder of IDX files is required"):
        api.run(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_every_exported_name_is_documented():
    text = (ROOT / "docs" / "api.md").read_text()
    missing = [n for n in api.__all__ if n != "InputError" and f"{n}" not in text]
    assert missing == []


# ---------------------------------------------------------------- the example, as a user runs it
@pytest.mark.slow
@pytest.mark.xdist_group("api_example")
def test_api_example_smoke_run_ends_with_a_checked_onnx_model(tmp_path):
    from nas.config import load_experiment
    from nas.data import load_dataset
    from nas.export import ort_session, run_onnx
    from nas.export.artifacts import load_weights
    from nas.export.onnx import jax_logits
    from nas.latency.profile_io import load_profile
    from nas.search_spaces import arch_dumps, get_space

    wd = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "experiments/api_example.py", "--smoke", "--json", "--workdir", str(wd)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    space = get_space("fashion_mnist")
    arch = space.from_json(out["arch"])
    assert f"chosen: {arch_dumps(arch)}" in proc.stdout and out["onnx"] in proc.stdout

    # the search's files: the chosen network is the front's most accurate, as front.jsonl holds it
    front = [json.loads(line) for line in (wd / "search" / "local_cpu" / "front.jsonl").read_text().splitlines()]
    assert space.from_json(front[0]["arch"]) == arch and out["front_size"] == len(front)
    assert max(r["accuracy"] for r in front) == out["values"]["accuracy"] == front[0]["accuracy"]
    assert all(r["flops"] <= 2e7 for r in front)
    assert out["predicted_latency_ms"] == pytest.approx(load_profile("local_cpu").predict_ms([arch])[0], rel=1e-12)
    assert out["predicted_latency_ms"] == pytest.approx(out["values"]["latency_ms"], rel=1e-12)
    assert json.loads((wd / "supernet" / "result.json").read_text())["result"]["val_acc_largest"] == \
        out["supernet"]["val_acc_largest"]

    # the CLI finds the API's search complete and prints the same front: one set of files
    cli = subprocess.run([sys.executable, "-m", "nas.cli.main", "search", "api_example", "--smoke", "--workdir",
                          str(wd), "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert [json.loads(line) for line in cli.stdout.splitlines()] == [{"profile": "local_cpu", **r} for r in front]

    # the export: the pipeline's files, the record agreeing with what the API returned
    exp = Path(out["export"])
    assert exp == wd / "export" / out["name"] and Path(out["onnx"]) == exp / "model.onnx"
    record = json.loads((exp / "arch.json").read_text())
    assert record["arch"] == out["arch"] and record["accuracy"] == out["accuracy"]
    assert (exp / "flax").is_dir() and (exp / "model_int8.onnx").is_file()
    assert json.loads((wd / "final" / out["name"] / "result.json").read_text())["result"]["test_acc"] == \
        out["test_accuracy"]
    assert set(out["latency_ms_here"]) == {"onnx", "onnx-int8"} and min(out["latency_ms_here"].values()) > 0

    # ONNX Runtime, on its own: the accuracy the API reported, and the JAX network's logits
    data = load_dataset(load_experiment("api_example", smoke=True).data)
    images = data.test.images.astype(np.float32)  # raw pixels: the graph normalises
    logits = run_onnx(ort_session(out["onnx"]), images)
    assert logits.shape == (len(images), 10)
    assert float(np.mean(logits.argmax(-1) == data.test.labels)) == pytest.approx(out["accuracy"]["onnx"], abs=1e-12)
    assert out["accuracy"]["onnx"] == pytest.approx(out["test_accuracy"], abs=0.02)  # near-ties may flip
    net = load_weights(space.net_spec(arch), exp / "flax")
    norm = record["input"]["normalization"]
    want = jax_logits(net, (images[:16] / 255.0 - np.float32(norm["mean"])) / np.float32(norm["std"]))
    assert np.max(np.abs(logits[:16] - want)) <= 1e-4 * np.max(np.abs(want))
