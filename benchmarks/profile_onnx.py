"""Where WavLM's time goes: an operator-level profile of the exported ONNX graphs.

Runs ONNX Runtime's own profiler (``SessionOptions.enable_profiling``) on the fp32 and int8
exports of full-size WavLM base plus (random weights; built and exported by
``benchmarks/bench_audio.py``'s helpers and :func:`voicesafety.export.export`), one 15 s clip
at batch 1, and sums kernel time per part of the model by node name:

* ``conv encoder``: the 7 convolutions of the feature encoder (and their norms/GELUs);
* ``feature projection`` and ``positional conv``: the layers between encoder and transformer;
* ``attention``: Q/K/V/output projections, scores, softmax and WavLM's gated relative
  position bias;
* ``feed-forward``: the two dense layers and their activation;
* ``rest``: layer norms, quantisation of activations, head, reshapes, casts.

Each part's time is set against its FLOPs and this CPU's peak (fp32: cores × 2 FMA units ×
lanes × 2 × clock; an upper bound that assumes physical cores).

    python benchmarks/profile_onnx.py --out benchmarks/results/profile_onnx.md
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PARTS = ("conv encoder", "feature projection", "positional conv", "attention", "feed-forward",
         "rest")


def part_of(node: str) -> str:
    """The model part a node belongs to, from the module path in its name."""
    n = node.lower()
    if "feature_extractor" in n or "conv_layers" in n:
        return "conv encoder"
    if "feature_projection" in n:
        return "feature projection"
    if "pos_conv" in n:
        return "positional conv"
    if "/attention/" in n or "rel_attn" in n or "gru_rel" in n:
        return "attention"
    if "feed_forward" in n:
        return "feed-forward"
    return "rest"


def profile(model: Path, clip: np.ndarray, runs: int,
            threads: int) -> tuple[dict[str, float], dict[str, str], int]:
    """Median milliseconds per part over ``runs`` profiled runs (after one warm-up)."""
    import onnxruntime as ort

    from voicesafety.backends.onnx import session_options

    opts = session_options(threads)
    opts.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        opts.profile_file_prefix = str(Path(tmp) / "prof")
        sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        feeds = {"input_values": clip[None, :]}
        sess.run(None, feeds)
        for _ in range(runs):
            sess.run(None, feeds)
        trace = json.loads(Path(sess.end_profiling()).read_text())
    runs_at = sorted((ev["ts"], ev["ts"] + ev["dur"]) for ev in trace
                     if ev.get("cat") == "Session" and ev.get("name") == "model_run")
    per_run: list[collections.Counter] = [collections.Counter() for _ in runs_at]
    ops: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for ev in trace:
        if ev.get("cat") != "Node" or not ev["name"].endswith("_kernel_time"):
            continue
        k = next((i for i, (a, b) in enumerate(runs_at) if a <= ev["ts"] <= b), None)
        if k is None or k == 0:  # outside a run, or the warm-up
            continue
        part = part_of(ev["name"][: -len("_kernel_time")])
        per_run[k][part] += ev["dur"] / 1000
        ops[part][ev.get("args", {}).get("op_name", "?")] += ev["dur"] / 1000
    per_run = per_run[1:]  # drop the warm-up
    out = {p: statistics.median(r.get(p, 0.0) for r in per_run) for p in PARTS}
    top = {p: ", ".join(f"{op} {ms / (sum(ops[p].values()) or 1):.0%}"
                        for op, ms in ops[p].most_common(3)) for p in PARTS}
    return out, top, len(per_run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="/tmp/voicesafety-bench-audio/full")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import bench_audio

    from voicesafety.export import export, int8_scheme, quantize_int8

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    model = bench_audio.build_model(work / "wavlm-base-plus-random", quick=False)
    fp32 = work / "export-onnx" / "model.onnx"
    if not fp32.is_file():
        export(model, "onnx", fp32.parent)
    # The int8 graph is the library's scheme for this CPU applied to that fp32 graph, profiled
    # whether or not it passes the export parity check on this (random-weight) model.
    int8 = work / f"profile-int8-{int8_scheme()}.onnx"
    if not int8.is_file():
        quantize_int8(fp32, int8, None, {"int8_scheme": int8_scheme()})
    files = {"onnx": fp32, f"onnx-int8 ({int8_scheme()})": int8}
    seconds = 15.0
    clip = bench_audio.clips(1, seconds)[0]
    desc, mhz, lanes = bench_audio.machine()
    cores = os.cpu_count() or 1
    peak = cores * 2 * lanes * 2 * mhz / 1000  # GFLOP/s
    flops = bench_audio.flops_per_part(seconds)
    lines = [
        "# Where WavLM base plus spends its time (ONNX Runtime profiler, CPU)",
        "",
        f"- Command: `python {' '.join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])}`",
        f"- Machine: {desc}",
        f"- Date: {datetime.date.today().isoformat()}; load average at start "
        f"{os.getloadavg()[0]:.2f}; {args.threads} threads",
        f"- One {seconds:g} s clip at batch 1; kernel time per part, median over {args.runs} "
        "profiled runs after one warm-up. fp32 peak used: "
        f"{cores} cores × 2 FMA × {lanes} lanes × 2 × {mhz / 1000:.2f} GHz = {peak:.0f} GFLOP/s.",
        "",
    ]
    for backend, path in files.items():
        parts, top, n = profile(path, clip, args.runs, args.threads)
        total = sum(parts.values())
        lines += [f"## `{backend}` ({n} runs): {total:.0f} ms per clip, "
                  f"{total / seconds:.1f} ms per audio-second", "",
                  "| part | ms per clip | share | GFLOP | GFLOP/s | % of fp32 peak | top ops |",
                  "|---|---|---|---|---|---|---|"]
        for p in PARTS:
            ms = parts[p]
            gf = flops[p] / 1e9
            rate = gf / (ms / 1000) if ms and gf else 0.0
            lines.append(f"| {p} | {ms:.0f} | {ms / total:.0%} | {gf:.1f} | "
                         f"{rate:.0f} | {rate / peak:.0%} | {top[p]} |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
