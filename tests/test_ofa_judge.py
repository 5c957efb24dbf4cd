"""Once-for-All's offline judge in jaxnas: latency lookup tables as hardware profiles and OFA's
accuracy predictor, each checked against the ``ofa`` package's own code on files of the same
formats made here (OFA's files carry no licence: they are not shipped), and their bad input."""
import csv as csvmod
import json

import numpy as np
import pytest
import torch  # the test extra installs it: a missing torch fails, never skips
import yaml

from nas.cli.main import main
from nas.latency.lookup import required_keys
from nas.search_spaces import arch_to_json, get_space
from tests.ofa_reference import ofa_tutorial

RES = (160, 176, 192, 208, 224)
SPACE = get_space("ofa_mbv3_w12").with_resolutions(RES)


def write_tables(folder, space=SPACE, resolutions=RES, seed=0, drop=None):
    """OFA-format lookup tables (``<r>_lookup_table.yaml``) with random means for every op of
    ``space`` at ``resolutions`` and a few ops of no network; ``drop``: an op key left out."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in resolutions:
        keys = required_keys(space, r) + [f"expanded_conv-input:{r}x{r}x7-output:1x1x1-expand:1-kernel:9"]
        table = {k: {"count": 100, "mean": float(rng.uniform(0.005, 3.0)), "std": 0.01} for k in keys if k != drop}
        p = folder / f"{r}_lookup_table.yaml"
        p.write_text(yaml.safe_dump(table))
        paths.append(p)
    return paths


def nas(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def luts(paths):
    return [x for p in paths for x in ("--lut", p)]


def ofa_spec(arch):
    j = arch_to_json(arch)
    return {**j, "r": [j["r"]]}


def test_lookup_profile_predicts_what_ofas_latency_estimator_does(tmp_path, capsys):
    LatencyEstimator, _ = ofa_tutorial()
    paths = write_tables(tmp_path / "t")
    prof = tmp_path / "note10.yaml"
    code, out, err = nas(capsys, "profile", "from-lut", "phone", "--space", "ofa_mbv3_w12", *luts(paths), "--out", prof)
    assert code == 0, err
    ests = {r: LatencyEstimator(url=str(p)) for r, p in zip(RES, paths)}
    archs = []
    for i, r in enumerate(RES):  # 200 random subnets at every table's resolution
        archs += [type(a)(a.space, a.genes[:-1] + (r,)) for a in SPACE.sample(np.array([i, 7], np.uint32), 200)]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(arch_to_json(a)) for a in archs) + "\n")
    code, out, err = nas(capsys, "latency", "predict", "--profile", prof, "--space", "ofa_mbv3_w12",
                         "--archs", tmp_path / "a.jsonl", "--json")
    assert code == 0, err
    mine = np.array([json.loads(line)["latency_ms"] for line in out.splitlines()])
    want = np.array([ests[a.genes[-1]].predict_network_latency_given_spec(ofa_spec(a)) for a in archs])
    assert len(mine) == len(archs) >= 1000 and {a.genes[-1] for a in archs} == set(RES)
    np.testing.assert_allclose(mine, want, rtol=0, atol=1e-6)
    assert np.ptp(mine) > 1.0  # the tables' differences show


def test_lookup_profile_bad_input_is_one_line(tmp_path, capsys):
    good = write_tables(tmp_path / "good")
    out = tmp_path / "p.yaml"
    out.write_text("kept: true\n")

    def refused(*argv, says):
        code, _, err = nas(capsys, *argv)
        assert code == 2 and says in err and err.count("\n") == 1, err
        assert out.read_text() == "kept: true\n"  # nothing already saved changed

    common = ("profile", "from-lut", "x", "--space", "ofa_mbv3_w12")
    missing = write_tables(tmp_path / "miss", resolutions=(176,), drop=required_keys(SPACE, 176)[5])
    refused(*common, *luts(missing), "--out", out, says=f"op {required_keys(SPACE, 176)[5]} of space")
    other = write_tables(tmp_path / "other", space=get_space("ofa_mbv3"), resolutions=(160,))
    refused(*common, *luts(other), "--out", out, says="a table of another space")
    refused("profile", "from-lut", "x", "--space", "ofa_mbv3", *luts(good[:1]), "--out", out,
            says="a table of another space")
    bad_r = write_tables(tmp_path / "r", space=get_space("ofa_mbv3_w12").with_resolutions([244 - 20]),
                         resolutions=(224,))
    refused(*common, *luts(bad_r + bad_r), "--out", out, says="a second table for resolution 224")
    trunc = tmp_path / "trunc.yaml"
    trunc.write_text(good[0].read_text()[:3000] + "\n  mean: [")
    refused(*common, "--lut", trunc, "--out", out, says="trunc.yaml")
    (tmp_path / "junk.yaml").write_bytes(b"\x80\x02junk")
    refused(*common, "--lut", tmp_path / "junk.yaml", "--out", out, says="junk.yaml")
    refused(*common, "--lut", tmp_path / "none.yaml", "--out", out, says="none.yaml")
    # a profile of two tables: a network at another resolution is refused, naming it
    prof = tmp_path / "two.yaml"
    assert nas(capsys, *common, *luts(good[:2]), "--out", prof)[0] == 0
    arch = arch_to_json(SPACE.largest())
    (tmp_path / "a.jsonl").write_text(json.dumps(arch) + "\n")
    code, _, err = nas(capsys, "latency", "predict", "--profile", prof, "--space", "ofa_mbv3_w12", "--archs",
                       tmp_path / "a.jsonl")
    assert code == 2 and "resolution 224 has no lookup table" in err and err.count("\n") == 1
    code, _, err = nas(capsys, "profile", "refit", prof)
    assert code == 2 and "lookup table" in err


def legacy_predictor_file(path, seed=0):
    """A random 128-400-400-400-1 network saved as OFA saved acc_predictor.pth (legacy format)."""
    _, AccuracyPredictor = ofa_tutorial()
    torch.manual_seed(seed)
    ref = AccuracyPredictor(pretrained=False, device="cpu")
    with torch.no_grad():
        for p in ref.model.parameters():
            p.mul_(3.0)  # larger weights: the predictions spread
    torch.save(ref.model.state_dict(), path, _use_new_zipfile_serialization=False)
    return ref


def test_imported_ofa_predictor_equals_ofas(tmp_path, capsys):
    ref = legacy_predictor_file(tmp_path / "acc_predictor.pth")
    pred = tmp_path / "ofa_acc.npz"
    code, out, err = nas(capsys, "accuracy", "import-ofa", tmp_path / "acc_predictor.pth", "--out", pred)
    assert code == 0, err
    archs = SPACE.sample(np.array([3, 1], np.uint32), 250)
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(arch_to_json(a)) for a in archs) + "\n")
    code, out, err = nas(capsys, "accuracy", "predict", "--predictor", pred, "--space", "ofa_mbv3_w12",
                         "--archs", tmp_path / "a.jsonl", "--json")
    assert code == 0, err
    mine = np.array([json.loads(line)["accuracy"] for line in out.splitlines()])
    want = ref.predict_accuracy([ofa_spec(a) for a in archs]).numpy()[:, 0]
    assert len(mine) == 250 and np.std(want) > 1e-3
    np.testing.assert_allclose(mine, want, rtol=0, atol=1e-5)
    # a predictor of another space, a torch file of another network, a truncated predictor: one line
    sp = get_space("ofa_mbv3")
    (tmp_path / "b.jsonl").write_text(json.dumps(arch_to_json(sp.largest())) + "\n")
    code, _, err = nas(capsys, "accuracy", "predict", "--predictor", pred, "--space", "ofa_mbv3", "--archs",
                       tmp_path / "b.jsonl")
    assert code == 2 and "a predictor of space ofa_mbv3_w12, not ofa_mbv3" in err
    torch.save({"0.weight": torch.zeros(3, 3)}, tmp_path / "other.pth")
    code, _, err = nas(capsys, "accuracy", "import-ofa", tmp_path / "other.pth", "--out", tmp_path / "o.npz")
    assert code == 2 and "not Once-for-All's accuracy predictor" in err and not (tmp_path / "o.npz").exists()
    (tmp_path / "cut.npz").write_bytes(pred.read_bytes()[:5000])
    code, _, err = nas(capsys, "accuracy", "predict", "--predictor", tmp_path / "cut.npz", "--space",
                       "ofa_mbv3_w12", "--archs", tmp_path / "a.jsonl")
    assert code == 2 and "cut.npz" in err and err.count("\n") == 1


def test_fit_predict_and_bad_rows(tmp_path, capsys):
    sp = get_space("fashion_mnist")
    archs = sp.sample(np.array([5, 5], np.uint32), 80)
    from nas.search_spaces import arch_stats

    acc = [0.8 + 0.01 * np.log(arch_stats(a).macs) - 0.002 * sum(a.genes[:12]) / 12 for a in archs]
    csv = tmp_path / "rows.csv"
    with csv.open("w", newline="") as fh:
        w = csvmod.writer(fh)
        w.writerow(["arch", "accuracy"])
        for a, y in zip(archs, acc):
            w.writerow([json.dumps(arch_to_json(a)), f"{y:.6f}"])
    pred = tmp_path / "p.npz"
    code, out, err = nas(capsys, "accuracy", "fit", "--space", "fashion_mnist", "--csv", csv, "--out", pred,
                         "--model", "gp", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["model"] == "gp" and info["rows"] == 80
    test = sp.sample(np.array([6, 6], np.uint32), 30)
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(arch_to_json(a)) for a in test) + "\n")
    code, out, err = nas(capsys, "accuracy", "predict", "--predictor", pred, "--space", "fashion_mnist",
                         "--archs", tmp_path / "t.jsonl", "--json")
    got = [json.loads(line) for line in out.splitlines()]
    want = [0.8 + 0.01 * np.log(arch_stats(a).macs) - 0.002 * sum(a.genes[:12]) / 12 for a in test]
    assert code == 0 and len(got) == 30 and all("std" in g for g in got)
    from scipy.stats import spearmanr

    assert spearmanr([g["accuracy"] for g in got], want)[0] > 0.8
    saved = pred.read_bytes()
    text = csv.read_text().splitlines()
    for name, lines, says in [("nan", text[:3] + [text[3].rsplit(",", 1)[0] + ",nan"], "accuracy must be"),
                              ("pct", text[:3] + [text[3].rsplit(",", 1)[0] + ",91.5"], "a fraction in [0, 1]"),
                              ("dup", text[:5] + [text[2]], "the architecture of line 3 again"),
                              ("bad", text[:3] + ['"{""ks"": [4]}",0.5'], "bad.csv:4")]:
        p = tmp_path / f"{name}.csv"
        p.write_text("\n".join(lines) + "\n")
        code, _, err = nas(capsys, "accuracy", "fit", "--space", "fashion_mnist", "--csv", p, "--out", pred)
        assert code == 2 and says in err and err.count("\n") == 1, (name, err)
        assert pred.read_bytes() == saved  # nothing already saved changed
    code, _, err = nas(capsys, "accuracy", "fit", "--space", "fashion_mnist", "--csv", csv, "--out", tmp_path / "p.pkl")
    assert code == 2 and "must end in .npz" in err


@pytest.mark.slow
def test_search_on_a_predictor_file_and_lookup_table_from_an_empty_workdir(tmp_path, capsys):
    """The user's Note10 case at smoke size: imported predictor + table profile, `nas search` in an
    empty work directory, no supernet and no data; a profile missing a resolution is refused first."""
    legacy_predictor_file(tmp_path / "acc_predictor.pth", seed=2)
    pred = tmp_path / "ofa_acc.npz"
    assert nas(capsys, "accuracy", "import-ofa", tmp_path / "acc_predictor.pth", "--out", pred)[0] == 0
    paths = write_tables(tmp_path / "t", seed=3)
    prof = tmp_path / "note10.yaml"
    assert nas(capsys, "profile", "from-lut", "note10", "--space", "ofa_mbv3_w12", *luts(paths), "--out", prof)[0] == 0
    work = tmp_path / "runs" / "note10"
    code, out, err = nas(capsys, "search", "ofa_note10", "--smoke", "--workdir", work, "--profile", prof,
                         "--set", f"search.accuracy={pred}", "--json")
    assert code == 0, err
    front = [json.loads(line) for line in out.splitlines()]
    assert front and all(r["profile"] == str(prof) and r["latency_ms"] <= 64 for r in front)
    hist = [json.loads(line) for f in sorted((work / "search" / "note10").glob("gen_*.jsonl"))
            for line in f.read_text().splitlines()]
    assert len(hist) == 8 * 3  # population x generations: the budget counts real evaluations
    assert {r["arch"]["r"] for r in hist} <= set(RES)
    assert not (work / "supernet").exists()
    # the same again resumes (nothing new evaluated); a table missing a resolution is refused up front
    assert nas(capsys, "search", "ofa_note10", "--smoke", "--workdir", work, "--profile", prof,
               "--set", f"search.accuracy={pred}", "--json")[0] == 0
    # the report of the searches, OFA's specialized networks marked (net.config + run.config folders)
    from tests.ofa_reference import random_ofa_mbv3

    marks = tmp_path / "ofa_specialized"
    for name, width, r in (("phone_w12", 1.2, 192), ("phone_w10", 1.0, 160)):
        net = random_ofa_mbv3(seed=5, width_mult=width)
        net.set_active_subnet(ks=[5] * 20, e=[4] * 20, d=[3] * 5)
        (marks / name).mkdir(parents=True)
        (marks / name / "net.config").write_text(json.dumps(net.get_active_subnet(preserve_weight=False).config))
        (marks / name / "run.config").write_text(json.dumps({"image_size": r}))
    code, out, err = nas(capsys, "report", work, "--mark-ofa", marks)
    assert code == 0, err
    page = (work / "report" / "index.html").read_text()
    assert (work / "report" / "fronts.png").stat().st_size > 1000
    want = arch_to_json(SPACE.from_json({"ks": [5] * 20, "e": [4] * 20, "d": [3] * 5, "r": 192}))
    from nas.accuracy import load_predictor

    acc = load_predictor(pred).predict([SPACE.from_json(want)])[0][0]
    assert f"<td>phone_w12</td><td>{100 * acc:.2f}%</td>" in page
    assert "phone_w10" in page and "a network of space ofa_mbv3, not this run" in page
    two = tmp_path / "two.yaml"
    assert nas(capsys, "profile", "from-lut", "two", "--space", "ofa_mbv3_w12", *luts(paths[:2]), "--out", two)[0] == 0
    code, _, err = nas(capsys, "search", "ofa_note10", "--smoke", "--workdir", tmp_path / "w2", "--profile", two,
                       "--set", f"search.accuracy={pred}")
    assert code == 2 and "no lookup table for resolution 192" in err and err.count("\n") == 1


def test_w12_space_counts_as_ofa_and_names_ofas_specialized_networks():
    """ofa_mbv3_w12's parameters equal OFA's width-1.2 subnets' exactly and its MACs OFA's count
    (which OFA sums in float32); OFA's net.config of a subnet maps back to the same architecture."""
    from nas.pretrained.ofa import arch_from_net_config
    from nas.search_spaces import arch_stats
    from tests.ofa_reference import random_ofa_mbv3

    net = random_ofa_mbv3(seed=1, width_mult=1.2)
    from ofa.utils import count_net_flops  # after the torchvision stand-in is in place
    sp = get_space("ofa_mbv3_w12")
    for a in sp.sample(np.array([9, 9], np.uint32), 4) + [sp.smallest(), sp.largest()]:
        j = arch_to_json(a)
        net.set_active_subnet(ks=j["ks"], e=j["e"], d=j["d"])
        sub = net.get_active_subnet(preserve_weight=False)
        stats = arch_stats(a)
        assert stats.params == sum(p.numel() for p in sub.parameters())
        assert stats.macs == pytest.approx(count_net_flops(sub, (1, 3, j["r"], j["r"])), rel=1e-6)
        assert arch_from_net_config(sub.config, j["r"]) == sp.canonical(a)


@pytest.mark.slow
def test_ofa_w12_checkpoint_imports_into_ofa_mbv3_w12(tmp_path):
    import jax.numpy as jnp
    from flax import nnx

    from nas.pretrained.ofa import import_ofa_supernet
    from tests.ofa_reference import ofa_subnet_logits, random_ofa_mbv3

    net = random_ofa_mbv3(seed=2, width_mult=1.2)
    torch.save({"state_dict": net.state_dict()}, tmp_path / "ofa_w12.pth")
    model = import_ofa_supernet(tmp_path / "ofa_w12.pth")
    sp = get_space("ofa_mbv3_w12")
    masked = nnx.jit(lambda m, x, a: m(x, a))
    x = np.random.default_rng(0).standard_normal((1, 3, 128, 128)).astype(np.float32)
    for a in sp.sample(np.array([4, 4], np.uint32), 2):
        a = type(a)(a.space, a.genes[:-1] + (128,))
        j = arch_to_json(a)
        ref = ofa_subnet_logits(net, j["ks"], j["e"], j["d"], x)
        got = masked(model, jnp.asarray(x.transpose(0, 2, 3, 1)), model.arch_arrays(a))
        assert np.abs(np.asarray(got) - ref).max() / np.abs(ref).max() < 1e-4
