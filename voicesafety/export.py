"""Convert a model to TorchScript, ONNX or int8 ONNX, check parity, write a loadable folder.

An exported folder holds ``voicesafety.json`` (the manifest: backend, model file, labels,
activation, negative labels, sample rate, window/hop, max length, parity report), the model
file (``model.pt``, ``model.onnx`` or ``model.int8.onnx``), ``policy.json`` and, for text
models, the tokenizer files. ``Classifier.from_pretrained(folder)`` loads it without the
original checkpoint. The manifest is also embedded in the model file itself (ONNX metadata,
TorchScript extra file), so a lone ``.onnx`` or ``.pt`` file still knows its labels.

Every conversion is checked against the torch reference on a probe set (:data:`BOUNDS`);
one that misses the bounds is refused (:class:`ExportParityError`). The same conversion runs
on demand when a user asks for a backend a checkpoint does not have; results are cached under
:func:`cache_dir`, keyed by a hash of the weights, the backend and the library versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BackendError, ModelLoadError

MANIFEST = "voicesafety.json"
FORMAT = "voicesafety-export"
FORMAT_VERSION = 1
#: revision of what :func:`quantize_int8` writes (part of the export cache key): bump it when
#: the quantised nodes change, so cached int8 exports are rebuilt (2: kept Gemm heads fp32)
INT8_RECIPE = 2
EXPORT_BACKENDS = ("torchscript", "onnx", "onnx-int8")
MODEL_FILES = {"torchscript": "model.pt", "onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
#: (max |score difference| allowed, share of probe items whose flags must be identical)
BOUNDS: dict[str, tuple[float, float]] = {
    "torchscript": (1e-4, 1.0),
    "onnx": (1e-4, 1.0),
    "onnx-int8": (0.05, 0.99),
}
ONNX_OPSET = 17

_SPEC_FIELDS = (
    "name", "modality", "labels", "activation", "negative_labels", "sample_rate", "window",
    "hop", "min_samples", "max_length", "do_normalize", "trained",
)


class ExportParityError(BackendError):
    """A converted model differs from the torch reference by more than the bounds allow."""

    def __init__(self, message: str, report: ParityReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class ParityReport:
    """How a converted model compares with the torch reference on the probe set."""

    backend: str
    modality: str
    items: int
    max_abs_diff: float
    flag_agreement: float
    max_abs_diff_bound: float
    flag_agreement_bound: float
    per_label: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether both bounds hold."""
        return (self.max_abs_diff <= self.max_abs_diff_bound
                and self.flag_agreement >= self.flag_agreement_bound)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (stored in the manifest)."""
        return {
            "backend": self.backend, "modality": self.modality, "items": self.items,
            "max_abs_diff": self.max_abs_diff, "flag_agreement": self.flag_agreement,
            "max_abs_diff_bound": self.max_abs_diff_bound,
            "flag_agreement_bound": self.flag_agreement_bound, "passed": self.passed,
            "per_label": self.per_label,
        }

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.modality:5s} {self.backend:11s} probe items={self.items:3d}  "
            f"max|Δscore|={self.max_abs_diff:.2e} (bound {self.max_abs_diff_bound:g})  "
            f"flag agreement={self.flag_agreement:.2%} (bound {self.flag_agreement_bound:.0%})"
            f"  {verdict}"
        )


@dataclass
class ExportedModel:
    """A converted model file ready for a backend: what :func:`voicesafety.backends.create`
    builds ``torchscript``/``onnx``/``onnx-int8`` backends from."""

    path: Path
    backend: str
    input_names: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict)


def input_names(modality: str) -> tuple[str, ...]:
    """Input names of a ``tensors -> logits`` module of this modality."""
    return ("input_values",) if modality == "audio" else ("input_ids", "attention_mask")


# --------------------------------------------------------------------------- probes


#: Probe items per modality. At least 100, so that the 99 % flag-agreement bound of int8 means
#: what it says: with 24 items a single flip (a score within 1e-3 of its threshold) failed it.
PROBE_ITEMS = 100


def probe_audio(spec: Any, n_per_length: int = PROBE_ITEMS // 4,
                seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Deterministic probe batches of speech-like signals (tones, chirps, noise bursts).

    Four lengths (0.5 s to 3.5 s), ``n_per_length`` items each (in batches of at most 8),
    various loudness levels.
    """
    rng = np.random.default_rng(seed)
    rate = int(spec.sample_rate)
    batches = []
    for seconds in (0.5, 1.0, 2.0, 3.5):
        n = max(int(seconds * rate), int(spec.min_samples))
        t = np.arange(n, dtype=np.float64) / rate
        items = []
        for i in range(n_per_length):
            f0 = rng.uniform(90, 300)
            vibrato = 1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 6) * t)
            phase = 2 * np.pi * np.cumsum(f0 * vibrato) / rate
            voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
            envelope = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6)))
            noise = rng.standard_normal(n)
            mix = [voiced * envelope, noise, voiced * envelope + 0.3 * noise][i % 3]
            level = [0.02, 0.1, 0.3, 0.6][i % 4]
            x = mix / (np.abs(mix).max() + 1e-9) * level
            items.append(x.astype(np.float32))
        batches += [{"input_values": np.stack(items[i:i + 8])} for i in range(0, len(items), 8)]
    return batches


