"""Importing Once-for-All's MobileNetV3 supernet: exact equivalence with OFA's own subnets
(masked supernet, extracted static network, exported ONNX), OFA's architecture dicts, parameter
count, bad checkpoints, and ``nas run`` starting from an imported supernet."""
import json
import shutil

import jax.numpy as jnp
import numpy as np
import pytest
import torch  # the test extra installs it: a missing torch fails, never skips
from flax import nnx

from nas.search_spaces import ArchError, arch_stats, get_space
from tests.ofa_reference import ofa_subnet_logits, random_ofa_mbv3

SPACE = get_space("ofa_mbv3")
REL_TOL = 1e-4


def _ofa_dict(ks, e, d, r):
    """OFA's form: 0 in inactive slots, the resolution as image_size in a list."""
    ks, e = list(ks), list(e)
    for i, di in enumerate(d):
        for j in range(di, 4):
            ks[4 * i + j] = e[4 * i + j] = 0
    return {"wid": None, "ks": ks, "e": e, "d": list(d), "image_size": [r]}


# kernel, expansion, depth and resolution all vary; every (k, e) pair occurs
SUBNETS = [
    ([7] * 20, [6] * 20, [4] * 5, 224),
    ([3] * 20, [3] * 20, [2] * 5, 128),
    ([5] * 20, [4] * 20, [3] * 5, 160),
    ([3, 5, 7, 3] * 5, [6, 4, 3, 6] * 5, [4, 2, 3, 4, 2], 224),
    ([7, 3, 5, 5] * 5, [3, 6, 4, 4] * 5, [2, 3, 4, 3, 4], 128),
    ([5, 7, 3, 7] * 5, [4, 3, 6, 3] * 5, [3, 4, 2, 2, 3], 160),
    ([3, 3, 7, 7] * 5, [6, 6, 3, 3] * 5, [4, 4, 4, 2, 2], 224),
    ([7, 7, 5, 3] * 5, [3, 4, 6, 6] * 5, [2, 2, 3, 4, 4], 128),
    ([5, 3, 3, 5] * 5, [6, 3, 4, 4] * 5, [3, 3, 2, 4, 3], 160),
    ([7, 5, 3, 3] * 5, [4, 6, 3, 6] * 5, [4, 3, 3, 3, 4], 224),
]


@pytest.fixture(scope="module")
def ofa(tmp_path_factory):
    """OFA's supernet with random weights, BN statistics and transformation matrices, saved as
    OFA publishes it (under "state_dict", older ``mobile_inverted_conv`` key names)."""
    net = random_ofa_mbv3(seed=0)
    path = tmp_path_factory.mktemp("ofa") / "ofa_mbv3_d234_e346_k357_w1.0.pth"
    old = {k.replace(".conv.", ".mobile_inverted_conv.", 1) if k.startswith("blocks.") else k: v
           for k, v in net.state_dict().items()}
    torch.save({"state_dict": old}, path)
    return net, path


@pytest.fixture(scope="module")
def imported(ofa):
    from nas.pretrained.ofa import import_ofa_supernet

    return import_ofa_supernet(ofa[1])


def _rel(a, ref) -> float:
    return float(np.abs(np.asarray(a) - ref).max() / np.abs(ref).max())


@pytest.mark.slow
def test_imported_subnets_equal_ofa_subnets_masked_static_and_onnx(ofa, imported, tmp_path):
    from nas.export.onnx import export_onnx, ort_session, run_onnx
    from nas.search_spaces.extract import extract_subnet

    net, _ = ofa
    masked = nnx.jit(lambda m, x, a: m(x, a))
    static = nnx.jit(lambda m, x: m(x))
    rng = np.random.default_rng(0)
    worst = {"masked": 0.0, "static": 0.0, "onnx": 0.0}
    for n, (ks, e, d, r) in enumerate(SUBNETS):
        arch = SPACE.from_json(_ofa_dict(ks, e, d, r))
        x = rng.standard_normal((1, 3, r, r)).astype(np.float32)
        ref = ofa_subnet_logits(net, ks, e, d, x)
        x_nhwc = jnp.asarray(x.transpose(0, 2, 3, 1))
        sub = extract_subnet(imported, arch, backend="native")
        onnx_path = export_onnx(sub, (r, r, 3), tmp_path / f"{n}.onnx")
        got = {"masked": masked(imported, x_nhwc, imported.arch_arrays(arch)),
               "static": static(sub, x_nhwc),
               "onnx": run_onnx(ort_session(onnx_path), np.asarray(x_nhwc))}
        for k, v in got.items():
            worst[k] = max(worst[k], _rel(v, ref))
            assert _rel(v, ref) < REL_TOL, (n, k, _rel(v, ref))
    print("max relative logit difference to OFA:", worst)


