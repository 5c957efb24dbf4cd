"""Report notes computed from a run's summary: int8 slower than float here is flagged."""
from nas.report.build import _int8_note


def _row(name, lat):
    return {"name": name, "deployed": {"accuracy": {"onnx": 0.9}, "latency_ms_here": lat}}


def test_int8_slower_than_float_is_flagged_with_the_7_bit_option():
    note = _int8_note([_row("a", {"onnx": 0.600, "onnx-int8": 2.156}), _row("b", {"onnx": 1.0, "onnx-int8": 0.5})])
    assert "int8 ran slower than float" in note and "a (onnx: 2.156 vs 0.600 ms)" in note
    assert "b (" not in note and "int8_weight_bits=7" in note and "VNNI" in note
    assert _int8_note([_row("b", {"onnx": 1.0, "onnx-int8": 0.5})]) == ""
