"""Export of chosen architectures: JSON spec, Flax weights, ONNX (checked with ONNX Runtime)."""
from nas.export.onnx import check_onnx, export_onnx, ort_session

__all__ = ["check_onnx", "export_onnx", "ort_session"]