def test_kernel_transform_is_ofas(ofa, imported):
    """The transformed 5x5 and 3x3 kernels are OFA's get_active_filter, for a block of each stage."""
    net, _ = ofa
    for i in range(5):
        conv = net.blocks[1 + 4 * i].conv.depth_conv.conv
        w7 = np.asarray(imported.stages[i][0].dw.w[...])
        kernels = imported.kernel_transforms[i][0].kernels(w7)
        for k in (7, 5, 3):
            ref = conv.get_active_filter(w7.shape[-1], k).detach().numpy().transpose(2, 3, 1, 0)
            np.testing.assert_allclose(kernels[k], ref, rtol=1e-5, atol=1e-6)
        assert not np.allclose(kernels[3], w7[2:5, 2:5], atol=1e-3)  # not the centre crop


def test_old_and_new_key_names_and_bare_state_dicts_import_alike(ofa, tmp_path):
    from nas.pretrained.ofa import read_state_dict

    net, path = ofa
    bare = tmp_path / "bare.pth"
    torch.save(net.state_dict(), bare)
    a, b = read_state_dict(path), read_state_dict(bare)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_parameter_count_and_macs_match_ofa(ofa):
    net, _ = ofa
    for ks, e, d, r in SUBNETS[:4]:
        net.set_active_subnet(ks=ks, e=e, d=d)
        sub = net.get_active_subnet(preserve_weight=False)
        want = sum(p.numel() for p in sub.parameters())
        assert arch_stats(SPACE.from_json(_ofa_dict(ks, e, d, r))).params == want
    assert arch_stats(SPACE.largest()).params == 7_664_760


def test_ofa_architecture_dicts_are_accepted():
    ks, e, d = [3, 5, 7, 3] * 5, [6, 4, 3, 6] * 5, [4, 2, 3, 4, 2]
    arch = SPACE.from_json(_ofa_dict(ks, e, d, 176))
    assert SPACE.decode(arch)[3] == 176 and list(SPACE.decode(arch)[2]) == d
    assert arch == SPACE.canonical(SPACE.from_json({"ks": ks, "e": e, "d": d, "r": 176}))
    bad = _ofa_dict(ks, e, d, 176)
    bad["ks"][0] = 0  # an active slot
    with pytest.raises(ArchError, match=r"ks\[0\] = 0"):
        SPACE.from_json(bad)


# ------------------------------------------------------------------ bad input: one line, exit 2
def _nas(*args):
    from nas.cli.main import main

    return main(list(args))


def test_import_cli_writes_a_supernet_and_refuses_bad_files(ofa, tmp_path, capsys):
    _, path = ofa
    out = tmp_path / "imported"
    assert _nas("supernet", "import-ofa", str(path), "--out", str(out), "--json") == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["sha256"] and (out / "result.json").is_file() and (out / "checkpoints" / "0").is_dir()
    assert _nas("supernet", "import-ofa", str(path), "--out", str(out)) == 0  # the same import: kept
    assert "already imported" in capsys.readouterr().out

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    other = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), other)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[:5000])
    for bad, msg in ((garbage, "not a PyTorch checkpoint"), (other, "not an OFA MobileNetV3 checkpoint"),
                     (truncated, "not a PyTorch checkpoint"), (tmp_path / "missing.pth", "no such")):
        assert _nas("supernet", "import-ofa", str(bad), "--out", str(tmp_path / "x")) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1, err
    # a folder holding another supernet is never overwritten
    before = (out / "result.json").read_bytes()
    wrong = tmp_path / "wrong.pth"
    sd = torch.load(path)
    sd["state_dict"]["classifier.linear.bias"] = sd["state_dict"]["classifier.linear.bias"] + 1
    torch.save(sd, wrong)
    assert _nas("supernet", "import-ofa", str(wrong), "--out", str(out)) == 2
    assert "already holds a supernet" in capsys.readouterr().err
    assert (out / "result.json").read_bytes() == before


