"""Read exported models: a folder written by ``voicesafety export`` (or the export cache), or
a lone ``.onnx`` / TorchScript ``.pt`` file that carries its manifest inside.

An exported folder holds ``voicesafety.json`` (the manifest, see :mod:`voicesafety.spec`), the
model file (:data:`MODEL_FILES`), ``policy.json`` and, for text models, the tokenizer files.
Writing them is :mod:`voicesafety.export`'s job; this module only reads.

Integrity: the manifest of a folder written by this version records the sha256 of every file
beside it (``"sha256": {name: hex}``); :func:`load_exported` checks them and raises
:class:`~voicesafety.errors.IntegrityError` on any difference, so a swapped or truncated model
file fails loudly. The manifest's ``file`` (and every hashed name) must be a plain file name
inside the folder: ``..``, absolute paths, separators and symlinks leading out are refused.
Folders written before hashes existed (voicesafety 0.1.0) still load, with a one-time warning.
TorchScript files run code when loaded: this module never loads one (a lone ``.pt``'s manifest
is read from its zip archive); whether to run it is the caller's decision (``trust_code``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IntegrityError, ModelLoadError
from ..policy import ThresholdPolicy
from ..spec import MANIFEST, ModelSpec
from ..text import Tokenizer
from .tokenizer import load_tokenizer

#: The backends a model can be exported to, and the model file each one runs.
EXPORT_BACKENDS = ("torchscript", "onnx", "onnx-int8")
MODEL_FILES = {"torchscript": "model.pt", "onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
#: Suffixes of a lone exported model file.
MODEL_SUFFIXES = (".onnx", ".pt", ".ts")
#: The manifest key holding ``{file name: sha256 hex}`` of every file beside the manifest.
HASHES = "sha256"
_warned_unhashed: set[Path] = set()


@dataclass
class ExportedModel:
    """A converted model file ready for a backend, with the manifest it was read from."""

    path: Path
    backend: str
    input_names: tuple[str, ...]
    manifest: dict[str, object] = field(default_factory=dict)
    #: whether every file was checked against hashes recorded in the manifest
    verified: bool = False


def is_exported(path: Path) -> bool:
    """Whether ``path`` is an exported folder (has a voicesafety manifest)."""
    return path.is_dir() and (path / MANIFEST).is_file()


def is_model_file(path: Path) -> bool:
    """Whether ``path`` is a lone exported model file (by its suffix)."""
    return path.is_file() and path.suffix.lower() in MODEL_SUFFIXES


def _parse(text: str, where: Path) -> dict[str, object]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"cannot read {where}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{where}: not a voicesafety export manifest")
    return data


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's content (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fix(manifest: dict[str, object]) -> str:
    """The command that rebuilds an exported folder (its backend filled in when known)."""
    backend = manifest.get("backend")
    to = backend if backend in EXPORT_BACKENDS else "BACKEND"
    return f"voicesafety export CHECKPOINT --to {to} --out DIR"


def member(folder: Path, name: object, where: Path, fix: str | None = None) -> Path:
    """``folder / name`` for a file name read from a manifest, refusing any that leaves the
    folder: absolute paths, ``..``, path separators, or a symlink resolving outside it.

    Raises:
        IntegrityError: ``name`` is not a plain file name inside ``folder``.
    """
    text = str(name) if isinstance(name, str) else ""
    bad = (not text or text in (".", "..") or "/" in text or "\\" in text or "\x00" in text
           or Path(text).is_absolute() or Path(text).drive != "")
    path = folder / text
    if not bad and path.exists():
        try:
            path.resolve(strict=True).relative_to(folder.resolve(strict=True))
        except (ValueError, OSError):
            bad = True
    if bad:
        raise IntegrityError(
            f"{where} names the file {name!r}, which is not a plain file name inside "
            f"{folder}: a manifest may only name files beside it (no '..', absolute paths, "
            "separators or symlinks leading out). The folder was edited by hand or tampered "
            f"with; re-export it: {fix or _fix({})}"
        )
    return path


def verify_files(folder: Path, manifest: dict[str, object], where: Path) -> bool:
    """Check the files beside a manifest against the sha256 it records. Returns False for a
    manifest without hashes (voicesafety 0.1.0), after warning once per folder.

    Raises:
        IntegrityError: a file is missing, differs from its recorded hash, or its name
            leaves the folder; the message says how to rebuild it.
    """
    hashes = manifest.get(HASHES)
    fix = _fix(manifest)
    if hashes is None:
        key = folder.resolve()
        if key not in _warned_unhashed:
            _warned_unhashed.add(key)
            warnings.warn(
                f"{folder} was exported without content hashes (voicesafety 0.1.0), so its "
                f"files cannot be checked for changes; re-export it to add them: {fix}",
                UserWarning, stacklevel=4)
        return False
    if not isinstance(hashes, dict) or not hashes:
        raise IntegrityError(f"{where}: its {HASHES!r} field is not a table of file hashes; "
                             f"re-export the model: {fix}")
    model_file = manifest.get("file")
    if model_file not in hashes:
        raise IntegrityError(f"{where} records no hash for its model file {model_file!r}; "
                             f"re-export the model: {fix}")
    for name, want in hashes.items():
        path = member(folder, name, where, fix)
        if not path.is_file():
            raise IntegrityError(f"{path} is missing but {where} records it; re-export the "
                                 f"model: {fix}")
        got = sha256_file(path)
        if got != want:
            raise IntegrityError(
                f"{path} does not match the sha256 recorded in {where} when it was written "
                f"(recorded {str(want)[:16]}..., now {got[:16]}..., {path.stat().st_size} "
                "bytes): it was changed, replaced or truncated since, and is not loaded. "
                f"Re-export the model ({fix}); a model converted on demand is rebuilt in the "
                "cache automatically."
            )
    return True


def torchscript_extra(path: Path, name: str) -> str | None:
    """An extra file stored in a TorchScript archive, read as a zip (no code is run)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for entry in archive.namelist():
                parts = entry.split("/")
                if len(parts) == 3 and parts[1] == "extra" and parts[2] == name:
                    return archive.read(entry).decode("utf-8")
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path} is not a TorchScript file: {exc}") from exc
    return None


