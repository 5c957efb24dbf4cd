"""Measuring a tiny fashion_mnist subnet on this machine with XLA and ONNX Runtime."""
import json

import pytest

from nas.cli.main import main
from nas.latency.measure import ROUND, measure_archs
from nas.search_spaces import arch_to_json, get_space


@pytest.mark.parametrize("runtime", ["xla", "onnxruntime"])
def test_measure_tiny_subnet(tmp_path, runtime):
    sp = get_space("fashion_mnist")
    (m,) = measure_archs(sp, [sp.smallest()], runtime, warmup=2, repeats=2 * ROUND, passes=2, workdir=tmp_path)
    assert m.runtime == runtime and m.repeats == 2 * 2 * ROUND and m.batch_size == 1
    assert 0 < m.p10_ms <= m.median_ms <= m.p90_ms and 0 < m.latency_ms <= m.p90_ms
    assert m.threads
    assert m.memory["analytic_peak_activation_bytes"] > 0
    if runtime == "xla":
        # runtime memory: arguments hold the weights (and input), at least the analytic weight bytes
        assert m.memory["argument"] >= m.memory["analytic_weight_bytes"]
        assert m.memory["output"] == 10 * 4


def test_cli_measure_json_contract(tmp_path, capsys):
    sp = get_space("fashion_mnist")
    jl = tmp_path / "a.jsonl"
    jl.write_text(json.dumps(arch_to_json(sp.smallest())) + "\n")
    code = main(["latency", "measure", "fashion_mnist", "--runtime", "onnxruntime", "--archs", str(jl),
                 "--json", "--warmup", "1", "--repeats", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    d = json.loads(out)
    assert set(d) == {"arch", "latency_ms"} and d["arch"] == arch_to_json(sp.smallest()) and d["latency_ms"] > 0


def test_cli_measure_bad_input(tmp_path, capsys):
    jl = tmp_path / "a.jsonl"
    jl.write_text('{"ks": [3]}\n')
    code = main(["latency", "measure", "fashion_mnist", "--runtime", "xla", "--archs", str(jl), "--json"])
    _, err = capsys.readouterr()
    assert code == 2 and f"{jl}:1:" in err and len(err.strip().splitlines()) == 1
    code = main(["profile", "calibrate", "x", "--space", "fashion_mnist", "--runtime", "xla", "--n", "2",
                 "--out", str(tmp_path / "p.yaml")])
    _, err = capsys.readouterr()
    assert code == 2 and "too few" in err and not (tmp_path / "p.yaml").exists()
