"""Audio benchmark: the Roblox reference path against every voicesafety backend, on CPU.

Builds a full-size WavLM base plus classifier from its config (random weights, 6 labels; the
classifier head is scaled so scores spread over (0, 1) and flags mean something), then times
15-second clips at batch 1 and batch 8:

* ``reference``: Roblox ``inference.py`` style, transformers eager fp32
  ``model(input_values).logits`` + sigmoid on the raw checkpoint;
* each voicesafety backend through ``Classifier.score`` (conversion time reported apart).

Runs are interleaved: each of ``--rounds`` rounds runs every path once, in its own subprocess
(so peak RSS is per path and one path's memory never slows another), in a rotated order; each
run warms up at each batch size and then times it once. The table gives the median over the
rounds and the spread (min–max), and the ratio to the reference as the median of the per-round
ratios (reference and path timed minutes apart, not hours). Every process gets
``--threads`` threads (default: all logical cores), the reference too. Writes a markdown table
with the machine (CPU flags, cores), date, load averages and the exact command to
``benchmarks/results/`` and the raw timings next to it (``.json``). ``--quick`` runs a 2-layer
model on 3 s clips (smoke test). ``--variants`` also times int8 quantisation schemes on raw
ONNX Runtime sessions.

    python benchmarks/bench_audio.py                 # full run: 5 rounds
    python benchmarks/bench_audio.py --quick         # smoke test
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LABELS = ["Discrimination", "Harassment", "Sexual", "IllegalAndRegulated", "DatingAndRomantic",
          "Profanity"]
BACKENDS = ["torch", "torchscript", "onnx", "onnx-int8"]


# --------------------------------------------------------------------------- model and data


def build_model(folder: Path, quick: bool) -> Path:
    """Save a WavLM base plus (or, quick, a 2-layer one) with random weights to ``folder``."""
    import torch
    from transformers import WavLMConfig, WavLMForSequenceClassification

    if (folder / "config.json").is_file():
        return folder
    torch.manual_seed(0)
    extra = dict(num_hidden_layers=2) if quick else {}
    config = WavLMConfig(num_labels=6, id2label=dict(enumerate(LABELS)),
                         label2id={n: i for i, n in enumerate(LABELS)},
                         problem_type="multi_label_classification", **extra)
    model = WavLMForSequenceClassification(config).eval()
    with torch.no_grad():  # spread the random head's scores over (0, 1)
        model.classifier.weight.mul_(30.0)
    model.save_pretrained(folder)
    return folder


def clips(n: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    """Deterministic speech-like 16 kHz clips (harmonic tones with envelopes, plus noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    out = []
    for _ in range(n):
        f0 = rng.uniform(90, 260) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 6) * t))
        phase = 2 * np.pi * np.cumsum(f0) / 16000
        voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
        env = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(0.5, 3) * t + rng.uniform(0, 6)))
        x = voiced * env + rng.uniform(0.05, 0.5) * rng.standard_normal(t.size)
        out.append((x / np.abs(x).max() * rng.uniform(0.1, 0.8)).astype(np.float32))
    return out


# --------------------------------------------------------------------------- workers


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args: argparse.Namespace) -> dict:
    """Time one configuration in this process; returns a JSON-able dict."""
    import torch

    data = clips(args.n_clips, args.seconds)
    res: dict = {"what": args.worker, "load_before": os.getloadavg()}
    if args.worker == "reference":
        from transformers import WavLMForSequenceClassification

        torch.set_num_threads(args.threads)
        model = WavLMForSequenceClassification.from_pretrained(args.model).eval()

        def run(batch: list[np.ndarray]) -> np.ndarray:
            with torch.no_grad():
                logits = model(torch.from_numpy(np.stack(batch))).logits
            return torch.sigmoid(logits).numpy()
    elif args.worker.startswith("variant:"):
        import onnxruntime as ort

        from voicesafety.backends.onnx import session_options

        sess = ort.InferenceSession(args.worker.split(":", 1)[1], session_options(args.threads),
                                    providers=["CPUExecutionProvider"])

        def run(batch: list[np.ndarray]) -> np.ndarray:
            logits = sess.run(None, {"input_values": np.stack(batch)})[0]
            return 1 / (1 + np.exp(-logits))
    else:
        import voicesafety as vs

        torch.set_num_threads(args.threads)
        started = time.perf_counter()
        clf = vs.Classifier.from_pretrained(args.model, backend=args.worker, device="cpu")
        res["load_s"] = time.perf_counter() - started
        labels = clf.labels

        def run(batch: list[np.ndarray]) -> np.ndarray:
            out = clf.score(batch, batch_size=len(batch), progress=False)
            return np.array([[r.scores[label] for label in labels] for r in out])

    timings = {}
    for bs in args.batches:
        run(data[:bs])  # warm-up at this batch shape (ONNX Runtime grows its arena per shape)
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            run(data[:bs])
            times.append(time.perf_counter() - started)
        timings[str(bs)] = statistics.median(times)
    res["timings"] = timings
    res["scores"] = run(data[: max(args.batches)]).tolist()
    res["peak_rss_mb"] = _peak_rss_mb()
    res["load_after"] = os.getloadavg()
    return res


