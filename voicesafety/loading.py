"""From a name or path to ready models: resolve it (hub), read its parts (formats), and put
each part on the backend asked for.

``backend="auto"`` runs an exported folder or file on its own backend; a torch checkpoint on
CPU runs on the fastest backend whose export passes the parity check, measured once on this
machine (:mod:`voicesafety.export.auto`), and on CUDA on torch. Asking a checkpoint for
another backend converts it once, with a parity check, through the export cache.

Trust: a TorchScript file from a path the user gave runs only with ``trust_code=True``; the
export cache's own TorchScript files are trusted once their hashes check out (voicesafety
wrote them, see :mod:`voicesafety.export.cache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .backends import (
    BACKENDS,
    Backend,
    check_precision,
    open_file,
    resolve_device,
    resolve_threads,
    trusts_code,
)
from .errors import BackendError, ModelLoadError
from .export.auto import fastest_backend
from .export.cache import cached_backend
from .formats import LoadedPart, load_parts
from .formats.exported import ExportedModel
from .formats.hub import resolve
from .judge import JudgeEncoder
from .pipeline import ModelPart
from .policy import ThresholdPolicy
from .prompts import JudgePrompt
from .registry import DEFAULT_MODEL, Modality
from .spec import ModelSpec
from .text import TextEncoder


def backend_for(part: LoadedPart, backend: str, device: str, *, trust_code: bool = False,
                threads: int | None = None, precision: str = "float32") -> Backend:
    """Put one loaded part on ``backend`` (``"auto"``, or one of :data:`BACKENDS`).

    ``trust_code`` lets a user-supplied TorchScript file run; ``threads`` is the CPU thread
    count (None: ``$VOICESAFETY_THREADS`` or the default of :mod:`voicesafety.backends.threads`);
    ``precision`` is ``"float32"``, or on CUDA with torch ``"float16"``/``"bfloat16"``.
    """
    name = (backend or "auto").lower()
    if name not in BACKENDS + ("auto",):
        choices = ", ".join(BACKENDS)
        raise BackendError(f"unknown backend {backend!r}; choose one of {choices}, auto")
    source = part.source
    check_precision(precision, device,
                    source.backend if isinstance(source, ExportedModel) else name)
    if isinstance(source, ExportedModel):
        if name not in ("auto", source.backend):
            raise BackendError(
                f"{source.path} is a {source.backend} export and can only run on backend "
                f"{source.backend!r} (or 'auto'); to get {name!r}, export the original "
                f"checkpoint: voicesafety export CHECKPOINT --to {name} --out DIR"
            )
        return open_file(source.path, source.backend, device, source.input_names,
                         trust_code=trust_code, threads=threads)
    if name == "auto" and device == "cpu":
        return fastest_backend(source, part.spec, part.tokenizer, threads=threads)[0]
    if name == "torchscript" and device != "cpu":
        # A trace keeps the device of the tensors the model makes while it runs (a CPU trace
        # fails on CUDA), and a trace made on CUDA failed on WavLM at other clip lengths
        # (a shape-bound view; docs/backends.md, "GPU"): so no conversion for CUDA.
        raise BackendError(
            "backend='torchscript' converts checkpoints for the CPU only: on CUDA use "
            "backend='torch' (or 'auto'), optionally with precision='float16'")
    if name in ("auto", "torch"):
        from .backends.torch import TorchBackend  # imports torch: only when it runs

        return TorchBackend(source, device, threads=threads, precision=precision)
    return cached_backend(source, part.spec, part.tokenizer, name, device, threads=threads)


def load(
    name_or_path: str | Path | None, *, backend: str = "auto", device: str = "auto",
    policy: ThresholdPolicy | str | Path | Mapping[str, object] | None = None,
    revision: str | None = None, trust_code: bool | None = None, threads: int | None = None,
    prompt: JudgePrompt | str | None = None, precision: str = "float32",
) -> tuple[str, dict[Modality, ModelPart]]:
    """``(name, {modality: part})`` for what :meth:`Classifier.from_pretrained` was given;
    ``prompt`` replaces an LLM judge's own prompt."""
    prompt = JudgePrompt.coerce(prompt)
    trust = trusts_code(trust_code)
    if threads is not None:
        resolve_threads(threads)  # a bad value fails before anything is loaded
    name = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    device = resolve_device(device)
    # a bad value, or reduced precision on CPU, fails before anything is downloaded or loaded
    check_precision(precision, device, (backend or "auto").lower())
    folder = resolve(name_or_path, revision)
    loaded_parts = load_parts(folder, name)
    policy = ThresholdPolicy.coerce(policy)
    parts: dict[Modality, ModelPart] = {}
    for modality, loaded in loaded_parts.items():
        spec = loaded.spec if policy is None else loaded.spec.with_policy(policy)
        if loaded.prompt is not None:
            parts[modality] = _judge_part(loaded, spec, prompt or loaded.prompt, backend,
                                          device, threads, precision)
            continue
        if prompt is not None:
            raise ModelLoadError(
                f"prompt= is for LLM judges (causal LMs, docs/judge.md); {name} is a "
                f"{modality} classifier: leave prompt out")
        ready = LoadedPart(loaded.source, spec, loaded.tokenizer)
        encoder = None
        if modality == "text" and loaded.tokenizer is not None:
            encoder = TextEncoder(loaded.tokenizer, spec.max_length)
        runtime = backend_for(ready, backend, device, trust_code=trust, threads=threads,
                              precision=precision)
        parts[modality] = ModelPart(spec, runtime, loaded.tokenizer, encoder)
    return name, parts


def _judge_part(loaded: LoadedPart, spec: ModelSpec, prompt: JudgePrompt, backend: str,
                device: str, threads: int | None, precision: str) -> ModelPart:
    """An LLM judge on torch (the only runtime that scores answers and generates)."""
    name = (backend or "auto").lower()
    if name not in ("auto", "torch"):
        raise BackendError(
            f"{spec.name} is an LLM judge (a causal LM): it runs on backend 'torch' (or "
            f"'auto') only, not {backend!r}; for speed use a GPU (device='cuda') or the "
            "cascade (voicesafety.Cascade) so that it sees only the texts that need it"
        )
    from .backends.causal_lm import CausalLMBackend  # imports torch: only when it runs

    assert not isinstance(loaded.source, ExportedModel)
    runtime = CausalLMBackend(loaded.source, device, threads=threads, precision=precision)
    encoder = JudgeEncoder(loaded.tokenizer, prompt, spec.max_length)
    return ModelPart(spec, runtime, loaded.tokenizer, None, encoder)
