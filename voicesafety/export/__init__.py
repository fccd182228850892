"""Conversion: a torch checkpoint to TorchScript, ONNX or int8 ONNX, checked for parity.

Every conversion is compared with the torch reference on a probe set (:mod:`.probes`) and
refused when it misses :data:`BOUNDS` (:mod:`.parity`). :mod:`.writers` writes the model file
and the rest of the exported folder, :mod:`.int8` picks and applies the int8 scheme,
:mod:`.exporter` puts these together (:func:`export`, what ``voicesafety export`` runs) and
:mod:`.cache` serves the same conversion on demand, cached by the weights' hash, and
:mod:`.auto` picks the fastest of them on this CPU for ``backend="auto"``.

This package is a client of the runtimes (:mod:`voicesafety.backends`) and of the formats it
reads (:mod:`voicesafety.formats`); neither knows it exists.
"""

from ..formats.exported import EXPORT_BACKENDS, MODEL_FILES, ExportedModel
from ..spec import FORMAT, FORMAT_VERSION, MANIFEST
from .auto import fastest_backend
from .cache import cache_dir, cached_backend, cached_export
from .exporter import convert, export, export_part
from .int8 import INT8_RECIPE, INT8_SCHEMES, int8_scheme, quantize_int8
from .parity import BOUNDS, ExportParityError, ParityReport, parity, scores_on
from .probes import PROBE_ITEMS, PROBE_TEXTS, default_probes, probe_audio, probe_from, probe_text
from .writers import ONNX_OPSET, manifest_for, to_onnx, to_torchscript, weights_hash

__all__ = [
    "BOUNDS", "EXPORT_BACKENDS", "FORMAT", "FORMAT_VERSION", "INT8_RECIPE", "INT8_SCHEMES",
    "MANIFEST", "MODEL_FILES", "ONNX_OPSET", "PROBE_ITEMS", "PROBE_TEXTS", "ExportParityError",
    "ExportedModel", "ParityReport", "cache_dir", "cached_backend", "cached_export", "convert",
    "default_probes", "fastest_backend",
    "export", "export_part", "int8_scheme", "manifest_for", "parity", "probe_audio",
    "probe_from", "probe_text", "quantize_int8", "scores_on", "to_onnx", "to_torchscript",
    "weights_hash",
]
