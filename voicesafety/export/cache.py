"""The export cache: a checkpoint converted on demand once, then served from disk.

Entries live under :func:`cache_dir` and are keyed by a hash of the weights
(:func:`~.writers.weights_hash`), the backend (and int8 scheme and recipe) and the versions of
voicesafety, torch, onnxruntime and transformers, so a second load is instant and a changed
checkpoint never gets a stale export.

Integrity: every entry's manifest records the sha256 of its files, and
``exports/.records/<entry>.sha256`` records the sha256 of that manifest. An entry is served
only when both check out (so a swapped model file *and* a rewritten manifest are caught); then
voicesafety trusts it as its own output (its TorchScript files run without ``trust_code``). An
entry that fails (truncated, swapped, half-written, unreadable) is deleted and converted again,
with a warning. The record lives in the same cache: it catches corruption and a swapped file,
not someone who can rewrite the whole cache; keep ``$VOICESAFETY_CACHE`` writable only by you.
Checking and building an entry happen under a per-entry lock (``exports/.locks/``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .._version import __version__
from ..backends import Backend, open_file
from ..errors import IntegrityError, ModelLoadError
from ..formats.exported import ExportedModel, is_exported, load_exported, sha256_file
from ..spec import FORMAT_VERSION, MANIFEST, ModelSpec
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


def record_of(folder: Path) -> Path:
    """Where the sha256 of a cache entry's manifest is recorded (``exports/.records/``)."""
    return folder.parent / ".records" / f"{folder.name}.sha256"


def _read_entry(folder: Path) -> ExportedModel:
    """A cache entry, checked: its manifest against its record, its files against
    the manifest (:class:`IntegrityError` on any difference)."""
    record = record_of(folder)
    want = record.read_text(encoding="utf-8").strip() if record.is_file() else ""
    if not want:
        raise IntegrityError(f"{folder} has no integrity record ({record.name})")
    got = sha256_file(folder / MANIFEST)
    if got != want:
        raise IntegrityError(f"{folder / MANIFEST} does not match its record {record.name}")
    model, _, _ = load_exported(folder)
    if not model.verified:
        raise IntegrityError(f"{folder} carries no file hashes")
    return model


def _build(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None, backend: str,
           folder: Path, weights: str) -> ExportedModel:
    record_of(folder).unlink(missing_ok=True)
    export_part(module, spec, tokenizer, backend, folder, source_hash=weights)
    record_of(folder).parent.mkdir(parents=True, exist_ok=True)
    record_of(folder).write_text(sha256_file(folder / MANIFEST) + "\n", encoding="utf-8")
    return _read_entry(folder)


def entry_folder(module: nn.Module, spec: ModelSpec, backend: str,
                 weights: str | None = None) -> tuple[Path, str]:
    """``(folder, weights hash)``: where the ``backend`` export of ``module`` is cached."""
    weights = weights or weights_hash(module, spec)
    key = hashlib.blake2b(f"{weights}|{_versions_key(backend)}".encode(),
                          digest_size=16).hexdigest()
    return cache_dir() / "exports" / f"{backend}-{key}", weights


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on one cache entry (POSIX ``flock``), so that processes loading
    the same model at once wait for one conversion instead of discarding each other's."""
    locks = folder.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{folder.name}.lock", "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def cached_export(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None,
                  backend: str, *, weights: str | None = None) -> ExportedModel:
    """The ``backend`` form of ``module``, converted (with a parity check) on first use and
    checked against its recorded hashes on every later use; a corrupt entry is rebuilt."""
    folder, weights = entry_folder(module, spec, backend, weights)
    with _locked(folder):
        if not is_exported(folder):
            if folder.exists():
                shutil.rmtree(folder)  # a half-written entry (no manifest)
            return _build(module, spec, tokenizer, backend, folder, weights)
        try:
            return _read_entry(folder)
        except ModelLoadError as exc:
            _discard(folder, exc)
        return _build(module, spec, tokenizer, backend, folder, weights)


def _discard(folder: Path, reason: Exception) -> None:
    warnings.warn(f"voicesafety's export cache entry {folder} is corrupt ({reason}); "
                  "deleting it and converting the model again", UserWarning, stacklevel=3)
    shutil.rmtree(folder, ignore_errors=True)
    record_of(folder).unlink(missing_ok=True)


def cached_backend(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None,
                   backend: str, device: str, *, threads: int | None = None,
                   weights: str | None = None) -> Backend:
    """:func:`cached_export`, opened on ``device``. The entry is voicesafety's own output
    with verified hashes, so its TorchScript is trusted. ``weights``: the module's
    :func:`~.writers.weights_hash` when the caller already has it (hashing reads every
    weight)."""
    exported = cached_export(module, spec, tokenizer, backend, weights=weights)
    return open_file(exported.path, exported.backend, device, exported.input_names,
                     trust_code=True, threads=threads)