def _manifest_of_file(path: Path) -> dict[str, object]:
    """The manifest of a lone model file: the one beside it, else the copy embedded in it."""
    beside = path.parent / MANIFEST
    if beside.is_file():
        data = _parse(beside.read_text(encoding="utf-8"), beside)
        if data.get("file") == path.name:
            return data
    if path.suffix == ".onnx":
        try:
            import onnx

            model = onnx.load(str(path), load_external_data=False)
            for prop in model.metadata_props:
                if prop.key == MANIFEST:
                    return _parse(prop.value, path)
        except ImportError:  # onnx is an extra; onnxruntime (a core dependency) reads it too
            import onnxruntime as ort

            meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            raw = meta.get_modelmeta().custom_metadata_map.get(MANIFEST)
            if raw:
                return _parse(raw, path)
    else:
        raw_manifest = torchscript_extra(path, MANIFEST)
        if raw_manifest:
            return _parse(raw_manifest, path)
    raise ModelLoadError(
        f"{path} carries no voicesafety manifest (labels, activation, sample rate): put the "
        f"{MANIFEST} written by `voicesafety export` beside it, or export the model with "
        "`voicesafety export MODEL --to onnx|torchscript --out DIR`"
    )


def load_exported(
    path: Path, name: str | None = None
) -> tuple[ExportedModel, ModelSpec, Tokenizer | None]:
    """Read an exported folder, or a ``.onnx``/``.pt`` file: ``(model, spec, tokenizer)``.

    A folder's files (a lone file's own file, when a manifest beside it names it) are checked
    against the hashes its manifest records (:func:`verify_files`); an embedded manifest
    cannot carry its own file's hash, so a lone file without one beside it is not checked.

    Raises:
        IntegrityError: a file differs from its recorded hash, or a name leaves the folder.
        ModelLoadError: not an exported model, or a file is missing or unreadable.
    """
    path = Path(path)
    verified = False
    if path.is_dir():
        try:
            text = (path / MANIFEST).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelLoadError(f"cannot read {path / MANIFEST}: {exc}") from exc
        manifest = _parse(text, path / MANIFEST)
        folder = path
        file = member(path, manifest.get("file", ""), path / MANIFEST, _fix(manifest))
        if file.is_file():
            verified = verify_files(folder, manifest, path / MANIFEST)
    else:
        manifest = _manifest_of_file(path)
        folder, file = path.parent, path
        if manifest.get(HASHES) is not None and (folder / MANIFEST).is_file():
            verified = verify_files(folder, manifest, folder / MANIFEST)
    policy_file = folder / "policy.json"
    policy = ThresholdPolicy.from_json(policy_file) if policy_file.is_file() else None
    spec = ModelSpec.from_manifest(manifest, path=folder, name=name, policy=policy)
    if not file.is_file():
        raise ModelLoadError(f"{path}: model file {file.name} is missing")
    backend = str(manifest.get("backend"))
    if backend not in EXPORT_BACKENDS:
        raise ModelLoadError(f"{path}: unknown backend {backend!r} in the manifest")
    names = manifest.get("input_names")
    inputs = tuple(str(n) for n in names) if isinstance(names, list) else spec.input_names
    tokenizer = load_tokenizer(folder) if spec.modality == "text" else None
    return ExportedModel(file, backend, inputs, manifest, verified), spec, tokenizer
