"""The wheel as users install it: one top-level package, ``nas``, that carries its configs,
profiles and shipped supernet, and that neither shadows nor is shadowed by a user's own
``experiments``, ``evaluators``, ``search_spaces`` or ``hardware_profiles`` package (the
``installed_jaxnas`` fixture of conftest.py: a fresh venv, a project folder with those packages).
A whole ``nas run`` of the installed CLI from that folder is
``tests/test_run_e2e.py::test_int8_of_a_trained_network_keeps_its_accuracy``."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from nas.pretrained.init import SHIPPED_DIR
from tests.conftest import copy_checkout

ROOT = Path(__file__).resolve().parent.parent
# folder of the checkout -> where its files go in the wheel (pyproject.toml's package-dir)
INSTALLED_AT = {"nas": "nas", **{folder: name.replace(".", "/") for name, folder in
                tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].items()}}


def test_a_checkout_imports_its_own_files(tmp_path):
    """A second checkout, run as it stands (not installed), takes every subpackage from its own
    folders, not from the checkout installed in editable mode in this environment."""
    copy = copy_checkout(tmp_path / "checkout")
    code = ("import json, nas.search_spaces, nas.evaluators, nas.hardware_profiles, nas.experiments, nas.config\n"
            "print(json.dumps([m.__file__ for m in (nas, nas.search_spaces, nas.evaluators, nas.hardware_profiles,"
            " nas.experiments)] + [str(nas.config.EXPERIMENTS_DIR)]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=copy)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(Path(f).is_relative_to(copy) for f in json.loads(proc.stdout)), proc.stdout


def _tracked_files() -> set[str]:
    """Every file of the checkout the wheel must carry, at its installed path."""
    out = subprocess.run(["git", "ls-files", *INSTALLED_AT], capture_output=True, text=True, check=True, cwd=ROOT)
    want = set()
    for line in out.stdout.splitlines():
        folder, _, rest = line.partition("/")
        if folder == "experiments" and "/" in rest:  # benchmarks/ and tools/: a checkout's scripts
            continue
        want.add(f"{INSTALLED_AT[folder]}/{rest}")
    return want


@pytest.mark.slow
def test_the_wheel_has_one_top_level_package_and_every_file(jaxnas_wheel):
    names = {n for n in zipfile.ZipFile(jaxnas_wheel).namelist() if ".dist-info/" not in n}
    assert {n.split("/")[0] for n in names} == {"nas"}
    want = _tracked_files()
    assert sorted(want - names) == [], "files of the checkout the wheel lacks"
    assert sorted(names - want) == [], "files in the wheel that the checkout does not track"
    shipped = SHIPPED_DIR / "fashion_mnist"
    assert {f"nas/pretrained/supernets/fashion_mnist/{p.relative_to(shipped).as_posix()}"
            for p in shipped.rglob("*") if p.is_file()} <= names
    assert "nas/hardware_profiles/pixel2.yaml" in names and "nas/experiments/fashion_mnist.py" in names


@pytest.mark.slow
def test_installed_jaxnas_and_a_users_own_packages_live_side_by_side(installed_jaxnas):
    """The user's packages and jaxnas import in one process, each from its own place; the
    shipped configs, profiles and supernet are found inside the installed package."""
    inst = installed_jaxnas
    code = """
import json, sys
import experiments, evaluators, search_spaces, hardware_profiles   # the user's own
from nas import api
from nas.config import EXPERIMENTS_DIR
from nas.evaluators import CachedEvaluator
from nas.latency.profile_io import PROFILE_DIR
from nas.pretrained.init import resolve_init
cfg = api.load_config("fashion_mnist")
print(json.dumps({
    "user": [m.OWNER for m in (experiments, evaluators, search_spaces, hardware_profiles)],
    "user_files": [m.__file__ for m in (experiments, evaluators, search_spaces, hardware_profiles)],
    "nas": [m.__file__ for n, m in sys.modules.items() if n == "nas" or n.startswith("nas.")],
    "dirs": [str(EXPERIMENTS_DIR), str(PROFILE_DIR), str(resolve_init("pretrained:fashion_mnist"))],
    "latency_ms": api.predict_latency(api.space(cfg.space).largest(), "pixel2"),
    "name": cfg.name,
}))
"""
    proc = subprocess.run([str(inst.python), "-c", code], capture_output=True, text=True, cwd=inst.project,
                          env=dict(inst.env, MY_PROJECT="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["user"] == ["user"] * 4
    assert all(Path(f).parent.parent == inst.project for f in got["user_files"])
    assert len(got["nas"]) > 20 and all(Path(f).is_relative_to(inst.site / "nas") for f in got["nas"]), got["nas"]
    assert all(Path(d).is_relative_to(inst.site / "nas") for d in got["dirs"]), got["dirs"]
    assert got["name"] == "fashion_mnist" and got["latency_ms"] > 0


@pytest.mark.slow
def test_the_installed_cli_ignores_a_users_own_packages(installed_jaxnas, tmp_path):
    """Commands typed in the user's project (whose packages raise if imported) find the shipped
    profiles, spaces and configs; a config error is still the one-line exit 2."""
    inst = installed_jaxnas

    def nas(*args):
        return subprocess.run([str(inst.nas), *args], capture_output=True, text=True, cwd=inst.project,
                              env=inst.env)

    listed = nas("profile", "list")
    assert listed.returncode == 0 and "pixel2" in listed.stdout, listed.stderr[-2000:]
    sampled = nas("space", "sample", "fashion_mnist", "--n", "3", "--json")
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    (tmp_path / "a.jsonl").write_text(sampled.stdout)
    predicted = nas("latency", "predict", "--profile", "pixel2", "--space", "fashion_mnist",
                    "--archs", str(tmp_path / "a.jsonl"), "--json")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    rows = [json.loads(line) for line in predicted.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 3, predicted.stdout
    bad = nas("run", "fashion_mnist", "--smoke", "--workdir", str(tmp_path / "x"), "--set", "search.nope=1")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