def spawn(what: str, args: argparse.Namespace, env: dict) -> dict:
    cmd = [sys.executable, __file__, "--worker", what, "--model", str(args.model),
           "--seconds", str(args.seconds), "--n-clips", str(args.n_clips),
           "--repeats", str(args.repeats), "--threads", str(args.threads),
           "--batches", *map(str, args.batches)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"error": " ".join(lines[-2:])[-600:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- variants


def make_variants(fp32: Path, out: Path) -> dict[str, Path]:
    """Int8 quantisation schemes tried (on the exported fp32 ONNX model).

    The first two are voicesafety's own (``voicesafety.export.quantize_int8`` with each entry
    of ``INT8_SCHEMES``); the rest are the alternatives measured against them.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from voicesafety import export as ex

    paths = {}
    for scheme in ex.INT8_SCHEMES:
        dst = out / f"variant-{scheme}.onnx"
        if not dst.is_file():
            ex.quantize_int8(fp32, dst, None, {"int8_scheme": scheme})
        here = " (picked on this CPU)" if scheme == ex.int8_scheme() else ""
        paths[f"voicesafety {scheme}{here}"] = dst
    head = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node
            if "projector" in n.name or "classifier" in n.name]
    schemes = {
        "dyn MatMul, s8 per-tensor": dict(op_types_to_quantize=["MatMul"],
                                          nodes_to_exclude=head),
        "dyn MatMul + Conv, s8 per-channel": dict(op_types_to_quantize=["MatMul", "Conv"],
                                                  per_channel=True, nodes_to_exclude=head),
        "dyn all ops (default quantize_dynamic)": dict(),
    }
    for i, (name, kw) in enumerate(schemes.items()):
        dst = out / f"variant{i}.onnx"
        if not dst.is_file():
            kw.setdefault("weight_type", QuantType.QInt8)
            quantize_dynamic(str(fp32), str(dst), extra_options={"MatMulConstBOnly": True}, **kw)
        paths[name] = dst
    return paths


# --------------------------------------------------------------------------- report


def machine() -> str:
    cpu = "unknown CPU"
    flags: set[str] = set()
    mhz = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("cpu MHz"):
                mhz = float(line.split(":", 1)[1])
    except OSError:
        pass
    simd = ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if f in flags)
    lanes = 16 if "avx512f" in flags else 8  # fp32 lanes per FMA
    import onnxruntime
    import torch
    import transformers

    return (f"{cpu}, {os.cpu_count()} logical cores, {mhz:.0f} MHz, SIMD: {simd}; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, transformers "
            f"{transformers.__version__}"), mhz, lanes


def flops_per_part(seconds: float, layers: int = 12, hidden: int = 768, ffn: int = 3072,
                   ) -> dict[str, float]:
    """Multiply-add FLOPs (×2) of each part of WavLM base plus on one clip of ``seconds``
    (``benchmarks/profile_onnx.py`` sets its profile against these)."""
    n = int(seconds * 16000)
    conv = 0.0
    c_in = 1
    for k, s in zip([10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2], strict=True):
        n = (n - k) // s + 1
        conv += 2 * n * 512 * c_in * k
        c_in = 512
    t = n
    return {
        "conv encoder": conv,
        "feature projection": 2 * t * 512 * hidden,
        "positional conv": 2 * t * hidden * (hidden // 16) * 128,
        "attention": layers * (2 * t * 4 * hidden * hidden + 4 * t * t * hidden),
        "feed-forward": layers * 2 * t * 2 * hidden * ffn,
        "rest": 0.0,
    }


def wavlm_gflops(seconds: float, layers: int = 12) -> tuple[float, float]:
    """``(total, conv encoder)`` GFLOP of WavLM base plus on one clip of ``seconds``."""
    parts = flops_per_part(seconds, layers=layers)
    return sum(parts.values()) / 1e9, parts["conv encoder"] / 1e9


def _rounds(paths: list[str], args: argparse.Namespace, env: dict) -> dict[str, list[dict]]:
    """Every path once per round, each in its own process, in a rotated order per round."""
    runs: dict[str, list[dict]] = {p: [] for p in paths}
    for k in range(args.rounds):
        order = paths[k % len(paths):] + paths[: k % len(paths)]
        for path in order:
            r = spawn(path, args, env)
            runs[path].append(r)
            print(f"round {k + 1}/{args.rounds} {path}: "
                  f"{r.get('error') or r['timings']} (loadavg {os.getloadavg()[0]:.2f})",
                  flush=True)
    return runs


def summarise(runs: dict[str, list[dict]], batches: list[int], seconds: float,
              ref: str = "reference") -> dict[str, dict]:
    """Per path: median and min/max ms per audio-second per batch, and the median (min, max)
    of the per-round ratios to the reference."""
    out: dict[str, dict] = {}
    for path, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            out[path] = {"error": rs[0]["error"]}
            continue
        entry: dict = {"n": len(ok), "scores": ok[-1]["scores"],
                       "peak_rss_mb": max(r["peak_rss_mb"] for r in ok),
                       "load": [r["load_before"][0] for r in ok], "batches": {}}
        if "load_s" in ok[0]:
            entry["load_s"] = statistics.median(r["load_s"] for r in ok)
        for bs in batches:
            ms = [1000 * r["timings"][str(bs)] / (bs * seconds) for r in ok]
            ratios = [rr["timings"][str(bs)] / r["timings"][str(bs)]
                      for r, rr in zip(rs, runs[ref], strict=True)
                      if "error" not in r and "error" not in rr]
            entry["batches"][bs] = {
                "ms": statistics.median(ms), "ms_min": min(ms), "ms_max": max(ms),
                "ratio": statistics.median(ratios), "ratio_min": min(ratios),
                "ratio_max": max(ratios)}
        out[path] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-layer model, 3 s clips")
    parser.add_argument("--variants", action="store_true", help="also time int8 schemes")
    parser.add_argument("--workdir", default="/tmp/voicesafety-bench-audio")
    parser.add_argument("--out", default=None, help="markdown file (default benchmarks/results/"
                        "audio.md, or audio_quick.md with --quick); raw timings go next to it")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds; the table gives the median over them")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed runs per batch size inside one round (median)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for every path (default: all logical cores)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--backends", nargs="+", default=BACKENDS)
    parser.add_argument("--variant-batches", type=int, nargs="+", default=[1],
                        help="batch sizes for --variants (default 1)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-clips", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    command = "python " + " ".join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    work = Path(args.workdir) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    args.model = build_model(work / "wavlm-base-plus-random", args.quick)
    args.seconds = 3.0 if args.quick else 15.0
    args.n_clips = max(args.batches)
    env = dict(os.environ, VOICESAFETY_CACHE=str(work / "cache"),
               VOICESAFETY_THREADS=str(args.threads))
    if args.quick:
        args.rounds = min(args.rounds, 2)
    load0 = os.getloadavg()
    # Convert once before timing (the cache then serves every round); report what it cost.
    conversion: dict[str, str] = {}
    for backend in args.backends:
        if backend != "torch":
            r = spawn(backend, argparse.Namespace(**{**vars(args), "batches": [1],
                                                     "repeats": 1}), env)
            conversion[backend] = (r["error"] if "error" in r else f"{r['load_s']:.0f} s")
            print(f"{backend}: first load (conversion) {conversion[backend]}", flush=True)
    # a backend whose conversion failed (e.g. refused by the parity check) is not timed
    failed = {b: {"error": conversion[b]} for b in args.backends
              if b in conversion and not conversion[b].endswith(" s")}
    paths = ["reference", *(b for b in args.backends if b not in failed)]
    raw = _rounds(paths, args, env)
    summary = summarise(raw, args.batches, args.seconds)
    summary.update(failed)
    variants: dict[str, dict] = {}
    if args.variants:
        fp32 = next((work / "cache" / "exports").glob("onnx-*/model.onnx"))
        vargs = argparse.Namespace(**{**vars(args), "batches": args.variant_batches})
        vpaths = {f"variant:{path}": name for name, path in make_variants(fp32, work).items()}
        vraw = _rounds(["reference", *vpaths], vargs, env)
        vsum = summarise(vraw, args.variant_batches, args.seconds)
        variants = {vpaths[k]: v for k, v in vsum.items() if k in vpaths}
        raw.update({k: v for k, v in vraw.items() if k != "reference"})

    ref_scores = np.array(summary["reference"]["scores"])

    def row(name: str, r: dict, batches: list[int]) -> list[str]:
        if "error" in r:
            return [name, f"not run: {r['error']}"] + [""] * (3 * len(batches) + 2)
        scores = np.array(r["scores"])
        base = ref_scores[: len(scores)]
        diff = float(np.abs(scores - base).max())
        agree = float(np.mean(np.all((scores >= 0.5) == (base >= 0.5), axis=1)))
        cells = [name]
        for bs in batches:
            b = r["batches"][bs]
            cells += [f"{b['ms']:.1f} ({b['ms_min']:.1f}–{b['ms_max']:.1f})",
                      f"{1000 / b['ms']:.1f}",
                      f"{b['ratio']:.2f}× ({b['ratio_min']:.2f}–{b['ratio_max']:.2f})"]
        cells += [f"{r['peak_rss_mb']:.0f}", f"{diff:.1e}", f"{agree:.0%} of {len(scores)}"]
        return cells

    def table(batches: list[int]) -> list[str]:
        header = ["path"]
        for bs in batches:
            header += [f"b{bs} ms/audio-s median (min–max)", f"b{bs} RTF",
                       f"b{bs} vs ref median (min–max)"]
        header += ["peak RSS MB", "max abs Δscore", "flags same"]
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    lines = table(args.batches)
    lines.append("| " + " | ".join(row("reference (transformers eager fp32)",
                                       summary["reference"], args.batches)) + " |")
    for backend in args.backends:
        lines.append("| " + " | ".join(row(f"voicesafety `{backend}`", summary[backend],
                                           args.batches)) + " |")
    vlines = []
    if variants:
        vlines = table(args.variant_batches)
        for name, r in variants.items():
            vlines.append("| " + " | ".join(row(f"raw ORT: {name}", r,
                                                args.variant_batches)) + " |")

    desc, mhz, lanes = machine()
    layers = 2 if args.quick else 12
    gflops, conv = wavlm_gflops(1.0, layers=layers)
    per_cycle = 2 * lanes * 2  # 2 FMA units x lanes x 2 flops
    peak = (os.cpu_count() or 1) * per_cycle * mhz / 1000
    passed = [b for b in args.backends if "error" not in summary[b]]
    best, best_bs = min(((b, bs) for b in passed for bs in args.batches),
                        key=lambda k: summary[k[0]]["batches"][k[1]]["ms"])
    best_b = summary[best]["batches"][best_bs]
    loads = [x for p in paths for x in summary[p].get("load", [])]
    text = [
        f"# Audio benchmark{' (quick)' if args.quick else ''}: WavLM base plus "
        f"({layers} layers, random weights, 6 labels), {args.seconds:g} s clips, CPU",
        "",
        f"- Command: `{command}`",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {desc}",
        f"- Threads: {args.threads} for every path (reference included). Load average at start "
        f"{load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}; before each run "
        f"{min(loads):.2f}–{max(loads):.2f} (1 min). The machine may be shared: absolute times "
        "are noisy, ratios come from the same round.",
        f"- Timings: {args.rounds} interleaved rounds, each path in its own process per round "
        f"(order rotated), one warm-up then {args.repeats} timed run(s) per batch size; table: "
        "median over rounds (min–max); ratio = median of per-round ratios to the reference. "
        "RTF = audio seconds per wall second. Flags at threshold 0.5.",
        "- First load (conversion to the backend, with its parity check, then cached): "
        + ", ".join(f"`{k}` {v}" for k, v in conversion.items()),
        "",
        *lines,
        "",
        f"Model cost: {gflops:.1f} GFLOP per audio-second ({conv:.1f} in the convolutional "
        f"feature encoder). fp32 peak of this CPU (an upper bound: it assumes full-width "
        f"FMA units and that the {os.cpu_count()} logical cores are physical ones): "
        f"{os.cpu_count()} × {per_cycle} FLOP/cycle (2 FMA × {lanes} lanes × 2) × "
        f"{mhz / 1000:.2f} GHz ≈ {peak:.0f} GFLOP/s, i.e. {1000 * gflops / peak:.1f} ms per "
        f"audio-second at 100 % fp32 peak. Fastest backend that passed its export check "
        f"(`{best}`, batch {best_bs}): {best_b['ms']:.1f} ms per audio-second = "
        f"{gflops / (best_b['ms'] / 1000):.0f} effective GFLOP/s "
        f"({gflops / (best_b['ms'] / 1000) / peak:.0%} of that peak), "
        f"{best_b['ratio']:.2f}× the reference at the same batch.",
    ]
    if vlines:
        text += ["", "## Int8 schemes tried (raw ONNX Runtime sessions, same clips)", "",
                 *vlines]
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / (
        "audio_quick.md" if args.quick else "audio.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(text) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(
        {"command": command, "machine": desc, "raw": raw}, indent=1), encoding="utf-8")
    print("\n".join(text))
    print(f"\nwritten to {out} (raw: {out.with_suffix('.json').name})")


if __name__ == "__main__":
    main()
