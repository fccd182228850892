"""Batch scoring throughput: the plain local loop vs Ray Data with 1 and 2 actors.

Scores the same archive of real speech (the example clips, copied and padded with silence to
``--seconds`` each) with :func:`voicesafety.batch.score_files`, on:

* ``local``: this process (``engine="local"``, the library's default thread count);
* ``ray x1``, ``ray x2``: ``engine="ray"`` on a local Ray instance (``ray.init(num_cpus=2)``)
  with 1 and 2 actors, one thread each;

for the embedded model and, unless ``--no-wavlm``, full-size WavLM base plus (random weights) on
the fastest backend ``auto`` picks on this CPU. Reports files per second, audio-hours per hour
and the peak RSS of each actor (from Ray's workers), median over ``--runs`` interleaved runs
(Ray started once; each run's actors load the model again, as a fresh job does).

    python benchmarks/bench_batch.py --files 24 --runs 3
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def make_archive(folder: Path, n: int, seconds: float) -> list[str]:
    """``n`` 16 kHz WAV files of ``seconds`` each: a real example clip, then silence."""
    import soxr

    clips = sorted((ROOT / "examples" / "audio").glob("*.ogg"))
    out = []
    for i in range(n):
        x, sr = sf.read(clips[i % len(clips)], dtype="float32", always_2d=True)
        x = soxr.resample(x.mean(axis=1), sr, 16000)
        full = np.zeros(int(seconds * 16000), np.float32)
        full[: min(len(x), len(full))] = x[: len(full)]
        path = folder / f"clip{i:04d}.wav"
        sf.write(path, full, 16000)
        out.append(str(path))
    return out


class ActorMemory:
    """Samples the RSS of Ray's map workers (the actors) every 0.2 s in a thread; ``peak``
    is the largest RSS one actor process reached, in MB."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for p in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = " ".join(p.info["cmdline"] or [])
                if "MapWorker" in cmd or "RayScorer" in cmd:
                    self.peak = max(self.peak, p.info["memory_info"].rss / 2**20)
            self._stop.wait(0.2)

    def __enter__(self) -> ActorMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(paths: list[str], model: str | None, engine: str, actors: int | None) -> float:
    from voicesafety.batch import score_files

    started = time.perf_counter()
    table = score_files(paths, model, engine=engine, actors=actors,
                        threads=1 if engine == "ray" else None, progress=False)
    elapsed = time.perf_counter() - started
    errors = [e for e in table.column("error").to_pylist() if e is not None]
    if errors:
        raise RuntimeError(f"{len(errors)} files failed: {errors[0]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-wavlm", action="store_true")
    ap.add_argument("--workdir", default="/tmp/voicesafety-bench-batch")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "batch.md"))
    args = ap.parse_args()

    import ray

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VOICESAFETY_CACHE", str(work / "cache"))
    models: dict[str, str | None] = {"embedded (voicesafety/mini)": None}
    if not args.no_wavlm:
        import bench_audio

        models["WavLM base plus (random weights)"] = str(
            bench_audio.build_model(work / "wavlm-base-plus-random", quick=False))
    import voicesafety as vs

    chosen = {name: vs.Classifier.from_pretrained(m).audio.info().backend
              for name, m in models.items()}  # converts once (auto), before any timing
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    load0 = os.getloadavg()
    configs = [("local", "local", None), ("ray, 1 actor", "ray", 1), ("ray, 2 actors", "ray", 2)]
    results: dict[str, dict[str, list[float]]] = {m: {c[0]: [] for c in configs} for m in models}
    memory: dict[str, float] = {m: 0.0 for m in models}
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        paths = make_archive(Path(tmp), args.files, args.seconds)
        for r in range(args.runs):
            for name, model in models.items():
                order = configs[r % 3:] + configs[: r % 3]
                for label, engine, actors in order:
                    with ActorMemory() as probe:
                        secs = run(paths, model, engine, actors)
                    memory[name] = max(memory[name], probe.peak)
                    results[name][label].append(secs)
                    print(f"run {r + 1} {name} {label}: {secs:.1f} s", flush=True)
    ray.shutdown()
    audio_h = args.files * args.seconds / 3600
    cpu = next((ln.split(":", 1)[1].strip() for ln in
                Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")),
               platform.processor())
    flags = next((ln.split(":", 1)[1].split() for ln in
                  Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), [])
    simd = ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni") if f in flags)
    lines = [
        "# Batch scoring: local loop vs Ray Data (voicesafety.batch.score_files)",
        "",
        f"- Command: `python {' '.join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])}`",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {cpu}, {os.cpu_count()} logical cores, SIMD: {simd}; Ray "
        f"{ray.__version__} local instance (`ray.init(num_cpus=2)`); load average at start "
        f"{load0[0]:.2f}",
        f"- Archive: {args.files} WAV files of {args.seconds:g} s (real example speech + "
        f"silence), {audio_h * 60:.1f} audio-minutes; median of {args.runs} interleaved runs; "
        "each Ray run starts its actors (model load included), as a fresh job does.",
        "",
        "| model (backend) | engine | wall s median (min–max) | files/s | audio-hours per hour |",
        "|---|---|---|---|---|",
    ]
    raw = {}
    for name in models:
        for label, _, _ in configs:
            t = results[name][label]
            med = statistics.median(t)
            lines.append(f"| {name} (`{chosen[name]}`) | {label} | {med:.1f} "
                         f"({min(t):.1f}–{max(t):.1f}) | {args.files / med:.2f} | "
                         f"{audio_h / (med / 3600):.0f} |")
            raw[f"{name}|{label}"] = t
    lines += ["", "Peak RSS of one Ray actor (model loaded, scoring): " + "; ".join(
        f"{name}: {mb:.0f} MB" for name, mb in memory.items())]
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    shutil.rmtree(work / "ray", ignore_errors=True)


if __name__ == "__main__":
    main()
