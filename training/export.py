"""TorchScript / ONNX / int8-ONNX export of the mini models and parity checks.

Run: ``python -m training.export`` (checks the bundled models, prints max |delta| of sigmoid
scores between torch eager and each exported form).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voicesafety.models.arch import MiniAudioModel, load_mini

BUNDLE = Path(__file__).resolve().parents[1] / "voicesafety" / "models" / "mini"


def example_inputs(model: nn.Module, batch: int = 2, length: int = 16000) -> tuple:
    """Dummy inputs for tracing/export."""
    if isinstance(model, MiniAudioModel):
        g = torch.Generator().manual_seed(0)
        return (torch.randn(batch, length, generator=g) * 0.1,)
    ids = torch.randint(2, 200, (batch, 12))
    mask = torch.ones(batch, 12, dtype=torch.long)
    mask[1, 8:] = 0
    ids[1, 8:] = 0
    return ids, mask


def export_onnx(model: nn.Module, path: Path) -> Path:
    """Export to ONNX opset 17 with dynamic batch and time/sequence axes."""
    model.eval()
    if isinstance(model, MiniAudioModel):
        names, axes = ["input_values"], {"input_values": {0: "batch", 1: "time"}}
    else:
        names = ["input_ids", "attention_mask"]
        axes = {
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
        }
    axes["logits"] = {0: "batch"}
    torch.onnx.export(
        model,
        example_inputs(model),
        str(path),
        input_names=names,
        output_names=["logits"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    return path


def quantize_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantisation of MatMul/Gemm weights, keeping the audio front end in fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src)).graph
    exclude = [n.name for n in graph.node if "frontend" in n.name or n.name.startswith("/frontend")]
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gemm"],
        nodes_to_exclude=exclude,
    )
    return dst


def _feeds(model: nn.Module, inputs: tuple) -> dict[str, np.ndarray]:
    if isinstance(model, MiniAudioModel):
        return {"input_values": inputs[0].numpy()}
    return {"input_ids": inputs[0].numpy(), "attention_mask": inputs[1].numpy()}


def parity_inputs(model: nn.Module) -> list[tuple]:
    """Several shapes (batch and length) for parity checks."""
    if isinstance(model, MiniAudioModel):
        g = torch.Generator().manual_seed(1)
        return [(torch.randn(b, t, generator=g) * a,) for b, t, a in
                [(1, 400, 0.1), (3, 8000, 0.3), (2, 48000, 0.05), (1, 240000, 0.2)]]  # fmt: skip
    out = []
    for b, s in [(1, 3), (4, 17), (2, 64)]:
        ids = torch.randint(2, 200, (b, s))
        mask = torch.ones(b, s, dtype=torch.long)
        if b > 1:
            mask[-1, s // 2 :] = 0
            ids[-1, s // 2 :] = 0
        out.append((ids, mask))
    return out


def check_model(model: nn.Module, workdir: Path) -> dict[str, float]:
    """Max |delta sigmoid| of TorchScript, ONNX fp32 and ONNX int8 against eager torch."""
    import onnxruntime as ort

    model.eval()
    res: dict[str, float] = {}
    with torch.no_grad():
        traced = torch.jit.trace(model, example_inputs(model))
        onnx_path = export_onnx(model, workdir / "model.onnx")
        q_path = quantize_int8(onnx_path, workdir / "model.int8.onnx")
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        qsess = ort.InferenceSession(str(q_path), so, providers=["CPUExecutionProvider"])
        d_ts = d_onnx = d_q = 0.0
        for inputs in parity_inputs(model):
            ref = torch.sigmoid(model(*inputs)).numpy()
            ts = torch.sigmoid(traced(*inputs)).numpy()
            o = 1 / (1 + np.exp(-sess.run(None, _feeds(model, inputs))[0]))
            q = 1 / (1 + np.exp(-qsess.run(None, _feeds(model, inputs))[0]))
            d_ts = max(d_ts, float(np.abs(ref - ts).max()))
            d_onnx = max(d_onnx, float(np.abs(ref - o).max()))
            d_q = max(d_q, float(np.abs(ref - q).max()))
    res["torchscript_max_abs_diff"] = d_ts
    res["onnx_fp32_max_abs_diff"] = d_onnx
    res["onnx_int8_max_abs_diff"] = d_q
    res["onnx_fp32_mb"] = onnx_path.stat().st_size / 1e6
    res["onnx_int8_mb"] = q_path.stat().st_size / 1e6
    return res


def check_bundle(bundle: Path = BUNDLE) -> dict[str, dict[str, float]]:
    """Run :func:`check_model` on the audio and text models of a bundle."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("audio", "text"):
            model, _ = load_mini(bundle / kind)
            d = Path(tmp) / kind
            d.mkdir()
            out[kind] = check_model(model, d)
    return out


def main() -> None:
    """Print export parity figures for the bundled models."""
    torch.manual_seed(0)
    for kind, res in check_bundle().items():
        print(kind, {k: f"{v:.2e}" if "diff" in k else f"{v:.2f}" for k, v in res.items()})


if __name__ == "__main__":
    main()
