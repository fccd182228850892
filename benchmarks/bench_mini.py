"""Speed of the built-in mini audio model on ONE CPU thread (torch eager, TorchScript, ONNX).

The TorchScript and ONNX rows run the files written by the library's own exporter
(:func:`voicesafety.export.export`, as ``voicesafety export`` and the backends), so the int8
row uses the library's int8 scheme for this CPU and its fp32 exclusions.

Run: ``python benchmarks/bench_mini.py [--seconds 10 --repeats 20]``

``--text``: the text model instead — texts per second through ``score_text`` (torch backend,
one thread, batches of 64 chat-length texts), the shipped model against its first member alone
when it has several (same run, same texts), and the ratio.

Prints a markdown table with milliseconds of compute per second of audio and the real-time
factor (audio duration / compute time; higher is faster). ONNX rows need ``onnxruntime`` (and
``onnx`` for the int8 variant) and are skipped when it is missing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicesafety.models.arch import load_mini  # noqa: E402

BUNDLE = ROOT / "voicesafety" / "models" / "mini"


def _time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


TEXTS = [
    "gg wp that was a close one", "anyone wanna trade my dragon for your pet",
    "you are so bad at this game uninstall", "lol the lag is insane today",
    "meet me at the red base after this round", "stop stealing my kills noob",
    "what time does the event start", "i love this map so much",
]  # fmt: skip


def bench_text(bundle: Path, repeats: int) -> None:
    """Texts/s of the shipped text model vs its first member alone (see the module docstring)."""
    import voicesafety as vs
    from voicesafety.models.arch import MiniTextEnsemble, load_policy, save_mini, split_members

    folder = bundle / "text"
    model, config = load_mini(folder)
    batch = [TEXTS[i % len(TEXTS)] + f" {i}" for i in range(64)]
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        n = len(model.members) if isinstance(model, MiniTextEnsemble) else 1
        folders = {f"shipped ({n} member{'s' if n > 1 else ''})": folder}
        if isinstance(model, MiniTextEnsemble):
            save_mini(*split_members(model, config)[0], Path(tmp) / "one",
                      policy=load_policy(folder),
                      tokenizer=folder / "tokenizer.json")  # fmt: skip
            folders["its first member alone"] = Path(tmp) / "one"
        for name, path in folders.items():
            clf = vs.Classifier.from_pretrained(path, backend="torch", device="cpu")
            rows.append((name, _time(lambda c=clf: c.score_text(batch), repeats)))
    size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    print(f"mini text model ({size_mb:.1f} MB), batches of 64 texts, 1 CPU thread, "
          f"median of {repeats}\n")  # fmt: skip
    print("| model | ms per batch | texts/s | time vs the first row |")
    print("|---|---:|---:|---:|")
    for name, sec in rows:
        print(f"| {name} | {sec * 1000:.1f} | {64 / sec:.0f} | {sec / rows[0][1]:.2f} |")


def main() -> None:
    """Benchmark and print the markdown table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length (s)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--bundle", type=Path, default=BUNDLE)
    ap.add_argument("--text", action="store_true", help="the text model instead (see above)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if args.text:
        bench_text(args.bundle, args.repeats)
        return
    model, cfg = load_mini(args.bundle / "audio")
    sr = int(cfg.get("sample_rate", 16000))
    n = int(args.seconds * sr)
    x = (torch.randn(1, n, generator=torch.Generator().manual_seed(0)) * 0.1).float()
    rows: list[tuple[str, float]] = []

    with torch.inference_mode():
        rows.append(("torch eager (fp32)", _time(lambda: model(x), args.repeats)))
    # The other rows time the files the library's own exporter writes (`voicesafety export`,
    # what the torchscript / onnx / onnx-int8 backends run): same graph, same int8 scheme.
    from voicesafety.export import MANIFEST, MODEL_FILES, export

    def exported(backend: str) -> Path:
        export(args.bundle / "audio", backend, Path(tmp) / backend, log=None)
        return Path(tmp) / backend

    with tempfile.TemporaryDirectory() as tmp:
        traced = torch.jit.load(str(exported("torchscript") / MODEL_FILES["torchscript"]))
        with torch.inference_mode():
            rows.append(("TorchScript (fp32)", _time(lambda: traced(x), args.repeats)))
        try:
            import onnxruntime as ort
        except ImportError:
            print("(onnxruntime not installed: ONNX rows skipped)", file=sys.stderr)
        else:
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            feed = {"input_values": x.numpy().astype(np.float32)}
            for backend in ("onnx", "onnx-int8"):
                folder = exported(backend)
                manifest = json.loads((folder / MANIFEST).read_text())
                name = f"ONNX Runtime ({manifest.get('int8_scheme', 'fp32')})"
                path = str(folder / MODEL_FILES[backend])
                sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
                rows.append((name, _time(lambda s=sess: s.run(None, feed), args.repeats)))

    size_mb = {
        k: sum(f.stat().st_size for f in (args.bundle / k).iterdir()) / 1e6
        for k in ("audio", "text")
        if (args.bundle / k).exists()
    }
    print(f"mini audio model, {args.seconds:g} s clip, 1 CPU thread, median of {args.repeats}")
    print(f"bundle size on disk: {size_mb} MB (total {sum(size_mb.values()):.2f} MB)\n")
    print("| runtime | ms per audio-second | real-time factor (x) |")
    print("|---|---:|---:|")
    for name, sec in rows:
        ms_per_s = sec * 1000.0 / args.seconds
        print(f"| {name} | {ms_per_s:.2f} | {args.seconds / sec:.0f} |")


if __name__ == "__main__":
    main()
