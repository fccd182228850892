"""``backend="auto"`` on CPU: the fastest backend whose export passes the parity check.

On first use of a checkpoint on a CPU, :func:`fastest_backend` converts it to ONNX fp32 and
int8 through the export cache (each conversion checked for parity and refused when it misses
the bounds), times every candidate that passed, and the torch reference, on the same input on
this machine, and keeps the fastest. The choice is recorded in the cache
(``exports/.auto/<key>.json``, keyed by the weights, the library versions and the CPU), so
later loads open the chosen backend without converting or timing again.

Why measure instead of a fixed order: which backend wins depends on the model and the CPU
(docs/backends.md). On the embedded mini models ONNX fp32 is fastest (int8 runs items one by
one for batch independence, and their matmuls are small); on WavLM base plus int8 wins where
the CPU has fast int8 kernels; on CPUs without VNNI the margin shrinks. A fixed order would be
wrong somewhere; a measurement on the user's own CPU is not.

int8 changes scores (within the export bounds); it is chosen only when it is at least
:data:`INT8_MARGIN` faster than ONNX fp32. CUDA runs torch (its fp32 kernels are what the
parity bounds are measured against, and ONNX CUDA is not faster there at batch 1).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..backends import Backend, resolve_threads
from ..errors import BackendError
from ..spec import ModelSpec
from ..text import TextEncoder, Tokenizer
from .cache import _locked, _versions_key, cache_dir, cached_backend
from .parity import ExportParityError
from .probes import Batch, probe_audio, probe_text
from .writers import weights_hash

if TYPE_CHECKING:
    from torch import nn

#: candidates tried after the torch reference, in this order
CANDIDATES = ("onnx", "onnx-int8")
#: int8 must beat ONNX fp32 by this factor (it costs accuracy; a tie goes to fp32)
INT8_MARGIN = 0.9
#: timed passes per candidate (after one warm-up); the median is kept
PASSES = 3
#: what the record format is (bump to ignore older records)
RECORD_VERSION = 1


def _cpu_signature() -> str:
    """The CPU model, the SIMD flags that change which kernels run, and the core count."""
    model, flags = "unknown", set[str]()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        import platform

        model = platform.processor() or platform.machine()
    simd = sorted(f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c"))
    return f"{model}|{','.join(simd)}|{os.cpu_count()}"


def record_path(module: nn.Module, spec: ModelSpec, weights: str | None = None) -> Path:
    """Where the auto choice for ``module`` on this CPU is recorded (``weights``: its
    :func:`~.writers.weights_hash`, if already known). Not keyed by thread count: the default
    count follows the machine's load, and the ranking rarely does."""
    key = hashlib.blake2b(
        f"{weights or weights_hash(module, spec)}|{_versions_key('auto')}|{_cpu_signature()}"
        f"|v{RECORD_VERSION}".encode(), digest_size=16).hexdigest()
    return cache_dir() / "exports" / ".auto" / f"{key}.json"


def timing_batches(spec: ModelSpec, tokenizer: Tokenizer | None) -> list[Batch]:
    """What candidates are timed on: for audio, one full analysis window at batch 1 (what
    scoring a long file runs, window after window); for text, the 100 probe texts in batches
    of 8 (a typical ``score_text(list)`` call)."""
    if spec.modality == "audio":
        item = probe_audio(spec, n_per_length=1)[-1]["input_values"][0]
        n = int(round(spec.window * spec.sample_rate))
        return [{"input_values": np.resize(item, n)[None, :].astype(np.float32)}]
    if tokenizer is None:
        raise BackendError(f"{spec.name}: timing a text model needs its tokenizer")
    return probe_text(TextEncoder(tokenizer, spec.max_length))


def _time(backend: Backend, batches: list[Batch]) -> float:
    """Median seconds over :data:`PASSES` passes through ``batches`` (after one warm-up)."""
    def once() -> float:
        started = time.perf_counter()
        for batch in batches:
            backend.run(batch)
        return time.perf_counter() - started

    once()
    return statistics.median(once() for _ in range(PASSES))


def _say(message: str) -> None:
    # stderr, unconditionally: converting a large model takes minutes, and a user should
    # know why the first load is slow (a tqdm bar alone hides itself when stderr is no tty)
    print(f"voicesafety: {message}", file=sys.stderr, flush=True)