PROBE_TEXTS = [
    "you are trash", "good game everyone", "nice shot", "i will kill the final boss",
    "shut up noob", "that was sick", "hello there friend", "go away loser", "gg wp",
    "you are an idiot", "thanks for the help", "lets play again tomorrow",
    "nobody wants you here just leave the server", "can you send me your address",
    "that build is honestly amazing", "stop talking you sound stupid",
    "wanna be my girlfriend", "buy cheap robux at my site", "i hate people like you",
    "lol that was so bad", "report him for cheating", "my mic is broken sorry",
    "you are the worst player i have ever seen in my whole life", "ok", "lmao",
    "what the hell was that", "please be nice to new players", "go kill yourself",
    "see you tomorrow at the usual place", "this game is dumb and so are you",
    "great teamwork guys", "why are you following me",
]


def probe_text(encoder: Any, texts: Sequence[str] | None = None,
               batch_size: int = 8) -> list[dict[str, np.ndarray]]:
    """Probe batches of tokenised texts (padded, with attention masks).

    The default set is :data:`PROBE_TEXTS`, then pairs of them joined, up to
    :data:`PROBE_ITEMS` texts of 1 to 30 words.
    """
    from .text import pad_batch

    if not texts:
        base = PROBE_TEXTS
        pairs = [f"{a}, {b}" for a in base for b in reversed(base) if a != b]
        texts = (base + pairs[::7])[:PROBE_ITEMS]
    # Blank texts never reach a model (score_text gives them a fixed result); a tokenizer
    # without special tokens would turn one into an all-padding row, whose NaN attention
    # poisons the dynamic int8 range of every other row in its batch.
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise BackendError("no usable probe text (every line is blank)")
    encoded = encoder.encode(list(texts))
    return [
        dict(zip(("input_ids", "attention_mask"), pad_batch(encoded[i:i + batch_size],
                                                              encoder.pad_id), strict=False))
        for i in range(0, len(encoded), batch_size)
    ]


def probe_from(paths: Sequence[str | Path], spec: Any, encoder: Any = None,
               batch_size: int = 8) -> list[dict[str, np.ndarray]]:
    """Probe batches from user data: audio files (first window of each) or text files
    (one text per line)."""
    if spec.modality == "text":
        texts: list[str] = []
        for p in paths:
            texts += [ln for ln in Path(p).read_text(encoding="utf-8").splitlines() if ln.strip()]
        return probe_text(encoder, texts, batch_size)
    from .audio import AudioSource

    out = []
    limit = int(spec.window * spec.sample_rate)
    for p in paths:
        blocks = list(AudioSource(str(p), int(spec.sample_rate)).blocks())
        samples = np.concatenate(blocks)[:limit] if blocks else np.zeros(0, np.float32)
        if samples.size >= spec.min_samples:
            out.append({"input_values": samples[None, :].astype(np.float32)})
    if not out:
        raise BackendError("no usable probe audio (every file is shorter than the model needs)")
    return out


