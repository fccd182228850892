"""GPU benchmark: WavLM base plus (audio) and RoBERTa-base (text) on CUDA, batch 1-32.

The same full-size architectures as ``bench_audio.py`` and ``bench_text.py`` (random weights),
on one CUDA device, in one process, in interleaved rounds (each round runs every path once, in a
rotated order; the table gives the median over rounds, the spread, and the median of the
per-round ratios to the reference). Each call is timed end to end (host arrays in, scores back on
the host, ``torch.cuda.synchronize`` before the clock stops) after one warm-up call per shape.

Audio (15-second clips, 16 kHz):

* ``reference fp32``: Roblox ``inference.py`` style, transformers eager,
  ``sigmoid(model(input_values).logits)``;
* ``reference fp16 by hand``: the same model after ``model.half()``;
* ``voicesafety torch`` at ``precision`` float32 / float16 / bfloat16 (``Classifier.score``);
* ``voicesafety onnx`` on ONNX Runtime's CUDAExecutionProvider, when that provider exists.

Text (texts of 5-120 tokens): the ``transformers`` pipeline one text at a time (reference) and
voicesafety's torch backend at each precision and batch size (``score_text``).

Scores of every path are compared with the reference fp32 ones (max |difference|, flags at 0.5).

    python benchmarks/bench_gpu.py --out-dir benchmarks/results      # on a CUDA machine
    python benchmarks/bench_gpu.py --quick --device cpu              # smoke test of the code
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_audio  # noqa: E402  (benchmarks/ is not a package)
import bench_text  # noqa: E402

PRECISIONS = ("float32", "float16", "bfloat16")


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_call(fn: Callable[[], object], device: str, repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --------------------------------------------------------------------------- audio


def audio_paths(model_dir: Path, device: str,
                ) -> dict[str, Callable[[list[np.ndarray]], np.ndarray]]:
    """name -> ``run(clips) -> scores [n, labels]`` for every audio path that loads here."""
    from transformers import WavLMForSequenceClassification

    import voicesafety as vs

    paths: dict[str, Callable[[list[np.ndarray]], np.ndarray]] = {}
    ref = WavLMForSequenceClassification.from_pretrained(model_dir).eval().to(device)

    def reference(batch: list[np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(np.stack(batch)).to(device)
            return torch.sigmoid(ref(x).logits).cpu().numpy()

    paths["reference fp32"] = reference
    if device.startswith("cuda"):
        half = WavLMForSequenceClassification.from_pretrained(model_dir).eval().to(device).half()

        def reference_half(batch: list[np.ndarray]) -> np.ndarray:
            with torch.no_grad():
                x = torch.from_numpy(np.stack(batch)).to(device).half()
                return torch.sigmoid(half(x).logits.float()).cpu().numpy()

        paths["reference fp16 by hand"] = reference_half
    for precision in PRECISIONS if device.startswith("cuda") else ("float32",):
        clf = vs.Classifier.from_pretrained(model_dir, backend="torch", device=device,
                                            precision=precision)
        paths[f"voicesafety torch {precision}"] = _library_audio(clf)
    try:
        clf = vs.Classifier.from_pretrained(model_dir, backend="onnx", device=device)
        paths["voicesafety onnx"] = _library_audio(clf)
    except vs.VoiceSafetyError as exc:
        print(f"voicesafety onnx on {device}: not run: {str(exc).splitlines()[0]}", flush=True)
    return paths


def _library_audio(clf: object) -> Callable[[list[np.ndarray]], np.ndarray]:
    labels = clf.labels  # type: ignore[attr-defined]

    def run(batch: list[np.ndarray]) -> np.ndarray:
        out = clf.score(batch, batch_size=len(batch), progress=False)  # type: ignore[attr-defined]
        return np.array([[r.scores[label] for label in labels] for r in out])

    return run


# --------------------------------------------------------------------------- text


def text_paths(model_dir: Path, device: str, batches: list[int],
               ) -> dict[str, Callable[[list[str]], np.ndarray]]:
    """name -> ``run(texts) -> toxic score [n]``."""
    from transformers import pipeline

    import voicesafety as vs

    pipe = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir),
                    device=torch.device(device), top_k=None, truncation=True)

    def reference(texts: list[str]) -> np.ndarray:
        out = [pipe(t) for t in texts]  # one text at a time, as the seed notebook does
        return np.array([next(d["score"] for d in o[0] if d["label"] == "toxic")
                         if isinstance(o[0], list) else
                         next(d["score"] for d in o if d["label"] == "toxic") for o in out])

    paths: dict[str, Callable[[list[str]], np.ndarray]] = {"pipeline fp32, one text at a time":
                                                          reference}
    for precision in PRECISIONS if device.startswith("cuda") else ("float32",):
        clf = vs.Classifier.from_pretrained(model_dir, backend="torch", device=device,
                                            precision=precision)
        for bs in batches:
            def run(texts: list[str], clf: object = clf, bs: int = bs) -> np.ndarray:
                out = clf.score_text(texts, batch_size=bs, progress=False)  # type: ignore
                return np.array([r.scores["toxic"] for r in out])

            paths[f"voicesafety torch {precision}, batch {bs}"] = run
    return paths


# --------------------------------------------------------------------------- rounds


def rounds(paths: dict[str, Callable], n_rounds: int, calls: dict[str, Callable[[], object]],
           device: str, repeats: int) -> dict[str, list[float]]:
    """``calls[key]`` timed once per round for every key, keys in a rotated order per round."""
    keys = list(calls)
    out: dict[str, list[float]] = {k: [] for k in keys}
    for r in range(n_rounds):
        order = keys[r % len(keys):] + keys[: r % len(keys)]
        for key in order:
            out[key].append(time_call(calls[key], device, repeats))
        print(f"round {r + 1}/{n_rounds} done", flush=True)
    return out


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def machine(device: str) -> str:
    import onnxruntime
    import transformers

    gpu = torch.cuda.get_device_name() if device.startswith("cuda") else "no GPU"
    cpu = platform.processor() or "cpu"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (f"{gpu}; {cpu}, {os.cpu_count()} logical cores; torch {torch.__version__} "
            f"(CUDA {torch.version.cuda}), transformers {transformers.__version__}, onnxruntime "
            f"{onnxruntime.__version__} (providers: "
            f"{', '.join(onnxruntime.get_available_providers())})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="2-layer WavLM, 3 s clips, "
                        "tiny text model, 2 rounds (smoke test)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement "
                        "(their median); the round's figure")
    parser.add_argument("--audio-batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--text-batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--n-texts", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    parser.add_argument("--skip-text", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.n_texts = 2, 3.0, 32
        args.audio_batches, args.text_batches = [1, 2], [1, 8]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vs-bench-gpu-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    now = datetime.datetime.now(datetime.timezone.utc)
    report: dict = {"machine": machine(args.device), "command": "python " + " ".join(sys.argv),
                    "date": now.isoformat(timespec="seconds"), "rounds": args.rounds,
                    "repeats": args.repeats}
    print(report["machine"], flush=True)

    # audio
    wavlm = bench_audio.build_model(work / "wavlm", args.quick)
    data = bench_audio.clips(max(args.audio_batches), args.seconds)
    apaths = audio_paths(wavlm, args.device)
    calls = {f"{name}|{bs}": (lambda fn=fn, bs=bs: fn(data[:bs]))
             for name, fn in apaths.items() for bs in args.audio_batches}
    timings = rounds(apaths, args.rounds, calls, args.device, args.repeats)
    want = apaths["reference fp32"](data)
    audio: dict = {}
    for name, fn in apaths.items():
        got = fn(data)
        entry: dict = {"max_abs_diff": float(np.abs(got - want).max()),
                       "flag_agreement": float(((got >= 0.5) == (want >= 0.5)).mean()),
                       "batches": {}}
        for bs in args.audio_batches:
            ref = timings[f"reference fp32|{bs}"]
            mine = timings[f"{name}|{bs}"]
            entry["batches"][bs] = {
                "ms_per_audio_s": spread([1000 * t / (bs * args.seconds) for t in mine]),
                "ratio": spread([a / b for a, b in zip(ref, mine, strict=True)])}
        audio[name] = entry
    report["audio"] = audio
    save(report, args)  # the audio table survives a text part that runs out of time

    # text
    if not args.skip_text:
        roberta = work / "roberta"
        if not (roberta / "config.json").is_file():
            if args.quick:
                from transformers import RobertaConfig

                bench_text.build_model(roberta)  # tokenizer; the tiny model replaces it
                from transformers import RobertaForSequenceClassification

                cfg = RobertaConfig(num_labels=2, id2label={0: "neutral", 1: "toxic"},
                                    label2id={"neutral": 0, "toxic": 1}, num_hidden_layers=2,
                                    hidden_size=64, intermediate_size=128,
                                    num_attention_heads=2)
                RobertaForSequenceClassification(cfg).save_pretrained(roberta)
            else:
                bench_text.build_model(roberta)
        texts, lengths = bench_text.make_texts(roberta, args.n_texts)
        tpaths = text_paths(roberta, args.device, args.text_batches)
        tcalls = {name: (lambda fn=fn: fn(texts)) for name, fn in tpaths.items()}
        ttimes = rounds(tpaths, args.rounds, tcalls, args.device, 1)
        ref_name = "pipeline fp32, one text at a time"
        twant = tpaths[ref_name](texts)
        text: dict = {"n_texts": len(texts), "mean_tokens": float(lengths.mean())}
        for name, fn in tpaths.items():
            got = fn(texts)
            text[name] = {
                "texts_per_s": spread([len(texts) / t for t in ttimes[name]]),
                "ratio": spread([a / b for a, b in zip(ttimes[ref_name], ttimes[name],
                                                      strict=True)]),
                "max_abs_diff": float(np.abs(got - twant).max()),
                "flag_agreement": float(((got >= 0.5) == (twant >= 0.5)).mean())}
        report["text"] = text
    report["wall_s"] = time.time() - started
    save(report, args)
    print(markdown(report, args))
    return 0


def save(report: dict, args: argparse.Namespace) -> None:
    """Write ``gpu.json`` (raw) and ``gpu.md`` (the table) to ``--out-dir``."""
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "gpu.json").write_text(json.dumps(report, indent=1))
    (args.out_dir / "gpu.md").write_text(markdown(report, args))


def markdown(report: dict, args: argparse.Namespace) -> str:
    lines = [f"# GPU benchmark ({report['date']})", "",
             f"Machine: {report['machine']}", "", f"Command: `{report['command']}`", "",
             f"{report['rounds']} interleaved rounds; each figure is the median over rounds "
             f"(min-max in brackets) of the median of {report['repeats']} timed calls after a "
             "warm-up; ratios are medians of per-round ratios to the reference fp32 path. "
             "Random-weight full-size models; score differences are against the reference fp32.",
             "", f"## Audio: WavLM base plus, {args.seconds:g}-second clips, ms per audio-second",
             "", "| path | " + " | ".join(f"batch {b}" for b in args.audio_batches)
             + " | max abs diff | flags agree |",
             "|---|" + "---|" * (len(args.audio_batches) + 2)]
    for name, e in report["audio"].items():
        cells = []
        for b in args.audio_batches:
            m, r = e["batches"][b]["ms_per_audio_s"], e["batches"][b]["ratio"]
            cells.append(f"{m['median']:.2f} ({m['min']:.2f}-{m['max']:.2f}), "
                         f"{r['median']:.2f}x")
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {e['max_abs_diff']:.1e} | {100 * e['flag_agreement']:.1f} % |")
    if "text" in report:
        t = report["text"]
        lines += ["", f"## Text: RoBERTa-base, {t['n_texts']} texts (mean {t['mean_tokens']:.0f} "
                  "tokens), texts per second", "",
                  "| path | texts/s | ratio to pipeline | max abs diff | flags agree |",
                  "|---|---|---|---|---|"]
        for name, e in t.items():
            if not isinstance(e, dict):
                continue
            s, r = e["texts_per_s"], e["ratio"]
            lines.append(f"| {name} | {s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f}) | "
                         f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f}) | "
                         f"{e['max_abs_diff']:.1e} | {100 * e['flag_agreement']:.1f} % |")
    if "wall_s" in report:
        lines += ["", f"Wall time: {report['wall_s']:.0f} s", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
