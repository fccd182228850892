"""Text throughput: transformers pipeline (one text at a time) vs voicesafety backends.

Builds a full-size RoBERTa-base classifier from ``RobertaConfig()`` defaults (random weights,
vocab 50265) and a byte-level BPE tokenizer trained here on generated text, then scores the
same texts (5-120 tokens, mixed) with:

* ``transformers.pipeline("text-classification")`` called once per text (the seed notebook),
* voicesafety's torch backend (length-sorted batches),
* voicesafety's ONNX backends (``onnx``, ``onnx-int8``) when they are available.

Every contender runs in this one process with the same torch/ORT thread count
(``$VOICESAFETY_THREADS``, default all logical cores), timed in interleaved rounds; the table
gives throughput over all rounds and the median (min–max) of per-round ratios.

    python benchmarks/bench_text.py            # 2,000 texts
    python benchmarks/bench_text.py --quick    # 200 texts, for a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "text.md"

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "be", "gra", "zu", "fen", "dor",
             "vik", "sa", "tel", "om", "qua", "yi", "bro", "ch", "ex", "ly", "ing", "un"]
COMMON = ["you", "are", "the", "a", "and", "gg", "noob", "nice", "shot", "team", "play", "game",
          "trash", "idiot", "thanks", "lol", "bro", "why", "so", "bad", "good", "win", "lose"]


def make_words(rng: random.Random, n: int) -> list[str]:
    """A synthetic vocabulary: common chat words plus many made-up words."""
    words = set(COMMON)
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def sentence(rng: random.Random, words: list[str], n_words: int) -> str:
    out = []
    for _ in range(n_words):
        w = rng.choice(COMMON) if rng.random() < 0.4 else rng.choice(words)
        out.append(w.capitalize() if rng.random() < 0.1 else w)
        if rng.random() < 0.08:
            out[-1] += rng.choice([",", ".", "!", "?"])
    return " ".join(out)


def build_model(folder: Path, seed: int = 0) -> None:
    """RoBERTa-base (RobertaConfig() defaults) with random weights + a trained BPE tokenizer."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import (
        PreTrainedTokenizerFast,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    rng = random.Random(seed)
    words = make_words(rng, 20_000)
    corpus = [sentence(rng, words, rng.randint(3, 60)) for _ in range(20_000)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=50_265, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    from tokenizers import processors

    bpe.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>",
                                  eos_token="</s>", sep_token="</s>", cls_token="<s>",
                                  pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
                                  model_max_length=512)
    torch.manual_seed(seed)
    config = RobertaConfig(num_labels=2, id2label={0: "neutral", 1: "toxic"},
                           label2id={"neutral": 0, "toxic": 1})
    assert config.vocab_size == 50_265 and config.hidden_size == 768
    model = RobertaForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)


