"""`nas space` and `nas arch` commands: output contracts and error behaviour."""
import json
import subprocess
import sys

import pytest

from nas.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_space_list(capsys):
    code, out, _ = run(capsys, "space", "list", "--json")
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert code == 0 and names == ["fashion_mnist", "ofa_mbv3", "fbnet", "cifar_mbv3", "ofa_mbv3_w12"]


def test_space_sample_json_lines_decode(capsys):
    from nas.search_spaces import get_space

    code, out, _ = run(capsys, "space", "sample", "ofa_mbv3", "--n", "3", "--seed", "7", "--json")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    archs = [get_space("ofa_mbv3").from_json(line) for line in lines]
    assert len(set(archs)) == 3
    code2, out2, _ = run(capsys, "space", "sample", "ofa_mbv3", "--n", "3", "--seed", "7", "--json")
    assert out2 == out


def test_arch_stats_model(capsys):
    code, out, _ = run(capsys, "arch", "stats", "--model", "mobilenet_v2", "--json")
    d = json.loads(out)
    assert code == 0 and set(d) == {"macs", "flops", "params", "peak_activation_bytes"}
    assert d["flops"] == 2 * d["macs"] and abs(d["macs"] - 300e6) / 300e6 < 0.03


def test_arch_stats_space(capsys):
    arch = json.dumps({"ks": [7] * 20, "e": [6] * 20, "d": [4] * 5, "r": 224})
    code, out, _ = run(capsys, "arch", "stats", "ofa_mbv3", "--arch", arch, "--json")
    assert code == 0 and json.loads(out)["macs"] > 400e6


@pytest.mark.parametrize("argv,needle", [
    (["arch", "stats", "ofa_mbv3", "--arch", '{"ks":[3]}', "--json"], "missing key 'e'"),
    (["arch", "stats", "ofa_mbv3", "--arch", "{oops", "--json"], "not valid JSON"),
    (["arch", "stats", "nospace", "--arch", "{}", "--json"], "unknown search space 'nospace'"),
    (["arch", "stats", "--model", "resnet", "--json"], "unknown model 'resnet'"),
    (["arch", "stats", "--json"], "give SPACE --arch JSON or --model NAME"),
    (["space", "sample", "fbnet", "--n", "0"], "argument --n: expected an integer from 1"),
])
def test_bad_input_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_exit_status():
    proc = subprocess.run([sys.executable, "-m", "nas.cli.main", "arch", "stats", "fbnet", "--arch",
                           '{"ops":[0],"r":32}'], capture_output=True, text=True)
    assert proc.returncode == 2 and "'ops' must be a list of 22" in proc.stderr
    assert "Traceback" not in proc.stderr