def default_probes(spec: Any, encoder: Any = None) -> list[dict[str, np.ndarray]]:
    """The built-in probe set of a modality."""
    return probe_audio(spec) if spec.modality == "audio" else probe_text(encoder)


# --------------------------------------------------------------------------- parity


def _scores(backend: Any, batches: Sequence[dict[str, np.ndarray]], activation: str) -> np.ndarray:
    from .arrays import to_numpy
    from .scoring import activate

    return np.concatenate([activate(to_numpy(backend.run(b)), activation) for b in batches])


def parity(ref: np.ndarray, candidate: Any, spec: Any, batches: Sequence[dict[str, np.ndarray]],
           backend: str | None = None) -> ParityReport:
    """Compare ``candidate`` (a backend) on ``batches`` with the reference's scores ``ref``
    on the same batches (:func:`_scores` of the torch reference)."""
    name = backend or candidate.name
    got = _scores(candidate, batches, spec.activation)
    diff = np.abs(ref - got)
    toxic = list(spec.toxic_labels)
    same = 0
    for r, g in zip(ref, got, strict=False):
        a = spec.policy.flags(dict(zip(spec.labels, map(float, r), strict=False)), toxic)
        b = spec.policy.flags(dict(zip(spec.labels, map(float, g), strict=False)), toxic)
        same += sorted(a) == sorted(b)
    bound, agree = BOUNDS[name]
    return ParityReport(
        backend=name, modality=spec.modality, items=len(ref),
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
        flag_agreement=same / max(1, len(ref)), max_abs_diff_bound=bound,
        flag_agreement_bound=agree,
        per_label={label: float(diff[:, i].max()) for i, label in enumerate(spec.labels)},
    )


# --------------------------------------------------------------------------- conversion


def _example(spec: Any, batches: Sequence[dict[str, np.ndarray]]) -> tuple[Any, ...]:
    import torch

    if spec.modality == "audio":
        g = torch.Generator().manual_seed(0)
        n = max(int(spec.sample_rate), int(spec.min_samples) * 2)
        return (torch.randn(2, n, generator=g) * 0.1,)
    # A text batch of two with padding, so masks are traced as data, not constants.
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [5, 6, 7, 0, 0, 0]], dtype=torch.int64)
    for b in batches:
        if b["input_ids"].shape[0] >= 2 and b["input_ids"].shape[1] >= 3:
            ids = torch.from_numpy(b["input_ids"][:2].copy())
            return ids, torch.from_numpy(b["attention_mask"][:2].copy())
    mask = (ids != 0).to(torch.int64)
    return ids, mask


def to_torchscript(module: Any, spec: Any, path: Path, manifest: dict[str, Any],
                   batches: Sequence[dict[str, np.ndarray]] = ()) -> Path:
    """Trace ``module`` to TorchScript and save it (manifest embedded as an extra file)."""
    import warnings

    import torch

    module = module.cpu().eval()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, _example(spec, batches), check_trace=False)
        traced = torch.jit.freeze(traced) if hasattr(torch.jit, "freeze") else traced
    torch.jit.save(traced, str(path), _extra_files={MANIFEST: json.dumps(manifest)})
    return path


def to_onnx(module: Any, spec: Any, path: Path, manifest: dict[str, Any],
            batches: Sequence[dict[str, np.ndarray]] = ()) -> Path:
    """Export ``module`` to ONNX (opset 17, dynamic batch and length axes, fp32)."""
    import warnings

    import torch

    module = module.cpu().eval()
    names = list(input_names(spec.modality))
    axis = "time" if spec.modality == "audio" else "sequence"
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: axis} for n in names}
    axes["logits"] = {0: "batch"}
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, _example(spec, batches), str(path), input_names=names,
            output_names=["logits"], dynamic_axes=axes, opset_version=ONNX_OPSET, dynamo=False,
        )
    _set_onnx_metadata(path, manifest)
    return path


