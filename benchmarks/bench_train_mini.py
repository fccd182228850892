"""Stage timings of ``make train-mini`` (``training/train_mini.py``) on a slice of the real data
path, to estimate the full run and to compare speed-ups: the recipe's own functions on fewer
items, same voices, augmentations, model and losses.

    python benchmarks/bench_train_mini.py synth [--n 200]     # espeak-ng, Piper, recordings
    python benchmarks/bench_train_mini.py audio [--repeats 3]  # features + audio training steps
    python benchmarks/bench_train_mini.py text [--repeats 3]   # text training steps

``synth`` also caches its clips (``--cache``, default ``/tmp/bench_train_mini.pkl``) for
``audio``, which trains one epoch over them (every length bucket once) and reports seconds
per step. ``text`` trains the text model for one epoch on the recipe's mix of rows
(synthetic / real / benign-only sample) at a fifth of its size and reports seconds. Both
run each ``--variants`` (``base``: the code before the speed-ups, ``fast``: as committed)
in turn for ``--repeats`` rounds in one process and report medians and ratios. Every line
printed says the stage, the figure and the load average.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _machine() -> str:
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        have = set(text.split("flags", 1)[1].split("\n", 1)[0].split())
        flags = " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni") if f in have)
        model = text.split("model name", 1)[1].split("\n", 1)[0].strip(" :\t")
    except (OSError, IndexError):
        model = platform.processor()
    return f"{model}, {os.cpu_count()} CPUs, flags: {flags}"


def _say(stage: str, msg: str) -> None:
    print(f"[{stage}] {msg} (load {os.getloadavg()[0]:.2f})", flush=True)


def _numpy_dropout(self: Any, x: Any) -> Any:
    """Experiment (not in the library): ``nn.Dropout.forward`` with the mask drawn by NumPy
    (SFC64 bits, keep = u32 >= round(p 2**32): the same law), seeded from torch's global
    generator. torch's CPU ``bernoulli_`` takes its MKL path on Intel CPUs only; on AMD it
    draws one Mersenne-Twister number per element."""
    import torch
    import torch.nn.functional as F

    if not self.training or self.p <= 0.0 or self.p >= 1.0:
        return F.dropout(x, self.p, self.training, self.inplace)
    n = x.numel()
    seed = int(torch.randint(0, 2**62, (1,)))
    bits = np.random.Generator(np.random.SFC64(seed)).bit_generator.random_raw((n + 1) // 2)
    keep = bits.view(np.uint32)[:n] >= np.uint32(round(self.p * 2**32))
    return x * (torch.from_numpy(keep).view(x.shape).to(x.dtype) * (1.0 / (1.0 - self.p)))


def _variant(name: str) -> None:
    """``base``: the code before the speed-ups (a tokenizer copy per text batch); ``fast``: as
    committed; ``+npdrop``: :func:`_numpy_dropout` for every dropout (not committed: another
    random stream); ``+torchdrop``: the audio trainer with torch's own dropout instead of
    :class:`voicesafety.train.dropout.FastDropout`; ``+ftz``: denormals flushed to zero;
    ``@N``: N torch threads."""
    import torch
    from torch import nn

    from voicesafety.text import TextEncoder
    from voicesafety.train import loop

    if not hasattr(_variant, "saved"):
        _variant.saved = (nn.Dropout.forward, loop.text_tensors)  # type: ignore[attr-defined]
    fwd, tensors = _variant.saved  # type: ignore[attr-defined]

    def per_batch(encoder: TextEncoder, texts: list[str]) -> object:
        """The code before: a new encoder (a copy of the tokenizer) for every batch."""
        return tensors(TextEncoder(encoder.tokenizer, encoder.max_length), texts)

    name, _, threads = name.partition("@")
    _THREADS[0] = int(threads) if threads else None
    base, *extra = name.split("+")
    _TORCH_DROPOUT[0] = "torchdrop" in extra
    torch.set_flush_denormal("ftz" in extra)
    nn.Dropout.forward = _numpy_dropout if "npdrop" in extra else fwd  # type: ignore[method-assign]
    loop.text_tensors = per_batch if base == "base" else tensors  # type: ignore[assignment]


_THREADS: list[int | None] = [None]
_TORCH_DROPOUT = [False]


def _variant_settings(s: object) -> object:
    """``s`` with the thread count (``@N`` suffix) and audio dropout (``+torchdrop``) of the
    current variant."""
    from dataclasses import replace

    n = _THREADS[0]
    s = s if n is None else replace(s, threads=n)  # type: ignore[type-var]
    if hasattr(s, "audio_fast_dropout"):
        s = replace(s, audio_fast_dropout=not _TORCH_DROPOUT[0])  # type: ignore[type-var]
    return s


def _compare(stage: str, args: argparse.Namespace, run: object, unit: str) -> None:
    """Run ``run()`` (returns the figure) for each variant in turn, ``--repeats`` rounds, the
    order rotated each round, after one uncounted warm-up run."""
    variants = args.variants.split(",")
    times: dict[str, list[float]] = {v: [] for v in variants}
    _variant(variants[0])
    run()  # type: ignore[operator]  # warm-up, not counted
    for r in range(args.repeats):
        k = r % len(variants)  # rotate the order: no variant always runs first
        for v in variants[k:] + variants[:k]:
            _variant(v)
            times[v].append(run())  # type: ignore[operator]
            _say(stage, f"round {r + 1} {v}: {times[v][-1]:.3f} {unit}")
    med = {v: statistics.median(t) for v, t in times.items()}
    for v in variants:
        _say(stage, f"MEDIAN {v}: {med[v]:.3f} {unit} over {args.repeats} rounds "
             f"(min {min(times[v]):.3f}, max {max(times[v]):.3f}), "
             f"{med[v] / med[variants[0]]:.2f}x of {variants[0]}")  # fmt: skip


def synth(args: argparse.Namespace) -> None:
    """Time the synthesis jobs of the recipe and cache their clips."""
    from training import real_audio as RA
    from training import train_mini as TM
    from training.piper_voices import piper_available
    from training.real_speech import load_real_speech

    s = TM.Settings()
    n = args.n
    texts = [e.text for e in TM.spoken_texts(n, s.seed + 10, s.seed + 15, s.audio_word_aug)]
    clips: list = []
    t = time.perf_counter()
    jobs = [(tx, [s.seed + 20, i], 1, True, False) for i, tx in enumerate(texts)]
    for out in RA.run_jobs(TM._synth_train_job, jobs, s.workers, "espeak train", chunksize=8):
        clips += out
    dt = time.perf_counter() - t
    _say("synth", f"espeak-ng train clips: {n / dt:.1f} utterances/s ({n} in {dt:.1f} s)")
    if piper_available():
        m = max(1, n // 4)
        jobs = [(tx, [s.seed + 75, i], False, s.room_prob) for i, tx in enumerate(texts[:m])]
        t = time.perf_counter()
        clips += RA.run_jobs(RA.piper_job, jobs, s.workers, "piper")
        dt = time.perf_counter() - t
        _say("synth", f"Piper clips: {m / dt:.2f} clips/s ({m} in {dt:.1f} s)")
    recs = load_real_speech(splits={"train"})[: n // 2]
    jobs = [(c.audio, c.transcript, [s.seed + 76, i, 0], s.room_prob / 2)
            for i, c in enumerate(recs)]  # fmt: skip
    t = time.perf_counter()
    clips += RA.run_jobs(RA.recording_job, jobs, s.workers, "recordings")
    dt = time.perf_counter() - t
    _say("synth", f"recordings: {len(jobs) / dt:.1f} clips/s ({len(jobs)} in {dt:.1f} s)")
    Path(args.cache).write_bytes(pickle.dumps(clips))


def audio(args: argparse.Namespace) -> None:
    """Time feature extraction and one training epoch over the cached clips."""
    import torch

    from training import audio_data as AD
    from training import train_mini as TM
    from voicesafety.models.arch import LABELS, MiniAudioModel

    s = TM.Settings(audio_epochs=1)
    torch.set_num_threads(s.threads)
    clips = pickle.loads(Path(args.cache).read_bytes())
    rng = np.random.default_rng(0)
    ns = [AD.non_speech(rng, AD.NON_SPEECH_TRAIN) for _ in range(len(clips) // 20)]
    clips += [(AD.to_int16(x), info) for x, info in ns]
    fe = MiniAudioModel(**s.audio_arch).eval()
    t = time.perf_counter()
    feats = TM.compute_features(fe, clips)
    dt = time.perf_counter() - t
    secs = sum(c[0].size for c in clips) / AD.SR
    _say("audio", f"features: {len(clips) / dt:.0f} clips/s ({len(clips)} clips, "
         f"{secs / len(clips):.2f} s mean, in {dt:.1f} s)")  # fmt: skip
    phones = [None if "phones" not in c[1] or c[1]["phones"] is None else c[1]["phones"].split()
              for c in clips]  # fmt: skip
    sim_texts = [e.text for e in TM.spoken_texts(2000, s.seed + 60, s.seed + 61, 0.5)]
    sim_phones = AD.phonemize_many(sim_texts, "en-us")
    inventory = sorted({p for ph in phones + sim_phones if ph for p in ph})
    pid = {p: i + 1 for i, p in enumerate(inventory)}
    arch = dict(s.audio_arch, phones=len(inventory) + 1, **s.audio_head)
    phone_ids = [None if ph is None else [pid[p] for p in ph] for ph in phones]
    targets = rng.random((len(clips), len(LABELS))).astype(np.float32)
    sim = ([[pid[p] for p in ph] for ph in sim_phones],
           rng.random((len(sim_texts), len(LABELS))).astype(np.float32))  # fmt: skip
    steps = -(-len(feats) // s.audio_batch)
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            TM.train_audio(s, feats, targets, [], np.zeros((0, len(LABELS))), arch, phone_ids,
                           sim)  # fmt: skip
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))

    def run() -> float:
        t = time.perf_counter()
        TM.train_audio(_variant_settings(s), feats, targets, [], np.zeros((0, len(LABELS))),
                       arch, phone_ids, sim)  # type: ignore[arg-type]
        return (time.perf_counter() - t) / steps

    _say("audio", f"{steps} steps per run, batch {s.audio_batch}, {s.threads} threads")
    _compare("audio", args, run, "s/step")


def text(args: argparse.Namespace) -> None:
    """Time text training steps on the recipe's mix of rows."""
    from training import train_mini as TM

    # the full recipe's row mix at a fifth: synthetic 48 %, real 32 %, benign-only sample 20 %
    s = TM.Settings(n_text_train=4800, n_text_val=800, n_text_test=200, real_text_limit=1600,
                    benign_per_epoch=2400, text_epochs=1,
                    data_dir=Path("/tmp/bench_train_mini_text"))  # fmt: skip
    t = time.perf_counter()
    data = TM.make_text_data(s)
    _say("text", f"corpus: {time.perf_counter() - t:.1f} s ({len(data['train'])} train rows)")
    def run() -> float:
        t = time.perf_counter()
        TM.train_text(_variant_settings(s), data)  # type: ignore[arg-type]
        return time.perf_counter() - t

    _say("text", "one epoch per run: tokenizer, steps, dev criterion, calibration")
    _compare("text", args, run, "s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=["synth", "audio", "text"])
    ap.add_argument("--n", type=int, default=200, help="espeak-ng utterances (synth)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", default="base,fast", help="comma-separated: base, fast")
    ap.add_argument("--profile", action="store_true", help="torch.profiler table first")
    ap.add_argument("--cache", default="/tmp/bench_train_mini.pkl")
    args = ap.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {_machine()}, "
          f"python {platform.python_version()}", flush=True)
    {"synth": synth, "audio": audio, "text": text}[args.stage](args)


if __name__ == "__main__":
    main()
