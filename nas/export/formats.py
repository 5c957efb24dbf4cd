"""The export formats (``export.formats``, ``nas export --format``): the one list of their names.

``json`` spec + record, ``flax`` Orbax weights, ``onnx`` float32 deployment graph, ``onnx-int8``
static int8 QDQ model, ``tflite`` / ``tflite-int8`` LiteRT models (need the ``litert`` extra).
``DEFAULT_FORMATS`` need only the default install.
"""
from __future__ import annotations

from nas.errors import InputError

FORMATS = ("json", "flax", "onnx", "onnx-int8", "tflite", "tflite-int8")
DEFAULT_FORMATS = ("json", "flax", "onnx", "onnx-int8")


def check_formats(formats, field: str = "export.formats") -> tuple[str, ...]:
    """``formats`` as a tuple when every name is known and there is at least one; InputError
    naming ``field`` otherwise."""
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"{field}: unknown format {bad[0] if bad else '(empty)'!r} (known: {', '.join(FORMATS)})")
    return formats


def check_export_values(export) -> None:
    """InputError naming the field when an ``export`` config section holds an impossible value."""
    if not export.onnx_tolerance > 0:
        raise InputError(f"export.onnx_tolerance: must be > 0, got {export.onnx_tolerance}")
    if export.batch < 0:
        raise InputError(f"export.batch: must be >= 0 (0: dynamic batch), got {export.batch}")
    if export.calibration_images < 1:
        raise InputError(f"export.calibration_images: must be >= 1, got {export.calibration_images}")
    check_converters(export.formats, "export.formats")


def check_converters(formats, field: str) -> None:
    """InputError when a requested format's converter is not installed (checked before any
    work, so a run does not train for an hour and then fail at export)."""
    import importlib.util

    lite = [f for f in formats if f.startswith("tflite")]
    if lite and importlib.util.find_spec("tensorflow") is None:
        raise InputError(f"{field}: {lite[0]} needs TensorFlow, which is not installed "
                         "(pip install 'jaxnas[litert]')")
