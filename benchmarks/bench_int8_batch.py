"""What batch independence costs on ``onnx-int8``: the embedded model's int8 exports run as
one batch (ONNX Runtime's dynamic activation scales span the batch) against item by item (what
:class:`voicesafety.backends.onnx.OnnxInt8Backend` does), at batch 1 and 8, audio and text.

    python benchmarks/bench_int8_batch.py [--repeats 7]

Prints a markdown table (median ms per call over ``--repeats`` timed runs after a warm-up)
and how far an item's scores move with its batch when run as one batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    os.environ.setdefault("VOICESAFETY_CACHE", tempfile.mkdtemp(prefix="vs-bench-"))

    import voicesafety as vs
    from voicesafety.backends.onnx import OnnxBackend, OnnxInt8Backend
    from voicesafety.scoring import activate
    from voicesafety.text import pad_batch

    clf = vs.Classifier.from_pretrained(backend="onnx-int8", device="cpu", threads=args.threads)
    rng = np.random.default_rng(0)
    texts = ["you are trash", "good game everyone", "shut up noob go away loser",
             "gg", "hello there friend thanks for the help", "nice shot",
             "lets play again tomorrow you idiot", "that was sick"]
    encoded = clf.text.encoder.encode(texts)
    ids, mask = pad_batch(encoded, clf.text.encoder.pad_id)
    audio = (rng.standard_normal((8, 16000 * 15)) * 0.1).astype(np.float32)  # 8 windows of 15 s

    rows = []
    for part, feeds in (("audio", {"input_values": audio}),
                        ("text", {"input_ids": ids, "attention_mask": mask})):
        path = getattr(clf, part).backend.path
        batched = OnnxBackend(path, "cpu", threads=args.threads)
        alone = OnnxInt8Backend(path, "cpu", threads=args.threads)
        for n in (1, 8):
            sub = {k: v[:n] for k, v in feeds.items()}
            t_batch = _median_ms(lambda b=batched, s=sub: b.run(s), args.repeats)
            t_alone = _median_ms(lambda b=alone, s=sub: b.run(s), args.repeats)
            rows.append((part, n, t_batch, t_alone))
        spec = getattr(clf, part).spec
        together = activate(batched.run(feeds), spec.activation)
        single = np.concatenate([activate(batched.run(
            {k: (v[i:i + 1, : int(mask[i].sum())] if part == "text" else v[i:i + 1])
             for k, v in feeds.items()}), spec.activation) for i in range(8)])
        print(f"{part}: max |score(batch of 8) - score(alone)| run as one batch: "
              f"{float(np.abs(together - single).max()):.2e}; item by item: "
              f"{float(np.abs(activate(alone.run(feeds), spec.activation) - single).max()):.2e}")

    print("\n| part | batch | one int8 batch, ms | item by item, ms | cost |")
    print("|---|---|---|---|---|")
    for part, n, t_batch, t_alone in rows:
        print(f"| {part} | {n} | {t_batch:.1f} | {t_alone:.1f} | {t_alone / t_batch:.2f}× |")


if __name__ == "__main__":
    main()