def test_jaxnas_init_checks_space_fingerprint_and_checksum(ofa, tmp_path):
    from nas.errors import InputError
    from nas.pretrained.init import import_to_folder, load_source

    out = tmp_path / "sup"
    import_to_folder(ofa[1], out)
    model, source = load_source(out, "ofa_mbv3")
    assert source["format"] == "jaxnas" and source["origin"]["sha256"]
    with pytest.raises(InputError, match="space 'ofa_mbv3', not 'fashion_mnist'"):
        load_source(out, "fashion_mnist")
    with pytest.raises(InputError, match="fits space ofa_mbv3, not fashion_mnist"):
        load_source(ofa[1], "fashion_mnist")
    # another fingerprint in the record than in the checkpoint
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    rec = json.loads((moved / "result.json").read_text())
    rec["fingerprint"]["init"]["sha256"] = "0" * 64
    from nas.train.loop import store_result

    store_result(moved / "result.json", rec["fingerprint"], rec["result"], rec["checksums"])
    with pytest.raises(InputError, match="belongs to another run"):
        load_source(moved, "ofa_mbv3")
    # a damaged checkpoint file, and a hand-edited record
    victim = max((out / "checkpoints" / "0").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    data = victim.read_bytes()
    victim.write_bytes(data[:-8] + bytes(b ^ 0xFF for b in data[-8:]))
    with pytest.raises(InputError, match="checksum mismatch"):
        load_source(out, "ofa_mbv3")
    text = (moved / "result.json").read_text().replace('"steps": 0', '"steps": 1')
    (moved / "result.json").write_text(text)
    with pytest.raises(InputError, match="checksum mismatch"):
        load_source(moved, "ofa_mbv3")
    with pytest.raises(InputError, match="holds no jaxnas supernet"):
        load_source(tmp_path, "ofa_mbv3")


# ------------------------------------------------------------------ the user's run
@pytest.mark.slow
@pytest.mark.xdist_group("ofa_smoke")  # its own Ray instance: may run beside the "ray" group
def test_imagenet_ofa_smoke_starts_from_ofa_checkpoint(ofa, tmp_path):
    """``nas run imagenet_ofa --smoke`` with an OFA checkpoint, as a user types it on one machine
    without JAX_* variables: the config's supernet.jax_distributed=true does not try to join a
    cluster when stage 1 only imports; no supernet training, through to the report (search on the
    config's local Ray actors); summary.json names the imported file and its SHA-256. The
    multi-host rehearsal of this experiment is test_cluster_rehearsal's."""
    import os
    import subprocess
    import sys

    from nas.data.imagefolder import write_synthetic_image_folder
    from nas.files import sha256_file

    _, path = ofa
    # ImageNet's 1,000 classes (one small image each): the class count comes from the data, and
    # OFA's classifier is imported as it is only for data of its own 1,000 classes
    data = write_synthetic_image_folder(tmp_path / "imagenet", num_classes=1000, per_class=1, test_per_class=1,
                                        sizes=(40, 80))
    wd = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COORDINATOR", "JAX_NUM", "JAX_PROCESS"))}
    env.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.run([sys.executable, "-m", "nas.cli.main", "run", "imagenet_ofa", "--smoke", "--workdir",
                           str(wd), "--set", f"data.path={data}", "--set", f"supernet.init={path}"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (wd / "supernet" / "metrics.jsonl").exists()  # nothing trained
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["supernet"] == {"kind": "imported", "format": "ofa_mbv3_d234_e346_k357_w1.0",
                                   "file": str(path.resolve()), "sha256": sha256_file(path)}
    assert sha256_file(path) in (wd / "report" / "index.html").read_text()
    cfg = json.loads((wd / "config.json").read_text())
    assert cfg["data"]["normalize"] == "imagenet" and cfg["space_def"] == {}  # ofa_mbv3 as shipped, 1,000 classes
    # the same checkpoint on data of another class count needs its new classifier trained: one line, exit 2
    few = write_synthetic_image_folder(tmp_path / "four", num_classes=4, per_class=6, test_per_class=2, sizes=(60, 90))
    proc = subprocess.run([sys.executable, "-m", "nas.cli.main", "run", "imagenet_ofa", "--smoke", "--workdir",
                           str(tmp_path / "run4"), "--set", f"data.path={few}", "--set", f"supernet.init={path}"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 2 and "was trained on 1000 classes, the data has 4" in proc.stderr


@pytest.mark.parametrize("init, supernet_from, num_processes, joins", [
    ("ofa.pth", "", None, False),  # an import on one machine: no cluster to find
    ("", "runs/other", "1", False),
    ("ofa.pth", "", "2", True),  # the environment asks for several processes: they join (then leave at once)
    ("", "", None, True),  # training with supernet.jax_distributed: joins as before
])
def test_a_stage_1_that_trains_nothing_joins_processes_only_when_asked(monkeypatch, init, supernet_from,
                                                                       num_processes, joins):
    from nas.config import load_experiment
    from nas.train import supernet

    cfg = load_experiment("imagenet_ofa", smoke=True)
    assert cfg.supernet.jax_distributed  # the experiment's documented multi-host mode
    cfg.supernet.init, cfg.supernet_from = init, supernet_from
    for k in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(k, raising=False)
    if num_processes:
        monkeypatch.setenv("JAX_NUM_PROCESSES", num_processes)
    calls = []
    monkeypatch.setattr(supernet, "initialize", lambda **kw: calls.append(kw))
    supernet.maybe_initialize_distributed(cfg.supernet,
                                          trains=supernet.trains_supernet(cfg.supernet, cfg.supernet_from))
    assert bool(calls) == joins