def _read_record(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("backend") not in ("torch", *CANDIDATES):
        return None
    return data


def _open(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None, backend: str,
          threads: int, weights: str) -> Backend:
    if backend == "torch":
        from ..backends.torch import TorchBackend  # imports torch: only when it runs

        return TorchBackend(module, "cpu", threads=threads)
    return cached_backend(module, spec, tokenizer, backend, "cpu", threads=threads,
                          weights=weights)


def choose(timings: dict[str, float]) -> str:
    """The backend to run, from median seconds per candidate: the fastest, except that int8
    must beat ONNX fp32 by :data:`INT8_MARGIN`."""
    pool = dict(timings)
    if "onnx-int8" in pool and "onnx" in pool and pool["onnx-int8"] > INT8_MARGIN * pool["onnx"]:
        del pool["onnx-int8"]
    return min(pool, key=lambda name: pool[name])


def fastest_backend(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None, *,
                    threads: int | None = None) -> tuple[Backend, dict[str, object]]:
    """``(backend, record)``: the fastest CPU backend for ``module`` whose export passes the
    parity check, measured on this machine on first use and read from the cache afterwards.

    ``record`` says what was chosen and why: ``backend``, ``timings`` (median seconds per
    candidate on :func:`timing_batches`), ``rejected`` (candidate → reason: a parity failure
    or a conversion error), ``cpu``, ``threads``, ``seconds`` (what the first use cost).
    """
    count = resolve_threads(threads)
    weights = weights_hash(module, spec)  # once: it reads every weight
    path = record_path(module, spec, weights)
    with _locked(path):
        record = _read_record(path)
        if record is not None:
            try:
                return _open(module, spec, tokenizer, str(record["backend"]), count,
                             weights), record
            except BackendError as exc:  # e.g. the export entry is gone and cannot be rebuilt
                warnings.warn(f"voicesafety: the recorded fast path for {spec.name} no longer "
                              f"opens ({exc}); measuring again", UserWarning, stacklevel=4)
        return _measure(module, spec, tokenizer, count, path, weights)


def _measure(module: nn.Module, spec: ModelSpec, tokenizer: Tokenizer | None, threads: int,
             path: Path, weights: str) -> tuple[Backend, dict[str, object]]:
    started = time.perf_counter()
    _say(f"first use of {spec.name} ({spec.modality}) on this CPU: converting it to ONNX "
         "(fp32, int8), checking parity and timing each against torch, once (later loads "
         "reuse the result; backend='torch' skips this)")
    batches = timing_batches(spec, tokenizer)
    opened: dict[str, Backend] = {
        "torch": _open(module, spec, tokenizer, "torch", threads, weights)}
    timings = {"torch": _time(opened["torch"], batches)}
    rejected: dict[str, str] = {}
    missing = False
    for name in CANDIDATES:
        step = time.perf_counter()
        try:
            opened[name] = _open(module, spec, tokenizer, name, threads, weights)
        except ExportParityError as exc:
            rejected[name] = str(exc).splitlines()[0]
            _say(f"  {name}: refused (misses the parity bounds)")
            continue
        except ImportError as exc:  # not recorded: installing the package changes the answer
            missing = True
            rejected[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            _say(f"  {name}: cannot convert ({rejected[name]})")
            continue
        except (BackendError, RuntimeError, ValueError) as exc:
            # a model the exporter cannot convert still runs, on torch: say so, once
            rejected[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            _say(f"  {name}: cannot convert ({rejected[name]})")
            continue
        timings[name] = _time(opened[name], batches)
        _say(f"  {name}: converted and timed in {time.perf_counter() - step:.0f} s")
    best = choose(timings)
    record: dict[str, object] = {
        "backend": best, "timings": timings, "rejected": rejected, "cpu": _cpu_signature(),
        "threads": threads, "seconds": round(time.perf_counter() - started, 1),
        "version": RECORD_VERSION,
    }
    if not missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        tmp.replace(path)
    ms = ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in timings.items())
    _say(f"{spec.name} ({spec.modality}) runs on {best} on this CPU "
         f"({ms}; {record['seconds']} s, once)")
    return opened[best], record
