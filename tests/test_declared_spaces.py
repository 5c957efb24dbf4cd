"""Spaces declared, not coded: the shipped declarations, a user's YAML file, an inline declaration,
a space written in Python, per-stage choices, the class count from the data, and transfer of a
supernet to another class count (body kept, classifier replaced, a head phase training it alone)."""
import json
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest
import yaml
from flax import nnx

from nas.config import ConfigError, ExperimentConfig, apply_overrides, config_from_dict, load_experiment
from nas.errors import InputError
from nas.search_spaces import get_space
from nas.search_spaces.declare import SHIPPED_DIR, from_declaration, read_declaration
from nas.search_spaces.registry import SHIPPED, SPACES, activate, space_entry
from tests.test_hostile_input import cli

# a small space with per-stage choices: stage 0 only kernel 3 and depth 1..2, stage 1 the globals
MINE = {
    "name": "mine", "family": "elastic_mbconv", "description": "a test space", "input_channels": 1,
    "num_classes": 4, "stem": {"width": 8, "stride": 2}, "first_block": {"width": 8},
    "stages": [{"width": 8, "stride": 1, "act": "relu", "se": False, "kernels": [3], "depths": [1, 2]},
               {"width": 16, "stride": 2, "act": "hswish", "se": True}],
    "kernels": [3, 5], "expands": [2, 3], "depths": [1, 2, 3], "resolutions": [12],
    "head": {"final_width": 16, "feature_width": 0, "feature_bias": True}, "kernel_transform": False,
}