def _set_onnx_metadata(path: Path, manifest: dict[str, Any]) -> None:
    try:
        import onnx
    except ImportError as exc:
        raise BackendError(
            "exporting to ONNX needs the onnx package: pip install 'voicesafety[export]'"
        ) from exc

    model = onnx.load(str(path))
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = MANIFEST, json.dumps(manifest)
    onnx.save(model, str(path))


#: Dynamic int8 schemes (``quantize_dynamic`` settings), chosen per CPU by :func:`int8_scheme`.
INT8_SCHEMES: dict[str, dict[str, Any]] = {
    # AVX-512 VNNI / AVX-VNNI: u8×s8 dot products without saturation; per-channel weight
    # scales are then both the fastest and the most accurate MatMul scheme measured.
    "s8-per-channel": {"weight": "QInt8", "per_channel": True},
    # AVX2 without VNNI: u8×s8 goes through vpmaddubsw, whose int16 sums saturate (error up
    # to 0.12 on WavLM); u8×u8 kernels avoid that and were the fastest scheme there.
    "u8-per-tensor": {"weight": "QUInt8", "per_channel": False},
}


def int8_scheme() -> str:
    """The int8 scheme that pays on this CPU: ``"s8-per-channel"`` with VNNI, else
    ``"u8-per-tensor"`` (safe everywhere). ``$VOICESAFETY_INT8_SCHEME`` overrides it."""
    forced = os.environ.get("VOICESAFETY_INT8_SCHEME")
    if forced:
        if forced not in INT8_SCHEMES:
            raise BackendError(f"VOICESAFETY_INT8_SCHEME={forced!r} is not one of "
                               f"{', '.join(INT8_SCHEMES)}")
        return forced
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: the scheme that is safe on every x86 CPU
        return "u8-per-tensor"
    return "s8-per-channel" if ("avx512_vnni" in flags or "avx_vnni" in flags) else (
        "u8-per-tensor")


