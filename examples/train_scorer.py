"""Fit a fast toxicity scorer on real labelled text, then use it as a loss.

1. Write a small training table from real texts committed in this repository (Stormfront
   forum posts labelled hate / not hate, toxic Civil Comments, benign Topical-Chat).
2. ``voicesafety.train.train_text`` fits a student (held-out split, early stopping, report).
3. The student's ``text_module()`` is a frozen, differentiable ``nn.Module``: a toy
   generator's token distributions are pushed towards non-toxic text through it.

    python examples/train_scorer.py            # about a minute on two cores
"""

from __future__ import annotations

import csv
import gzip
import random
import tempfile
from pathlib import Path

import torch

import voicesafety as vs
from voicesafety.train import TextSettings, train_text

DATA = Path(__file__).resolve().parents[1] / "training" / "data" / "text"


def real_rows(source: str, toxic: str | None, n: int) -> list[list[object]]:
    """``n`` training-split rows of a committed source (optionally of one class)."""
    with gzip.open(DATA / source / "rows.csv.gz", "rt", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r["split"] == "train" and (toxic is None or r["toxic"] == toxic)]
    return [[r["text"], int(r["toxic"])] for r in rows[:n]]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="voicesafety-train-"))
    rows = (real_rows("stormfront", "1", 400) + real_rows("stormfront", "0", 400)
            + real_rows("toxic_spans", None, 400) + real_rows("topical_chat", None, 400))
    random.Random(0).shuffle(rows)
    data = work / "train.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["text", "toxic"], *rows])

    settings = TextSettings(epochs=4, vocab_size=2000, batch_size=32, lr=3e-3,
                            arch={"dim": 64, "layers": 1, "heads": 2, "max_length": 64})
    result = train_text(data, work / "scorer", settings=settings)
    print(result)  # the report: held-out AP, class separation, policy, size, speed

    clf = vs.Classifier.from_pretrained(result.folder)
    toxicity = clf.text_module()  # frozen nn.Module: token distributions -> toxicity [B]
    sources = ["you are vermin and should leave", "nobody wants your kind here"]
    one_hot, mask = toxicity.one_hot(sources)
    logits = (one_hot * 8.0).clone().requires_grad_(True)  # a toy generator's output
    opt = torch.optim.Adam([logits], lr=0.5)
    for step in range(30):
        probs = torch.softmax(logits, dim=-1) * mask.unsqueeze(-1)
        tox = toxicity(probs, mask)
        content = -(torch.log_softmax(logits, -1) * one_hot).sum(-1).sum() / mask.sum()
        loss = tox.mean() + 0.05 * content  # 1 - STA, plus a stand-in for content similarity
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in (0, 29):
            print(f"step {step:2d}: mean toxicity {tox.mean().item():.3f}")


if __name__ == "__main__":
    main()
