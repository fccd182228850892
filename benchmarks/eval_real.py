"""The embedded models on REAL data no one here wrote, side by side with the registry's peers.

Run: ``python benchmarks/eval_real.py [--bundle DIR] [--out benchmarks/results/real_eval]``

Text rows (same rows for every system):

- the held-out *test* split of every real source in ``training/data/text`` (never used for
  training, tuning or selection; the dev split is what the policy is calibrated on);
- two sets reserved for independent evaluation, never used for training, tuning or selection:
  ParaDetox (toxic comments vs their human-written neutral rewrites) and Davidson et al. 2017
  (tweets: hate / offensive vs neither), copied under ``benchmarks/data/text``.

Systems: ``voicesafety/mini`` (text part, its shipped policy), ``alt-profanity-check``
(scikit-learn; it learned from the Davidson data, so its Davidson row is in-sample) at its
documented 0.5 cut, and ``better-profanity`` (word list; a yes/no answer, so its AP is that of
a binary score).

Audio rows (``voicesafety/mini`` audio part, shipped policy): the share of clips flagged for
held-out real human speakers (the test speakers of ``training/data/speech``, and the Free
Spoken Digit Dataset, reserved for evaluation), and binarized AP on the held-out real texts
read by held-out espeak-ng voices in held-out rooms (``training.real_audio.heldout_real_spoken``).

Writes ``OUT.md`` and ``OUT.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import voicesafety as vs  # noqa: E402
from voicesafety.models.arch import LABELS  # noqa: E402

BUNDLE = ROOT / "voicesafety" / "models" / "mini"
RESERVED = ROOT / "benchmarks" / "data" / "text"


def _read_rows(path: Path) -> tuple[list[str], np.ndarray]:
    import csv
    import gzip

    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], np.array([int(r["toxic"]) for r in rows])


def _sample(d: dict, n: int, seed: int = 0) -> dict:
    """At most ``n`` rows of a set, a seeded random sample (order kept)."""
    m = len(d["texts"])
    if not n or m <= n:
        return d
    keep = np.sort(np.random.default_rng(seed).choice(m, n, replace=False))
    return {
        "texts": [d["texts"][i] for i in keep],
        "toxic": d["toxic"][keep],
        "labels": d["labels"][keep],
        "sampled_from": m,
    }


def text_sets(max_rows: int = 0) -> dict[str, dict]:
    """``{name: {"texts", "toxic", "labels" ([N, 6] with NaN where unknown)}}``, each at most
    ``max_rows`` rows (a seeded sample; 0 = all)."""
    from training.real_text import SOURCES, load_source

    out: dict[str, dict] = {}
    for name in SOURCES:
        rows = [r for r in load_source(name) if r.split == "test"]
        if not rows:
            continue
        lab = np.array(
            [[np.nan if v is None else float(v) for v in r.labels] for r in rows], np.float64
        )
        out[f"{name} (test)"] = {
            "texts": [r.text for r in rows],
            "toxic": np.array([r.toxic for r in rows]),
            "labels": lab,
        }
    for name in ("paradetox", "davidson"):
        path = RESERVED / name / "rows.csv.gz"
        if path.is_file():
            texts, toxic = _read_rows(path)
            out[f"{name} (reserved)"] = {
                "texts": texts,
                "toxic": toxic,
                "labels": np.full((len(texts), len(LABELS)), np.nan),
            }
    return {k: _sample(v, max_rows) for k, v in out.items()}


def _ap(y: np.ndarray, s: np.ndarray) -> float:
    return float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else math.nan


def _prf(y: np.ndarray, flag: np.ndarray) -> dict[str, float]:
    tp = float((flag & (y == 1)).sum())
    pos, neg = float((y == 1).sum()), float((y == 0).sum())
    return {
        "precision": tp / max(float(flag.sum()), 1.0) if flag.sum() else math.nan,
        "recall": tp / pos if pos else math.nan,
        "fpr": float((flag & (y == 0)).sum()) / neg if neg else math.nan,
    }


def score_systems(texts: list[str], bundle: Path) -> dict[str, dict[str, np.ndarray]]:
    """Scores ``[N]`` (and per-label ``[N, 6]`` for mini) and flags of every system."""
    from better_profanity import profanity
    from profanity_check import predict_prob

    clf = vs.Classifier.from_pretrained(bundle / "text", backend="torch")
    res = clf.score_text(texts, batch_size=64, progress=False)
    per = np.array([[r.scores[lab] for lab in LABELS] for r in res])
    mini = {
        "score": np.array([r.toxicity for r in res]),
        "flag": np.array([r.flagged for r in res]),
        "per_label": per,
        "label_flags": np.array([[lab in r.flags for lab in LABELS] for r in res], bool),
    }
    apc = np.asarray(predict_prob(texts), dtype=np.float64)
    bp = np.array([profanity.contains_profanity(t) for t in texts])
    return {
        "voicesafety/mini": mini,
        "alt-profanity-check": {"score": apc, "flag": apc >= 0.5},
        "better-profanity": {"score": bp.astype(float), "flag": bp},
    }


def eval_text(bundle: Path, max_rows: int = 0) -> dict[str, dict]:
    """Metrics per real text set and system."""
    out: dict[str, dict] = {}
    for name, d in text_sets(max_rows).items():
        t0 = time.time()
        systems = score_systems(d["texts"], bundle)
        y = d["toxic"]
        row: dict = {"n": len(y), "toxic": int(y.sum()), "systems": {}}
        if "sampled_from" in d:
            row["sampled_from"] = d["sampled_from"]
        for sys_name, s in systems.items():
            m = {"binarized_ap": _ap(y, s["score"]), **_prf(y, s["flag"])}
            if "per_label" in s:
                m["per_label_ap"] = {
                    lab: _ap(d["labels"][known, j].astype(int), s["per_label"][known, j])
                    for j, lab in enumerate(LABELS)
                    if (known := ~np.isnan(d["labels"][:, j])).sum()
                    and 0 < np.nansum(d["labels"][:, j]) < known.sum()
                }
            if "label_flags" in s and y.sum():  # which labels fire on the toxic rows
                m["toxic_flagged_by_label"] = dict(
                    zip(LABELS, s["label_flags"][y == 1].mean(axis=0).tolist(), strict=True)
                )
            row["systems"][sys_name] = m
        out[name] = row
        print(f"[eval_real] {name}: n={len(y)} ({time.time() - t0:.0f} s)", flush=True)
    return out


def eval_audio(bundle: Path) -> dict[str, dict]:
    """Flag share on held-out real speakers; AP on held-out real texts in held-out voices."""
    from real_eval_data import load_fsdd

    from training.real_speech import load_real_speech

    clf = vs.Classifier.from_pretrained(bundle / "audio", backend="torch")
    out: dict[str, dict] = {}

    def benign(name: str, clips: list[np.ndarray], speakers: list[str]) -> None:
        res = clf.score(clips, sample_rate=16000, progress=False)
        flag = np.array([r.flagged for r in res])
        tox = np.array([r.toxicity for r in res])
        per_spk = {s: float(flag[[i for i, x in enumerate(speakers) if x == s]].mean())
                   for s in sorted(set(speakers))}  # fmt: skip
        out[name] = {
            "n": len(clips),
            "speakers": len(per_spk),
            "flagged": float(flag.mean()),
            "max_toxicity": float(tox.max()),
            "worst_speaker_flagged": max(per_spk.values()),
        }
        print(f"[eval_real] {name}: {out[name]}", flush=True)

    test = load_real_speech(splits={"test"})
    by_src: dict[str, list] = {}
    for c in test:
        by_src.setdefault(c.source, []).append(c)
    for src, clips in by_src.items():
        benign(f"{src} test speakers (benign)", [c.audio for c in clips],
               [c.speaker for c in clips])  # fmt: skip
    fsdd = load_fsdd()
    benign("FSDD (reserved, benign)", [a for a, _, _ in fsdd], [s for _, s, _ in fsdd])

    try:
        from training.real_audio import heldout_real_spoken
    except ImportError:  # piper not installed
        return out
    spoken = heldout_real_spoken()
    if spoken is not None:
        clips, toxic = spoken
        res = clf.score(clips, sample_rate=16000, progress=False)
        score = np.array([r.toxicity for r in res])
        flag = np.array([r.flagged for r in res])
        out["held-out real texts, held-out voices and rooms"] = {
            "n": len(clips),
            "toxic": int(toxic.sum()),
            "binarized_ap": _ap(toxic, score),
            **_prf(toxic, flag),
        }
    return out


def _fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def markdown(res: dict) -> str:
    """Render the results as markdown tables."""
    lines = [
        "## Text: binarized AP / precision / recall / FPR at each system's cut",
        "",
        "| set | n | toxic | system | bin. AP | P | R | FPR (benign flagged) |",
        "|---|---|---|---|---|---|---|---|",
    ] if res["text"] else []
    for name, row in res["text"].items():
        n = f"{row['n']} of {row['sampled_from']}" if "sampled_from" in row else str(row["n"])
        for sys_name, m in row["systems"].items():
            lines.append(
                f"| {name} | {n} | {row['toxic']} | {sys_name} | "
                f"{_fmt(m['binarized_ap'])} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | "
                f"{_fmt(m['fpr'])} |"
            )
    if res["text"]:
        lines += ["", "Per-label AP of voicesafety/mini where the source has the label:", ""]
    for name, row in res["text"].items():
        pl = row["systems"]["voicesafety/mini"].get("per_label_ap") or {}
        if pl:
            lines.append(f"- {name}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in pl.items()))
    shares = {
        name: m for name, row in res["text"].items()
        if (m := row["systems"]["voicesafety/mini"].get("toxic_flagged_by_label"))
    }  # fmt: skip
    if shares:  # a label that fires on toxic rows its source never gives is a mislabel
        lines += [
            "",
            "Share of the toxic rows that voicesafety/mini flags under each label:",
            "",
            "| set | " + " | ".join(LABELS) + " |",
            "|---" * (len(LABELS) + 1) + "|",
        ]
        for name, m in shares.items():
            lines.append(f"| {name} | " + " | ".join(_fmt(m[lab]) for lab in LABELS) + " |")
    if res.get("audio"):
        lines += ["", "## Audio (voicesafety/mini audio part, shipped policy)", "",
                  "| set | n | flagged | bin. AP | P | R | worst speaker flagged |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, m in res["audio"].items():
            lines.append(
                f"| {name} | {m['n']} | {_fmt(m.get('flagged', m.get('fpr')))} | "
                f"{_fmt(m.get('binarized_ap', math.nan))} | {_fmt(m.get('precision', math.nan))}"
                f" | {_fmt(m.get('recall', math.nan))} | "
                f"{_fmt(m.get('worst_speaker_flagged', math.nan))} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Evaluate and write the report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=BUNDLE)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "real_eval")
    ap.add_argument("--no-audio", action="store_true")
    ap.add_argument("--no-text", action="store_true")
    ap.add_argument(
        "--max-rows",
        type=int,
        default=5000,
        help="score at most this many rows of each text set (a seeded random sample, the same "
        "rows for every system; 0 = all)",
    )
    args = ap.parse_args()
    res: dict = {
        "bundle": str(args.bundle),
        "date": time.strftime("%Y-%m-%d"),
        "max_rows": args.max_rows,
        "text": {} if args.no_text else eval_text(args.bundle, args.max_rows),
    }
    if not args.no_audio:
        res["audio"] = eval_audio(args.bundle)
    md = markdown(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=2, default=float) + "\n")
    args.out.with_suffix(".md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