@pytest.mark.parametrize("path", sorted(SHIPPED_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_space_is_its_declaration(path):
    decl = read_declaration(path)
    space = get_space(decl["name"])
    assert space is SHIPPED[decl["name"]]
    rebuilt = from_declaration(space.declaration())
    assert rebuilt.declaration() == space.declaration()
    assert rebuilt.num_distinct() == space.num_distinct() and rebuilt.choices == space.choices
    arch = space.sample(jax.random.key(0))
    assert rebuilt.net_spec(arch) == space.net_spec(arch)


def test_per_stage_choices_bound_every_gene():
    space = from_declaration(MINE)
    slots = space.slots
    assert slots == 3 and space.cfg.kernels == (3, 5) and space.cfg.stage_choices is not None
    for arch in space.sample(jax.random.key(1), 200):
        ks, e, d, _ = space.decode(arch)
        assert set(ks[0]) == {3} and d[0] in (1, 2) and d[1] in (1, 2, 3)
    largest, smallest = space.decode(space.largest()), space.decode(space.smallest())
    assert list(largest[2]) == [2, 3] and set(largest[0][1]) == {5} and list(smallest[2]) == [1, 1]
    with pytest.raises(Exception, match=r"ks\[0\] = 5 is not one of \[3\]"):
        space.from_json({**space.to_json(space.largest()), "ks": [5] * 6})
    # number of subnets: stage 0 has (1 kernel x 2 expands)^d for d in 1..2, stage 1 (2 x 2)^d for d in 1..3
    assert space.num_distinct() == (2 + 4) * (4 + 16 + 64)
    hand = space.decode(space.hand_designed())
    assert set(hand[0][0]) == {3} and set(hand[1].ravel()) == {3}  # expansion 6 is not a choice: the nearest, 3


def test_a_supernet_of_a_declared_space_with_per_stage_choices_matches_its_extracted_subnets():
    from nas.search_spaces.extract import extract_subnet
    from nas.search_spaces.supernet import Supernet

    space = from_declaration(MINE)
    SPACES[space.name] = space
    net = Supernet(space, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(2), (2, 12, 12, 1))
    for arch in [space.largest(), space.smallest()] + space.sample(jax.random.key(3), 2):
        y = net(x, net.arch_arrays(arch))
        static = extract_subnet(net, arch)
        np.testing.assert_allclose(static(x), y, rtol=1e-4, atol=1e-5)
        assert static.spec == space.net_spec(arch) and y.shape == (2, 4)


@pytest.mark.parametrize("change, needle", [
    ({"family": "resnet"}, "space.family: 'resnet' is not a space family"),
    ({"stages": []}, "space.stages: must be a non-empty list"),
    ({"kernels": [3, 4]}, "space.kernels: kernel sizes must be odd"),
    ({"depths": [1, 1]}, "space.depths: repeats a value"),
    ({"resolutions": {"from": 10, "to": 2, "step": 1}}, "space.resolutions: a range is"),
    ({"colour": True}, "space: unknown key 'colour'"),
    ({"name": "bad name"}, "space.name: a space name is"),
    ({"input_channels": 0}, "space.input_channels: must be a positive integer"),
    ({"stages": [{"width": 8, "stride": 1, "act": "gelu", "se": False}]}, r"space.stages\[0\].act: 'gelu'"),
    ({"stages": [{"width": 8, "stride": 1, "act": "relu", "se": False, "groups": 2}]},
     r"space.stages\[0\]: unknown key 'groups'"),
    ({"head": {"final_width": 16}}, "space.head.feature_width: missing"),
    ({"stages": [{"width": -8, "stride": 1, "act": "relu", "se": False}]}, r"stages\[0\].width: must be a positive"),
    ({"expands": []}, "space.expands: must be a non-empty list"),
    ({"num_classes": 1}, "space.num_classes: a classifier needs at least 2 classes"),
    ({"num_classes": 0}, "space.num_classes: must be a positive integer"),
    ({"resolutions": [2]}, "space.resolutions: 2 px is below the network's total stride 4"),
    ({"resolutions": [13]}, "space.resolutions: 13 px is not divisible by the stem's stride 2"),
    ({"width_mults": [0.0, 1.0]}, r"space.width_mults: must be a non-empty list of numbers in \(0, 1\]"),
    ({"stages": [{"width": 8, "stride": 1, "act": "relu", "se": False, "widths": [0, 8]}]},
     r"stages\[0\].widths: must be a non-empty list of positive integers"),
])
def test_a_bad_declaration_is_one_line_naming_the_field(change, needle):
    with pytest.raises(InputError, match=needle):
        from_declaration({**MINE, **change})


def test_a_space_file_in_a_config_is_recorded_and_rebuilt_anywhere(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(yaml.safe_dump(MINE))
    cfg = apply_overrides(load_experiment("fashion_mnist"), [f"space={f}"])
    assert cfg.space == "mine" and cfg.space_def == from_declaration(MINE).declaration()
    assert get_space("mine").num_classes == 4 and space_entry("mine")  # a fingerprint names the declaration
    del SPACES["mine"]  # another process (a Ray worker) rebuilding the config from config.json
    again = config_from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.space == "mine" and get_space("mine").declaration() == cfg.space_def
    # the shipped name may not be re-declared with another body
    with pytest.raises(ConfigError, match="'fashion_mnist' is the name of a shipped space"):
        config_from_dict({**cfg.to_dict(), "space_def": {**MINE, "name": "fashion_mnist"}})
    # another space given on top of a recorded declaration replaces it
    assert apply_overrides(again, ["space=fbnet"]).space_def == {}
    # a shipped space written out as a file is the shipped space: nothing to record
    assert activate(str(SHIPPED_DIR / "cifar_mbv3.yaml")) == ("cifar_mbv3", {})


def test_a_space_written_in_python_is_named_by_module_and_attribute(tmp_path, monkeypatch):
    (tmp_path / "my_spaces.py").write_text(textwrap.dedent("""
        from nas.search_spaces.declare import from_declaration
        MY_SPACE = from_declaration({"name": "py_space", "family": "fbnet", "input_channels": 3,
            "num_classes": 7, "stem": {"width": 8, "stride": 1},
            "stages": [{"layers": 2, "width": 8, "stride": 1}, {"layers": 1, "width": 16, "stride": 2}],
            "head_width": 32, "resolutions": [16]})
        NOT_A_SPACE = 3
        class Tiny(type(MY_SPACE)):  # a class: instantiated
            def __init__(self):
                super().__init__("tiny_cls", stage_layers=(1,), stage_widths=(8,), stage_strides=(1,),
                                 resolutions=(16,))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = ExperimentConfig(space="my_spaces:MY_SPACE")
    cfg = config_from_dict(cfg.to_dict())
    assert cfg.space == "py_space" and cfg.space_def == {"python": "my_spaces:MY_SPACE"}
    assert get_space("py_space").num_genes == 4
    # the class count from the data: recorded beside the reference, and rebuilt from it
    from nas.pipeline.supernet import check_space_fits_data

    data = _Data(3, channels=3)
    data.input_shape = (16, 16, 3)
    check_space_fits_data(cfg, data)
    assert cfg.space_def == {"python": "my_spaces:MY_SPACE", "num_classes": 3}
    assert get_space("py_space").num_classes == 3
    del SPACES["py_space"]
    assert config_from_dict(cfg.to_dict()).space == "py_space" and get_space("py_space").num_classes == 3
    assert config_from_dict(ExperimentConfig(space="my_spaces:Tiny").to_dict()).space == "tiny_cls"
    for bad, needle in (("my_spaces:NOT_A_SPACE", "not a SearchSpace"), ("no_such_module:X", "cannot import")):
        with pytest.raises(ConfigError, match=needle):
            config_from_dict(ExperimentConfig(space=bad).to_dict())
    sys.modules.pop("my_spaces", None)


class _Data:
    """What check_space_fits_data reads of a dataset."""

    def __init__(self, num_classes, channels=1):
        self.num_classes, self.input_shape, self.name, self.streaming = num_classes, (28, 28, channels), "five", False


def test_the_class_count_comes_from_the_data_unless_the_space_pins_it(tmp_path):
    from nas.pipeline.supernet import check_space_fits_data

    cfg = load_experiment("fashion_mnist")
    check_space_fits_data(cfg, _Data(5))
    assert cfg.space == "fashion_mnist" and cfg.space_def["num_classes"] == 5
    space = get_space("fashion_mnist")
    assert space.num_classes == 5 and space.net_spec(space.largest()).num_classes == 5
    assert space_entry("fashion_mnist")  # its checkpoints are not the shipped space's
    # a later config of the shipped space gets it as shipped
    assert load_experiment("fashion_mnist").space_def == {} and get_space("fashion_mnist").num_classes == 10
    pinned = {**MINE, "input_channels": 1, "resolutions": [28], "pin_classes": True}
    f = tmp_path / "pinned.yaml"
    f.write_text(yaml.safe_dump(pinned))
    cfg = apply_overrides(load_experiment("fashion_mnist"), [f"space={f}"])
    with pytest.raises(ConfigError, match="space: mine pins 4 classes but data five has 5"):
        check_space_fits_data(cfg, _Data(5))


def test_nas_space_show_prints_a_file_and_its_costs(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(yaml.safe_dump(MINE))
    code, out, _ = cli("space", "show", f, "--json")
    info = json.loads(out)
    assert code == 0 and info["name"] == "mine" and info["num_subnets"] == str(6 * 84)
    assert 0 < info["smallest"]["macs"] < info["largest"]["macs"] and info["classes"] == "from the data"
    code, out, _ = cli("space", "show", "fashion_mnist")
    assert code == 0 and "name: fashion_mnist" in out and "M MACs" in out
    f.write_text("name: [unclosed")
    code, _, err = cli("space", "show", f)
    assert code == 2 and "not a readable YAML space declaration" in err
    code, _, err = cli("space", "show", tmp_path / "none.yaml")
    assert code == 2 and "no such space file" in err


def test_transplant_keeps_the_body_and_replaces_the_classifier():
    from nas.train.step import split_model
    from nas.train.supernet import build_supernet
    from nas.train.transfer import classifier_scale, transplant

    space = from_declaration(MINE)
    src = build_supernet(space, seed=1)
    dst, kept = transplant(src, build_supernet(space.with_num_classes(3), seed=2))
    last = len(dst.head) - 1  # the classifier: the one layer whose shape depends on the class count
    assert sorted(kept) == [f"head/{last}/b", f"head/{last}/w"]
    a = dict(jax.tree_util.tree_flatten_with_path(nnx.state(src))[0])
    b = dict(jax.tree_util.tree_flatten_with_path(nnx.state(dst))[0])
    same = [k for k in b if k in a and np.shape(a[k]) == np.shape(b[k])]
    assert len(same) == len(b) - 2 and all(np.array_equal(a[k], b[k]) for k in same)
    params = split_model(dst)[1]
    head = jax.tree.leaves(classifier_scale(params, dst, True))
    assert 0 < sum(head) < len(head) and set(jax.tree.leaves(classifier_scale(params, dst, False))) == {1.0}


def test_the_head_phase_step_moves_only_the_classifier():
    import optax

    from nas.train import make_optimizer, supernet_forward
    from nas.train.step import make_train_step, split_model
    from nas.train.supernet import build_supernet
    from nas.train.transfer import classifier_scale

    space = from_declaration(MINE)
    SPACES[space.name] = space
    model = build_supernet(space, seed=0)
    graphdef, params, rest = split_model(model)
    opt = make_optimizer(1e-4)
    step = make_train_step(graphdef, supernet_forward, opt, num_classes=4, label_smoothing=0.1, distill=False,
                           augment=False, mean=(0.5,), std=(0.5,))
    archs = jax.tree.map(lambda a: a[None], model.arch_arrays(space.largest()))
    images = np.asarray(jax.random.randint(jax.random.key(0), (4, 12, 12, 1), 0, 255), np.uint8)
    labels = np.array([0, 1, 2, 3], np.int32)
    before = jax.tree.map(np.array, params)
    new, *_ = step(jax.tree.map(lambda a: a.copy(), params), rest, opt.init(params), images, labels, archs,
                   jax.random.key(1), np.float32(0.1), classifier_scale(params, model, True))
    moved = [p for (p, a), b in zip(jax.tree_util.tree_flatten_with_path(before)[0], jax.tree.leaves(new))
             if not np.array_equal(a, np.asarray(b))]
    assert moved and all(p[0].key == "head" and p[1].key == len(model.head) - 1 for p in moved)
    del optax


# elastic width: the second stage chooses 8, 16 or 24 output channels, the first 8 or 16 (0.5, 1.0)
WIDE = {**MINE, "name": "wide", "width_mults": [0.5, 1.0],
        "stages": [{"width": 16, "stride": 1, "act": "relu", "se": False},
                   {"width": 24, "stride": 2, "act": "hswish", "se": True, "widths": [8, 16, 24]}]}


def test_elastic_width_adds_a_width_gene_per_stage_and_leaves_other_encodings_alone():
    space = from_declaration(WIDE)
    SPACES[space.name] = space  # the cost model finds an architecture's space by name
    assert [f.name for f in space.fields] == ["ks", "e", "d", "w", "r"]
    assert space.fields[3].per_gene == ((8, 16), (8, 16, 24))
    assert space.to_json(space.largest())["w"] == [16, 24] and space.to_json(space.smallest())["w"] == [8, 8]
    narrow = from_declaration({**WIDE, "width_mults": [1.0], "stages": [
        {**WIDE["stages"][0]}, {k: v for k, v in WIDE["stages"][1].items() if k != "widths"}]})
    assert not narrow.elastic_width and "w" not in narrow.to_json(narrow.largest())
    assert space.num_distinct() == narrow.num_distinct() * 2 * 3
    assert all(not get_space(n).elastic_width for n in ("fashion_mnist", "ofa_mbv3", "cifar_mbv3"))
    from nas.search_spaces import arch_stats

    a = space.largest()
    thin = space.compose(*space.decode(a)[:3], 12, [8, 8])
    assert arch_stats(thin).macs < arch_stats(a).macs and space.net_spec(thin).blocks[2].c_out == 8
    for bad, needle in (({"width_mults": [0.5]}, "must include 1"), ({"width_mults": [0, 1]}, r"in \(0, 1\]")):
        with pytest.raises(InputError, match=needle):
            from_declaration({**WIDE, **bad})
    with pytest.raises(InputError, match=r"stages\[1\].widths: the largest must be the stage's width 24"):
        from_declaration({**WIDE, "stages": [WIDE["stages"][0], {**WIDE["stages"][1], "widths": [8, 16]}]})


def test_elastic_width_subnets_of_the_supernet_equal_their_extracted_and_exported_networks(tmp_path):
    from nas.export.onnx import export_onnx, jax_logits, ort_session, run_onnx
    from nas.search_spaces.extract import extract_subnet
    from nas.search_spaces.supernet import Supernet

    space = from_declaration(WIDE)
    SPACES[space.name] = space
    net = Supernet(space, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(2), (2, 12, 12, 1))
    for arch in [space.largest(), space.smallest()] + space.sample(jax.random.key(3), 4):  # BN statistics move
        net(x, net.arch_arrays(arch), train=True, bn_momentum=0.5)
    archs = [space.largest(), space.smallest()] + space.sample(jax.random.key(4), 4)
    assert len({tuple(space.widths(a)) for a in archs}) >= 3
    for i, arch in enumerate(archs):
        y = net(x, net.arch_arrays(arch))
        static = extract_subnet(net, arch)
        np.testing.assert_allclose(static(x), y, rtol=1e-4, atol=1e-5)
        assert static.spec == space.net_spec(arch)
        if i < 2:
            path = export_onnx(static, (12, 12, 1), tmp_path / f"{i}.onnx")
            got = run_onnx(ort_session(path), np.asarray(x))
            np.testing.assert_allclose(got, jax_logits(static, np.asarray(x)), rtol=1e-4, atol=1e-5)


def test_a_space_registered_as_an_entry_point_is_found_by_its_name(tmp_path, monkeypatch):
    import importlib.metadata

    (tmp_path / "ep_spaces.py").write_text(textwrap.dedent("""
        from nas.search_spaces.declare import from_declaration
        EP_SPACE = from_declaration({"name": "ep_space", "family": "fbnet", "input_channels": 3,
            "num_classes": 5, "stem": {"width": 8, "stride": 1},
            "stages": [{"layers": 1, "width": 8, "stride": 1}], "head_width": 16, "resolutions": [8]})
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = importlib.metadata.EntryPoint(name="ep_space", value="ep_spaces:EP_SPACE", group="jaxnas.spaces")
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == "jaxnas.spaces" else real(**kw))
    cfg = config_from_dict(ExperimentConfig(space="ep_space").to_dict())
    assert cfg.space == "ep_space" and cfg.space_def == {"python": "ep_spaces:EP_SPACE"}
    assert get_space("ep_space").num_genes == 2
    with pytest.raises(ConfigError, match="unknown search space 'nope'"):
        config_from_dict(ExperimentConfig(space="nope").to_dict())
    sys.modules.pop("ep_spaces", None)


GOLDEN = Path(__file__).parent / "data" / "shipped_spaces_before_declarations.json"


@pytest.mark.parametrize("name", ["fashion_mnist", "ofa_mbv3", "fbnet", "cifar_mbv3", "ofa_mbv3_w12"])
def test_shipped_declarations_keep_the_encodings_and_costs_of_the_spaces_they_replaced(name):
    """The ends, the hand-designed network and 100 samples of each shipped space, recorded from the
    Python constants the YAML declarations replaced (commit 16d5a79): the same encodings (so the
    same sampling), MACs, parameters and peak activation memory."""
    import hashlib

    from nas.search_spaces import arch_dumps, arch_stats

    want = json.loads(GOLDEN.read_text())[name]
    sp = get_space(name)
    archs = [sp.smallest(), sp.largest(), sp.hand_designed()] + sp.sample(jax.random.key(7), 100)
    assert sp.num_genes == want["num_genes"] and str(sp.num_distinct()) == want["num_distinct"]
    digest = hashlib.sha256("\n".join(arch_dumps(a) for a in archs).encode()).hexdigest()
    assert digest == want["encodings_sha256"]
    stats = [arch_stats(a) for a in archs]
    assert [s.macs for s in stats] == want["macs"] and [s.params for s in stats] == want["params"]
    assert [s.peak_activation_bytes for s in stats] == want["peak_activation_bytes"]
