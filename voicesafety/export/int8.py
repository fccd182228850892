"""Int8 ONNX: the dynamic quantisation schemes, the one that pays on this CPU, and the
quantiser (which nodes stay fp32)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TypedDict

from ..errors import BackendError
from ..spec import ModelSpec
from .writers import Manifest, set_onnx_metadata

#: revision of what :func:`quantize_int8` writes (part of the export cache key): bump it when
#: the quantised nodes change, so cached int8 exports are rebuilt (2: kept Gemm heads fp32)
INT8_RECIPE = 2


class Int8Scheme(TypedDict):
    """``quantize_dynamic`` settings: the weight type (a ``QuantType`` name) and granularity."""

    weight: str
    per_channel: bool


#: Dynamic int8 schemes (``quantize_dynamic`` settings), chosen per CPU by :func:`int8_scheme`.
INT8_SCHEMES: dict[str, Int8Scheme] = {
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


def quantize_int8(src: Path, dst: Path, spec: ModelSpec | None, manifest: Manifest) -> Path:
    """Int8 ONNX: dynamic quantisation of MatMul weights, with the scheme of :func:`int8_scheme`
    (or the one ``manifest["int8_scheme"]`` names; the manifest records it).

    Why MatMul only (tables in docs/backends.md, WavLM base plus on 2-core EPYCs): quantising
    every op (Conv included) was slower than fp32 (ConvInteger loses to MLAS's fp32
    convolution) and the least accurate; quantising the MatMuls of the fused fp32 graph gave
    the speed. The weight type and granularity depend on the CPU (:data:`INT8_SCHEMES`). The
    classification head (projector/classifier) and the embedded model's audio front end stay
    fp32, and so do the nodes a model's own config lists (``spec.int8_fp32``: the parts whose
    int8 noise its trainer measured to matter). Export still checks the result and refuses it
    when it misses the parity bounds.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    scheme = str(manifest.setdefault("int8_scheme", int8_scheme()))
    settings = INT8_SCHEMES[scheme]
    graph = onnx.load(str(src), load_external_data=False).graph
    keep = ["projector", "classifier", "frontend", "head", "phone",
            *(spec.int8_fp32 if spec is not None else ())]
    keep_fp32 = [n.name for n in graph.node if any(k in n.name for k in keep)]
    # The quantiser first rewrites every Gemm as MatMul + Add named "<gemm>_MatMul", so a kept
    # Gemm (a classifier on pooled features) must be excluded under that name too.
    keep_fp32 += [f"{n.name}_MatMul" for n in graph.node
                  if n.op_type == "Gemm" and n.name in keep_fp32]
    # ORT logs "Please consider to run pre-processing before quantization" on the root logger;
    # its pre-processing (shape inference, graph optimisation) is already done by our fused
    # fp32 export, so that one hint is dropped while quantize_dynamic runs.
    hint = _DropHint("pre-processing before quantization")
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(
            str(src), str(dst), weight_type=getattr(QuantType, settings["weight"]),
            op_types_to_quantize=["MatMul"], per_channel=settings["per_channel"],
            nodes_to_exclude=keep_fp32, extra_options={"MatMulConstBOnly": True},
        )
    finally:
        logging.getLogger().removeFilter(hint)
    set_onnx_metadata(dst, manifest)
    return dst


class _DropHint(logging.Filter):
    """Drops log records whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()