def quantize_int8(src: Path, dst: Path, spec: Any, manifest: dict[str, Any]) -> Path:
    """Int8 ONNX: dynamic quantisation of MatMul weights, with the scheme of :func:`int8_scheme`.

    Why MatMul only (tables in docs/backends.md, WavLM base plus on 2-core EPYCs): quantising
    every op (Conv included) was slower than fp32 (ConvInteger loses to MLAS's fp32
    convolution) and the least accurate; quantising the MatMuls of the fused fp32 graph gave
    the speed. The weight type and granularity depend on the CPU (:data:`INT8_SCHEMES`). The
    classification head (projector/classifier) and the embedded model's audio front end stay
    fp32, and so do the nodes a model's own config lists (``spec.int8_fp32``: the parts whose
    int8 noise its trainer measured to matter). Export still checks the result and refuses it
    when it misses :data:`BOUNDS`.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    settings = INT8_SCHEMES[manifest.setdefault("int8_scheme", int8_scheme())]
    graph = onnx.load(str(src), load_external_data=False).graph
    keep = ["projector", "classifier", "frontend", "head", "phone",
            *getattr(spec, "int8_fp32", ())]
    keep_fp32 = [n.name for n in graph.node if any(k in n.name for k in keep)]
    # The quantiser first rewrites every Gemm as MatMul + Add named "<gemm>_MatMul", so a kept
    # Gemm (a classifier on pooled features) must be excluded under that name too.
    keep_fp32 += [f"{n.name}_MatMul" for n in graph.node
                  if n.op_type == "Gemm" and n.name in keep_fp32]
    quantize_dynamic(
        str(src), str(dst), weight_type=getattr(QuantType, settings["weight"]),
        op_types_to_quantize=["MatMul"], per_channel=settings["per_channel"],
        nodes_to_exclude=keep_fp32, extra_options={"MatMulConstBOnly": True},
    )
    _set_onnx_metadata(dst, manifest)
    return dst


def convert(module: Any, spec: Any, backend: str, folder: Path, manifest: dict[str, Any],
            batches: Sequence[dict[str, np.ndarray]] = ()) -> Path:
    """Write the ``backend`` model file for ``module`` into ``folder``; returns its path."""
    if backend not in EXPORT_BACKENDS:
        raise BackendError(f"cannot export to {backend!r}; choose one of {EXPORT_BACKENDS}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MODEL_FILES[backend]
    if backend == "torchscript":
        return to_torchscript(module, spec, target, manifest, batches)
    if backend == "onnx":
        return to_onnx(module, spec, target, manifest, batches)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = to_onnx(module, spec, Path(tmp) / "model.onnx", manifest, batches)
        return quantize_int8(fp32, target, spec, manifest)


def manifest_for(spec: Any, backend: str, source_hash: str | None = None) -> dict[str, Any]:
    """The manifest of an exported model (without the parity report)."""
    import torch

    from ._version import __version__

    data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                            "backend": backend, "file": MODEL_FILES[backend]}
    for name in _SPEC_FIELDS:
        value = getattr(spec, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    data["input_names"] = list(input_names(spec.modality))
    data["policy"] = json.loads(spec.policy.to_json())
    data["source_hash"] = source_hash
    data["versions"] = {"voicesafety": __version__, "torch": torch.__version__}
    return data


def _save_tokenizer(tokenizer: Any, folder: Path) -> None:
    if tokenizer is None:
        return
    if hasattr(tokenizer, "save_pretrained"):
        tokenizer.save_pretrained(str(folder))
    else:  # a tokenizers.Tokenizer
        tokenizer.save(str(folder / "tokenizer.json"))


def _reference(module: Any) -> Any:
    from .backends.torch import TorchBackend

    return TorchBackend(module, "cpu")


def _candidate(path: Path, backend: str, modality: str) -> Any:
    from .backends import backend_from_file

    return backend_from_file(ExportedModel(path, backend, input_names(modality)), "cpu")


def export_part(module: Any, spec: Any, tokenizer: Any, backend: str, out: Path, *,
                probes: Sequence[dict[str, np.ndarray]] | None = None,
                source_hash: str | None = None) -> ParityReport:
    """Convert one model, check parity, and (only if it passes) write it to ``out``.

    Raises:
        ExportParityError: the conversion misses :data:`BOUNDS`; nothing is written.
    """
    batches = list(probes) if probes is not None else default_probes(
        spec, _encoder(spec, tokenizer))
    manifest = manifest_for(spec, backend, source_hash or weights_hash(module, spec))
    out = Path(out)
    # int8: the scheme that pays on this CPU first; if it misses the bounds, the other one (a
    # small model can sit on the edge of the flag bound with one and not the other).
    schemes = [None]
    if backend == "onnx-int8":
        schemes = [int8_scheme()] + [k for k in INT8_SCHEMES if k != int8_scheme()]
    ref = _scores(_reference(module), batches, spec.activation)  # once, whatever the tries
    with tempfile.TemporaryDirectory(dir=_tmp_parent(out)) as tmp:
        for scheme in schemes:
            if scheme is not None:
                manifest["int8_scheme"] = scheme
            stage = Path(tmp) / f"stage-{scheme or backend}"
            path = convert(module, spec, backend, stage, manifest, batches)
            report = parity(ref, _candidate(path, backend, spec.modality), spec, batches,
                            backend)
            if report.passed:
                break
        if not report.passed:
            tried = f" (int8 schemes tried: {', '.join(schemes)})" if schemes[0] else ""
            raise ExportParityError(
                f"refusing to write {backend} export of {spec.name}: it misses the parity "
                f"bounds against the torch reference{tried}.\n{report}", report)
        manifest["parity"] = report.to_dict()
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        (stage / "policy.json").write_text(spec.policy.to_json(), encoding="utf-8")
        _save_tokenizer(tokenizer, stage)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stage), str(out))
    return report


def _tmp_parent(out: Path) -> str | None:
    parent = Path(out).resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return str(parent)


def _encoder(spec: Any, tokenizer: Any) -> Any:
    if spec.modality != "text":
        return None
    from .text import TextEncoder

    return TextEncoder(tokenizer, spec.max_length)


def export(name_or_path: str | Path | None, backend: str, out: str | Path, *,
           probe: Sequence[str | Path] | None = None, revision: str | None = None,
           log: Callable[[str], None] | None = print) -> list[ParityReport]:
    """Export a model (or both parts of a bundle) to ``out`` and return the parity reports.

    A bundle (audio/ and text/) becomes ``out/audio`` and ``out/text``. Nothing is written
    for a part that misses the parity bounds (:class:`ExportParityError`).
    """
    from . import hub
    from .checkpoint import is_checkpoint_folder, load_folder

    if backend not in EXPORT_BACKENDS:
        raise BackendError(f"--to must be one of {', '.join(EXPORT_BACKENDS)}, got {backend!r}")
    name = "voicesafety/mini" if name_or_path is None else str(name_or_path)
    folder = hub.resolve(name_or_path, revision)
    out = Path(out)
    if folder.is_dir() and is_checkpoint_folder(folder):
        parts = [(folder, out)]
    elif folder.is_dir() and any((folder / s / "config.json").is_file() for s in ("audio", "text")):
        parts = [(folder / s, out / s) for s in ("audio", "text") if (folder / s).is_dir()]
    else:
        raise ModelLoadError(f"{folder} is not a torch checkpoint folder or bundle to export")
    reports = []
    for src, dst in parts:
        module, spec, tok = load_folder(src, name)
        batches = None
        if probe:
            batches = probe_from(probe, spec, _encoder(spec, tok))
        started = time.perf_counter()
        report = export_part(module, spec, tok, backend, dst, probes=batches)
        if log:
            log(f"{report}  [{time.perf_counter() - started:.1f} s] -> {dst}")
        reports.append(report)
    return reports


# --------------------------------------------------------------------------- loading


def is_exported(path: Path) -> bool:
    """Whether ``path`` is an exported folder (has a voicesafety manifest)."""
    return path.is_dir() and (path / MANIFEST).is_file()


def _manifest_of_file(path: Path) -> dict[str, Any]:
    beside = path.parent / MANIFEST
    if beside.is_file():
        data = json.loads(beside.read_text(encoding="utf-8"))
        if data.get("file") == path.name:
            return data
    if path.suffix == ".onnx":
        try:
            import onnx

            model = onnx.load(str(path), load_external_data=False)
            for prop in model.metadata_props:
                if prop.key == MANIFEST:
                    return json.loads(prop.value)
        except ImportError:
            import onnxruntime as ort

            meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            raw = meta.get_modelmeta().custom_metadata_map.get(MANIFEST)
            if raw:
                return json.loads(raw)
    else:
        import torch

        extra = {MANIFEST: ""}
        try:
            torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except (RuntimeError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{path} is not a TorchScript file: {exc}") from exc
        if extra[MANIFEST]:
            return json.loads(extra[MANIFEST])
    raise ModelLoadError(
        f"{path} carries no voicesafety manifest (labels, activation, sample rate): put the "
        f"{MANIFEST} written by `voicesafety export` beside it, or export the model with "
        "`voicesafety export MODEL --to onnx|torchscript --out DIR`"
    )


def load_exported(path: str | Path, name: str | None = None) -> tuple[ExportedModel, Any, Any]:
    """Read an exported folder, or a ``.onnx``/``.pt`` file: ``(model, spec, tokenizer)``."""
    from .checkpoint import ModelSpec
    from .policy import ThresholdPolicy

    path = Path(path)
    if path.is_dir():
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"cannot read {path / MANIFEST}: {exc}") from exc
        folder, file = path, path / manifest["file"]
    else:
        manifest = _manifest_of_file(path)
        folder, file = path.parent, path
    if manifest.get("format") != FORMAT:
        raise ModelLoadError(f"{path}: not a voicesafety export manifest")
    if not file.is_file():
        raise ModelLoadError(f"{path}: model file {file.name} is missing")
    policy_file = folder / "policy.json"
    labels = tuple(manifest["labels"])
    if policy_file.is_file():
        policy = ThresholdPolicy.from_json(policy_file)
    else:
        policy = ThresholdPolicy.model_validate(manifest.get("policy") or {})
    spec = ModelSpec(
        name=name or manifest["name"], modality=manifest["modality"], labels=labels,
        activation=manifest["activation"], negative_labels=tuple(manifest["negative_labels"]),
        policy=policy.check_labels(labels), sample_rate=int(manifest["sample_rate"]),
        window=float(manifest["window"]), hop=float(manifest["hop"]),
        min_samples=int(manifest["min_samples"]),
        max_length=manifest.get("max_length"), do_normalize=bool(manifest["do_normalize"]),
        trained=bool(manifest.get("trained", True)), path=folder, format="export",
    )
    tokenizer = _load_tokenizer(folder) if spec.modality == "text" else None
    model = ExportedModel(file, manifest["backend"], tuple(manifest["input_names"]), manifest)
    return model, spec, tokenizer


def _load_tokenizer(folder: Path) -> Any:
    if (folder / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(folder))
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(folder / "tokenizer.json"))
    raise ModelLoadError(
        f"text model at {folder} has no tokenizer files (tokenizer.json): export writes them "
        "beside the model; copy them along with it"
    )


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """Where on-demand exports are cached: ``$VOICESAFETY_CACHE`` or ``~/.cache/voicesafety``."""
    env = os.environ.get("VOICESAFETY_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "voicesafety"


def weights_hash(module: Any, spec: Any) -> str:
    """Content hash of a module's weights and structure (not of file names or dates)."""
    from .arrays import to_numpy

    h = hashlib.blake2b(digest_size=20)
    h.update(f"{type(module).__module__}.{type(module).__qualname__}".encode())
    h.update(f"{spec.modality}|{spec.do_normalize}|{len(spec.labels)}".encode())
    if getattr(spec, "int8_fp32", ()):  # changes what int8 export writes
        h.update(repr(tuple(spec.int8_fp32)).encode())
    config = getattr(getattr(module, "model", None), "config", None) or getattr(
        module, "config", None)
    if config is not None:
        if hasattr(config, "to_dict"):
            data = {k: v for k, v in config.to_dict().items() if k != "_name_or_path"}
        else:
            data = dict(config) if isinstance(config, dict) else {}
        h.update(json.dumps(data, sort_keys=True, default=str).encode())
    for key, tensor in module.state_dict().items():
        h.update(key.encode())
        h.update(str(tuple(tensor.shape)).encode() + str(tensor.dtype).encode())
        h.update(to_numpy(tensor).tobytes())
    return h.hexdigest()


def _versions_key(backend: str) -> str:
    import onnxruntime
    import torch
    import transformers

    from ._version import __version__

    scheme = f"|{int8_scheme()}|r{INT8_RECIPE}" if backend == "onnx-int8" else ""
    return (f"{backend}{scheme}|vs{__version__}|torch{torch.__version__}"
            f"|ort{onnxruntime.__version__}|tf{transformers.__version__}|fmt{FORMAT_VERSION}")


def cached_export(module: Any, spec: Any, tokenizer: Any, backend: str) -> ExportedModel:
    """The ``backend`` form of ``module``, converted (with a parity check) on first use.

    Cached under :func:`cache_dir` by a hash of the weights, the backend (and int8 scheme)
    and the versions of voicesafety, torch, onnxruntime and transformers, so a second load is
    instant and a changed checkpoint never gets a stale export.
    """
    weights = weights_hash(module, spec)
    key = hashlib.blake2b(f"{weights}|{_versions_key(backend)}".encode(),
                          digest_size=16).hexdigest()
    folder = cache_dir() / "exports" / f"{backend}-{key}"
    if not is_exported(folder):
        export_part(module, spec, tokenizer, backend, folder, source_hash=weights)
    model, _, _ = load_exported(folder)
    return model
