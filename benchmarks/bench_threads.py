"""Thread settings on a busy machine: the embedded audio model on ``torch`` scoring a long clip
with torch's own thread count (what voicesafety did before ``threads=``), voicesafety's default
(:func:`voicesafety.backends.threads.default_threads`) and fixed counts, while ``--burn``
processes spin on the CPU.

    python benchmarks/bench_threads.py [--minutes 5] [--repeats 5] [--burn 1]

Prints a markdown table: median, min and max seconds per call over ``--repeats`` calls.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time

import numpy as np


def _burn() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--burn", type=int, default=1, help="CPU-burning processes to start")
    parser.add_argument("--backend", default="torch")
    args = parser.parse_args()

    import torch

    import voicesafety as vs
    from voicesafety.backends.threads import default_threads, usable_cpus

    torch_default = torch.get_num_threads()
    clip = (np.random.default_rng(0).standard_normal(int(16000 * 60 * args.minutes)) * 0.1
            ).astype(np.float32)
    burners = [mp.get_context("spawn").Process(target=_burn, daemon=True)
               for _ in range(args.burn)]
    for p in burners:
        p.start()
    time.sleep(2)
    try:
        settings: list[tuple[str, int | None]] = [
            (f"torch's own default ({torch_default})", torch_default),
            ("voicesafety default (None)", None), ("threads=1", 1), ("threads=2", 2)]
        rows = []
        for label, threads in settings:
            clf = vs.Classifier.from_pretrained(backend=args.backend, device="cpu",
                                                threads=threads)
            clf.score(clip[:16000 * 15])  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                clf.score(clip)
                times.append(time.perf_counter() - start)
            used = getattr(clf.audio.backend, "threads", threads)
            rows.append((label, used, statistics.median(times), min(times), max(times)))
            print(rows[-1], flush=True)
    finally:
        for p in burners:
            p.terminate()
    print(f"\n{args.minutes:g} min of audio, backend {args.backend}, {usable_cpus()} usable "
          f"CPUs, {args.burn} burner(s), load average {os.getloadavg()[0]:.1f} at the end; "
          f"default_threads() now {default_threads()}")
    print("\n| setting | threads used | median s | min s | max s |")
    print("|---|---|---|---|---|")
    for label, used, med, lo, hi in rows:
        print(f"| {label} | {used} | {med:.2f} | {lo:.2f} | {hi:.2f} |")


if __name__ == "__main__":
    main()
