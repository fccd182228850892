"""The export cache: a checkpoint converted on demand once, then served from disk.

Entries live under :func:`cache_dir` and are keyed by a hash of the weights
(:func:`~.writers.weights_hash`), the backend (and int8 scheme and recipe) and the versions of
voicesafety, torch, onnxruntime and transformers, so a second load is instant and a changed
checkpoint never gets a stale export.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..formats.exported import ExportedModel, is_exported, load_exported
from ..spec import FORMAT_VERSION, ModelSpec
from ..text import Tokenizer
from .exporter import export_part
from .int8 import INT8_RECIPE, int8_scheme
from .writers import weights_hash

if TYPE_CHECKING:
    from torch import nn


def cache_dir() -> Path:
    """Where on-demand exports are cached: ``$VOICESAFETY_CACHE`` or ``~/.cache/voicesafety``."""
    env = os.environ.get("VOICESAFETY_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "voicesafety"


def _versions_key(backend: str) -> str:
    import onnxruntime
    import torch
    import transformers

    scheme = f"|{int8_scheme()}|r{INT8_RECIPE}" if backend == "onnx-int8" else ""
    return (f"{backend}{scheme}|vs{__version__}|torch{torch.__version__}"
            f"|ort{onnxruntime.__version__}|tf{transformers.__version__}|fmt{FORMAT_VERSION}")


def cached_export(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None,
                  backend: str) -> ExportedModel:
    """The ``backend`` form of ``module``, converted (with a parity check) on first use."""
    weights = weights_hash(module, spec)
    key = hashlib.blake2b(f"{weights}|{_versions_key(backend)}".encode(),
                          digest_size=16).hexdigest()
    folder = cache_dir() / "exports" / f"{backend}-{key}"
    if not is_exported(folder):
        export_part(module, spec, tokenizer, backend, folder, source_hash=weights)
    model, _, _ = load_exported(folder)
    return model
