"""Export of chosen architectures: JSON spec, Flax weights, ONNX (checked with ONNX Runtime)."""
from nas.export.formats import FORMATS, check_formats
from nas.export.onnx import check_onnx, export_onnx, ort_session

__all__ = ["FORMATS", "check_formats", "check_onnx", "export_onnx", "ort_session"]
