"""`nas latency bundle` end to end: models + stand-alone runner -> CSV -> `nas profile fit --bundle`;
bad CSVs and bad models get one line and status 2."""
import ast
import csv
import json
import subprocess
import sys

import pytest
import yaml

from nas.cli.main import main
from nas.latency.runner import PROTOCOL

RUNNER_IMPORTS = {"argparse", "csv", "json", "os", "platform", "sys", "time", "__future__", "numpy", "onnxruntime",
                  "ai_edge_litert", "tflite_runtime", "tensorflow"}


def _run_bundle(d, *extra):
    return subprocess.run([sys.executable, "-I", str(d / "run_bundle.py"), "--warmup", "1", "--repeats", "3",
                           "--rounds", "2", *extra], capture_output=True, text=True, cwd=d.parent, timeout=300)


def test_runner_needs_only_numpy_and_the_runtime():
    from nas.latency import runner

    tree = ast.parse(open(runner.__file__).read())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= RUNNER_IMPORTS, names - RUNNER_IMPORTS


@pytest.mark.slow
def test_bundle_end_to_end(tmp_path, capsys):
    d = tmp_path / "bundle"
    assert main(["latency", "bundle", "fashion_mnist", "--n", "6", "--runtime", "onnxruntime", "--int8",
                 "--out", str(d), "--seed", "3"]) == 0
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["precision"] == "int8" and manifest["threads"] == 1 and len(manifest["models"]) == 6
    assert all((d / m["file"]).stat().st_size > 1000 for m in manifest["models"])
    proc = _run_bundle(d)  # isolated interpreter (-I): no PYTHONPATH, the project is not needed
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader((d / "latency.csv").open()))
    assert rows[0] == ["arch", "latency_ms"] and len(rows) == 7 and all(float(r[1]) > 0 for r in rows[1:])
    meta = json.loads((d / "latency.json").read_text())
    assert meta["protocol"] == PROTOCOL and meta["rounds"] == 2 and meta["threads"] == 1
    assert all(len(m["round_medians_ms"]) == 2 for m in meta["models"])

    out = tmp_path / "prof" / "dev.yaml"
    assert main(["profile", "fit", "dev_int8", "--space", "fashion_mnist", "--bundle", str(d), "--out", str(out)]) == 0
    prof = yaml.safe_load(out.read_text())
    assert "int8" in prof["runtime"] and "onnxruntime" in prof["runtime"]
    assert prof["threads"] == 1 and prof["precision"] == "int8"
    capsys.readouterr()

    # a CSV missing one of the bundle's models, or with a row of another architecture: one line, status 2
    bad = tmp_path / "missing.csv"
    with (d / "latency.csv").open() as fh:
        lines = fh.read().splitlines()
    bad.write_text("\n".join(lines[:-1]) + "\n")
    assert main(["profile", "fit", "x", "--space", "fashion_mnist", "--bundle", str(d), "--measurements", str(bad),
                 "--out", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 of the bundle's 6 models have no row" in err[0]
    extra = tmp_path / "extra.csv"
    other = '"{""ks"":[3,3,3,3,3,3,3,3,3,3,3,3],""e"":[3,3,3,3,3,3,3,3,3,3,3,3],""d"":[1,1,1,1],""r"":28}",0.5'
    extra.write_text("\n".join(lines + [other]) + "\n")
    assert main(["profile", "fit", "x", "--space", "fashion_mnist", "--bundle", str(d), "--measurements", str(extra),
                 "--out", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "extra row" in err[0]
    assert not (tmp_path / "x.yaml").exists()

    # a corrupt model file: the runner says so in one line, status 2
    (d / manifest["models"][0]["file"]).write_bytes(b"not a model")
    proc = _run_bundle(d)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "cannot load" in proc.stderr


def test_bundle_rejects_bad_arguments(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["latency", "bundle", "fashion_mnist", "--n", "2", "--runtime", "onnxruntime",
                 "--out", str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert main(["latency", "bundle", "fashion_mnist", "--n", "0", "--runtime", "onnxruntime",
                 "--out", str(tmp_path / "b")]) == 2
    assert main(["profile", "fit", "x", "--space", "fashion_mnist", "--bundle", str(tmp_path / "none"),
                 "--out", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "not a latency bundle" in err[-1]


def test_missing_runtime_or_converter_is_one_line(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a))
    assert main(["latency", "bundle", "fashion_mnist", "--n", "2", "--runtime", "litert",
                 "--out", str(tmp_path / "b")]) == 2
    assert main(["export", str(tmp_path), "--format", "json,tflite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "tensorflow not installed" in err[0] and "tflite needs TensorFlow" in err[1]
    assert not (tmp_path / "b").exists()
