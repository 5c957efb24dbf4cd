"""A space of one's own through the whole engine: `nas run fashion_mnist --set space=FILE.yaml`
with a declared space that has per-stage choices and elastic width trains its supernet (sandwich
rule), searches it with a Ray actor (which rebuilds the space from config.json's declaration),
fine-tunes, exports (ONNX checked against JAX) and reports."""
import json

import pytest
import yaml

from tests.test_hostile_input import cli

pytestmark = pytest.mark.slow

WIDE_FM = {
    "name": "wide_fm", "family": "elastic_mbconv", "description": "a small elastic-width space", "input_channels": 1,
    "num_classes": 10, "stem": {"width": 8, "stride": 2}, "first_block": {"width": 8},
    "stages": [{"width": 16, "stride": 2, "act": "relu", "se": False, "kernels": [3], "depths": [1, 2]},
               {"width": 24, "stride": 2, "act": "hswish", "se": True, "widths": [16, 24]}],
    "kernels": [3, 5], "expands": [3, 4], "depths": [1, 2], "width_mults": [0.5, 1.0], "resolutions": [28],
    "head": {"final_width": 64, "feature_width": 0},
}


def test_a_declared_space_with_elastic_width_runs_every_stage(tmp_path):
    f = tmp_path / "wide_fm.yaml"
    f.write_text(yaml.safe_dump(WIDE_FM))
    work = tmp_path / "run"
    code, out, err = cli("run", "fashion_mnist", "--smoke", "--workdir", work, "--set", f"space={f}",
                         "--set", "supernet.init=", "--set", "search.num_workers=1", "--set", "final.baselines=[]",
                         "--set", "final.train_hand_designed=false")
    assert code == 0, err[-2000:]
    f.unlink()  # the work directory is the truth: later commands need no file
    cfg = json.loads((work / "config.json").read_text())
    assert cfg["space"] == "wide_fm" and cfg["space_def"]["stages"][1]["widths"] == [16, 24]
    summary = json.loads((work / "summary.json").read_text())
    assert summary["space"] == "wide_fm"
    chosen = json.loads((work / "chosen.json").read_text())
    assert all(len(c["arch"]["w"]) == 2 for c in chosen)
    checks = [json.loads(p.read_text()) for p in work.glob("export/*/onnx_check.json")]
    assert checks and all(c["rel_diff"] <= c["tolerance"] for c in checks)  # ONNX Runtime agrees with JAX
    code, out, err = cli("report", work)
    assert code == 0, err[-2000:]
