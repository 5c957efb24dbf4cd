"""The work directory's layout (README "The pipeline"): the paths other tools read."""
from __future__ import annotations

from pathlib import Path

import pytest

from nas.rundir import RunDir, is_profile_path, profile_label


def test_layout_is_the_documented_one(tmp_path):
    r = RunDir(tmp_path)
    rel = {k: str(v.relative_to(tmp_path)) for k, v in {
        "config": r.config, "chosen": r.chosen, "summary": r.summary, "latency_check": r.latency_check,
        "report": r.report, "supernet": r.supernet.path, "supernet_ckpt": r.supernet.checkpoints,
        "state": r.search("pixel2").state, "gen": r.search("pixel2").generation(3),
        "front": r.search("pixel2").front, "final_result": r.final("searched_0").result,
        "final_weights": r.final("searched_0").weights, "arch_json": r.export("searched_0").arch_json,
        "onnx": r.export("searched_0").onnx, "tune": r.tune_storage}.items()}
    assert rel == {"config": "config.json", "chosen": "chosen.json", "summary": "summary.json",
                   "latency_check": "latency_check.json", "report": "report", "supernet": "supernet",
                   "supernet_ckpt": "supernet/checkpoints", "state": "search/pixel2/state.json",
                   "gen": "search/pixel2/gen_0003.jsonl", "front": "search/pixel2/front.jsonl",
                   "final_result": "final/searched_0/result.json", "final_weights": "final/searched_0/weights",
                   "arch_json": "export/searched_0/arch.json", "onnx": "export/searched_0/model.onnx",
                   "tune": "final/_tune"}


def test_accuracy_cache_follows_the_supernet(tmp_path):
    r = RunDir(tmp_path)
    with pytest.raises(OSError):
        r.accuracy_cache()  # no trained supernet yet
    r.supernet.path.mkdir()
    r.supernet.result.write_text('{"a": 1}')
    first = r.accuracy_cache()
    r.supernet.result.write_text('{"a": 2}')  # retrained: another cache
    assert first.parent == tmp_path / "search" and first.name.startswith("accuracy_") and r.accuracy_cache() != first


@pytest.mark.parametrize("ref,is_path,label", [("pixel2", False, "pixel2"), ("my.yaml", True, "my"),
                                               ("dir/phone.yml", True, "phone"), ("a/b", True, "b")])
def test_profile_references(ref, is_path, label):
    assert is_profile_path(ref) == is_path and profile_label(ref) == label
    assert RunDir("w").search(ref).path == Path("w") / "search" / label
