"""Export of chosen architectures: JSON spec, Flax weights, ONNX (checked with ONNX Runtime),
int8 ONNX, LiteRT."""
from nas.export.formats import DEFAULT_FORMATS, FORMATS, check_formats
from nas.export.onnx import check_onnx, export_onnx, onnx_difference, ort_session, run_onnx

__all__ = ["DEFAULT_FORMATS", "FORMATS", "check_formats", "check_onnx", "export_onnx", "onnx_difference",
           "ort_session", "run_onnx"]
