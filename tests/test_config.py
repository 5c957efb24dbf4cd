"""Experiment configs: typed overrides, validation against the registries, round trips."""
from __future__ import annotations

import pytest

from nas.config import ConfigError, apply_overrides, config_from_dict, load_experiment
from nas.data import SOURCES
from nas.evaluators.factory import VALUES
from nas.export import FORMATS
from nas.latency import list_profiles
from nas.search import ALGORITHMS
from nas.search_spaces.registry import REFERENCE_MODELS, SPACES

EXPERIMENTS = ("fashion_mnist", "fashion_mnist_long", "design_study", "cifar10", "imagenet_ofa")


def smoke(*overrides):
    return apply_overrides(load_experiment("fashion_mnist", smoke=True), list(overrides))


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.parametrize("is_smoke", [False, True])
def test_every_experiment_loads_and_round_trips(name, is_smoke):
    cfg = load_experiment(name, smoke=is_smoke)
    assert config_from_dict(cfg.to_dict()) == cfg


def test_overrides_are_typed():
    cfg = smoke("search.budgets.flops=3e6", "search.budgets.params=300000", "search.population=8.0",
                "search.profiles=local_cpu,pixel2", 'search.objectives=["accuracy","flops"]',
                "final.augment=on", "export.formats=json,onnx", "seed=3", "supernet.sampling=macs",
                "export.int8_weight_bits=7")
    assert cfg.search.budgets == {"flops": 3e6, "params": 300000.0}
    assert all(isinstance(v, float) for v in cfg.search.budgets.values())
    assert cfg.search.population == 8 and isinstance(cfg.search.population, int)
    assert cfg.search.profiles == ["local_cpu", "pixel2"] and cfg.search.objectives == ["accuracy", "flops"]
    assert cfg.final.augment == "on" and cfg.export.formats == ["json", "onnx"] and cfg.seed == 3
    assert cfg.supernet.sampling == "macs"
    assert cfg.export.int8_weight_bits == 7 and smoke().export.int8_weight_bits == 8  # 8: the default


@pytest.mark.parametrize("override,msg", [
    ("search.nope=1", "--set search.nope: unknown field 'nope'"),
    ("search.budgets.flops=abc", "--set search.budgets.flops: expected a number"),
    ("search.budgets.flops.x=1", "search.budgets takes one level of keys"),
    ("search.population.x=1", "search.population has no fields"),
    ("search.population=2.5", "expected an integer"),
    ("supernet.distill=1", "expected true/false"),
    ("search.objectives={}", "expected a list"),
    ("search.budgets=[1]", "expected a JSON object"),
    ("final.augment=yes", "final.augment: must be data, on or off, got 'yes'"),
    ("supernet.sampling=flops", "supernet.sampling: must be uniform or macs, got 'flops'"),
    ("search.budgets.flops=-1", "search.budgets.flops: must be a positive number"),
    ("search.budgets.accuracy=0.9", "search.budgets: unknown budget 'accuracy'"),
    ("search.objectives=accuracy,speed", "search.objectives: no evaluator for 'speed'"),
    ("search.algorithm=cmaes", "search.algorithm: unknown algorithm 'cmaes' (known: nsga2, evolution, random)"),
    ("data.source=s3", "data.source: unknown source 's3' (known: fashion_mnist, idx, tfds, image_folder)"),
    ("space=resnet", "space: unknown search space 'resnet'"),
    ("search.profiles=my_phone", "search.profiles: unknown profile 'my_phone'"),
    ("final.baselines=resnet50", "final.baselines: unknown model 'resnet50'"),
    ("export.formats=json,savedmodel", "export.formats: unknown format 'savedmodel'"),
    ("export.int8_weight_bits=6", "export.int8_weight_bits: must be 8 or 7, got 6"),
    ("search.profiles=a/phone.yaml,b/phone.yaml", "search.profiles: 'a/phone.yaml' and 'b/phone.yaml' are both "
                                                  "named 'phone'"),
    ("search.profiles=pixel2,my/pixel2.yaml", "'pixel2' and 'my/pixel2.yaml' are both named 'pixel2'"),
    ("search.profiles=my/..yaml", "search.profiles: 'my/..yaml': a profile file is named by its stem"),
    ("search.population=0", "search.population: must be positive"),
    ("nonsense", "expected key=value"),
])
def test_bad_overrides_name_the_field(override, msg):
    with pytest.raises(ConfigError) as e:
        smoke(override)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_registries_are_the_allowed_values():
    """Every registered name is accepted where the config names one; nothing is restated."""
    for s in SPACES:
        assert smoke(f"space={s}").space == s
    for a in ALGORITHMS:
        assert smoke(f"search.algorithm={a}").search.algorithm == a
    for src in SOURCES:
        assert smoke(f"data.source={src}").data.source == src
    for v in VALUES:
        assert smoke(f"search.objectives=accuracy,{v}").search.objectives[-1] == v
    for p in list_profiles():
        assert smoke(f"search.profiles={p}").search.profiles == [p]
    assert smoke(f"final.baselines={','.join(REFERENCE_MODELS)}").final.baselines == list(REFERENCE_MODELS)
    assert smoke(f"export.formats={','.join(FORMATS)}").export.formats == list(FORMATS)


def test_profile_paths_pass_and_unknown_names_fail_whatever_the_objectives():
    """YAML paths are checked when loaded; names always (the summary predicts latency on every
    profile, latency objective or not)."""
    assert smoke("search.profiles=my/phone.yaml").search.profiles == ["my/phone.yaml"]
    with pytest.raises(ConfigError, match="search.profiles: unknown profile 'analytic'"):
        smoke("search.objectives=accuracy,flops", "search.budgets={}", "search.profiles=analytic")
    with pytest.raises(ConfigError, match="search is a section"):
        smoke("search=5")