def make_texts(folder: Path, n: int, seed: int = 1) -> tuple[list[str], np.ndarray]:
    """``n`` texts whose token counts (special tokens included) spread over 5-120."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    rng = random.Random(seed)
    words = make_words(random.Random(0), 20_000)
    texts, lengths = [], []
    while len(texts) < n:
        target = rng.randint(5, 120)
        text = sentence(rng, words, target)
        ids = tok(text)["input_ids"]
        while len(ids) > target and " " in text:
            text = text.rsplit(" ", 1)[0]
            ids = tok(text)["input_ids"]
        if 5 <= len(ids) <= 120:
            texts.append(text)
            lengths.append(len(ids))
    return texts, np.asarray(lengths)


def timed(fn, texts: list[str]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(texts)
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 texts instead of 2,000")
    parser.add_argument("--n", type=int, default=None, help="number of texts")
    parser.add_argument("--batch-sizes", default="default",
                        help="comma-separated voicesafety batch sizes to time per backend; "
                             "'default' = the library's default on CPU (8)")
    parser.add_argument("--backends", default="torch,onnx,onnx-int8,auto",
                        help="comma-separated voicesafety backends to time "
                             "(torch, torchscript, onnx, onnx-int8, auto)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="interleaved timing rounds (every runner scores each chunk)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="reuse/keep the built model here (default: a temp folder)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="raw results file")
    args = parser.parse_args(argv)
    n = args.n or (200 if args.quick else 2000)
    # every runner gets all cores (voicesafety's default would leave busy cores to others)
    os.environ.setdefault("VOICESAFETY_THREADS", str(os.cpu_count() or 1))
    torch.set_num_threads(int(os.environ["VOICESAFETY_THREADS"]))

    import transformers
    from transformers import pipeline

    import voicesafety as vs
    from voicesafety.errors import BackendError

    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    tmp = None
    folder = args.model_dir
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_text_")
        folder = Path(tmp.name) / "roberta-base-random"
    if not (folder / "config.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        build_model(folder)
        print(f"built model in {time.perf_counter() - t0:.1f}s", flush=True)
    texts, lengths = make_texts(folder, n)

    load_start = os.getloadavg()
    say(f"# bench_text ({n} texts{', --quick' if args.quick else ''})")
    say()
    say(f"- command: `python benchmarks/bench_text.py {' '.join(argv or sys.argv[1:])}`".rstrip())
    say(f"- date: {time.strftime('%Y-%m-%d %H:%M:%S')}")
    flags = next((ln.split(":", 1)[1].split() for ln in
                  Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), [])
    cpu = next((ln.split(":", 1)[1].strip() for ln in
                Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")),
               platform.processor())
    simd = ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni",
                                 "avx512_bf16", "amx_tile") if f in flags)
    say(f"- machine: {cpu}, {os.cpu_count()} logical cores, SIMD: {simd}; "
        f"{platform.platform()}; torch threads {torch.get_num_threads()}")
    say(f"- versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, voicesafety {vs.__version__}")
    say("- model: RobertaForSequenceClassification(RobertaConfig()) — 12 layers, hidden 768, "
        "vocab 50265, random weights, fp32; byte-level BPE tokenizer trained on generated text")
    say(f"- texts: {n}, tokens per text min {lengths.min()} / mean {lengths.mean():.1f} / "
        f"max {lengths.max()}; voicesafety batch sizes {args.batch_sizes}; timed in "
        f"{args.rounds} interleaved rounds (same load for every runner)")
    say(f"- load average at start (1/5/15 min): {load_start[0]:.2f} / {load_start[1]:.2f} / "
        f"{load_start[2]:.2f}")
    say()

    # All runners are loaded first, then timed in interleaved rounds (each round scores the
    # next chunk of texts with every runner, in rotating order), so that a shared machine's
    # changing load hits every runner alike.
    pipe = pipeline("text-classification", model=str(folder), tokenizer=str(folder), device=-1)

    def run_pipe(items: list[str]) -> list[float]:
        out = [pipe(text) for text in items]  # one text at a time, as the seed notebook did
        out = [o[0] if isinstance(o, list) else o for o in out]
        return [d["score"] if d["label"] == "toxic" else 1 - d["score"] for d in out]

    runners: list[tuple[str, object, str]] = [
        ("transformers pipeline, one text per call", run_pipe, "fp32")
    ]
    notes: list[str] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        precision = "int8 dynamic" if backend == "onnx-int8" else "fp32"
        try:
            t0 = time.perf_counter()
            clf = vs.Classifier.from_pretrained(folder, backend=backend, device="cpu")
            load_s = time.perf_counter() - t0
            if backend == "auto":
                backend = f"auto → {clf.backend}"
                precision = "int8 dynamic" if clf.backend == "onnx-int8" else "fp32"
        except BackendError as exc:
            notes.append(f"- {backend}: not available ({exc})")
            print(f"{backend}: not available", flush=True)
            continue

        for size in [b.strip() for b in args.batch_sizes.split(",") if b.strip()]:
            bs = None if size == "default" else int(size)

            def run_vs(items: list[str], c: object = clf, bs: int | None = bs) -> list[float]:
                return [r.toxicity for r in c.score_text(items, batch_size=bs)]

            label = "default batch" if bs is None else f"batch {bs}"
            runners.append((f"voicesafety `{backend}` backend, {label} (load/convert "
                            f"{load_s:.0f}s)", run_vs, precision))
    for _, fn, _ in runners:  # warm-up
        fn(texts[:8])

    rounds = max(1, min(args.rounds, n // 8))
    chunks = [texts[i::rounds] for i in range(rounds)]
    seconds = [0.0] * len(runners)
    per_round = [[0.0] * rounds for _ in runners]
    outputs: list[dict[int, list[float]]] = [{} for _ in runners]
    for r, chunk in enumerate(chunks):
        order = list(range(len(runners)))
        order = order[r % len(order):] + order[: r % len(order)]
        for k in order:
            secs, out = timed(runners[k][1], chunk)
            seconds[k] += secs
            per_round[k][r] = secs
            outputs[k][r] = out
        done = sum(len(c) for c in chunks[: r + 1])
        print(f"round {r + 1}/{rounds}: " + ", ".join(
            f"{runners[k][0].split(' (')[0]} {done / seconds[k]:.1f}"
            for k in range(len(runners))) + " texts/s", flush=True)

    def flat(k: int) -> np.ndarray:
        return np.concatenate([outputs[k][r] for r in range(rounds)])

    ref = flat(0)
    say("| runner | texts/s (all rounds) | per-round texts/s median (min–max) | × pipeline, "
        "median of per-round ratios (min–max) | notes |")
    say("|---|---:|---|---|---|")
    for k, (name, _, precision) in enumerate(runners):
        note = precision
        if k:
            same = np.mean((flat(k) >= 0.5) == (ref >= 0.5))
            note += (f"; max |Δ toxicity| vs pipeline {np.abs(flat(k) - ref).max():.1e}; "
                     f"flags same {same:.2%}")
        tps = [len(chunks[r]) / per_round[k][r] for r in range(rounds)]
        ratios = [per_round[0][r] / per_round[k][r] for r in range(rounds)]
        say(f"| {name} | {n / seconds[k]:.1f} | {np.median(tps):.1f} ({min(tps):.1f}–"
            f"{max(tps):.1f}) | {np.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) "
            f"| {note} |")
    say()
    load_end = os.getloadavg()
    say(f"- load average at end (1/5/15 min): {load_end[0]:.2f} / {load_end[1]:.2f} / "
        f"{load_end[2]:.2f}")
    for note in notes:
        say(note)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
