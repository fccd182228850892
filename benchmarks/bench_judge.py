"""LLM judge throughput on this CPU: a full-size Phi-3-mini architecture with random weights.

Builds ``Phi3ForCausalLM(Phi3Config(...))`` with the sizes of microsoft/Phi-3-mini-4k-instruct
(hidden 3072, 32 layers, 32 heads, intermediate 8192, vocab 32064; 3.8 B parameters, ~15 GB
in fp32) directly in memory (no download, no weights file), a word-level tokenizer built here
with a Phi-3-style chat template, and the Phi-3 toxicity judge's own prompt. Then, each
variant in its own process, one at a time (the fp32 model alone takes ~15 GB):

* ``fp32``: the judge as loaded (texts/s, batch of 4, left-padded, length-sorted);
* ``int8``: the same model after ``torch.ao.quantization.quantize_dynamic`` of every
  ``nn.Linear`` (in place, int8 weights, activations quantised per batch);
* the cascade on a stream where 5 % of the texts are flagged by the fast model (the embedded
  ``voicesafety/mini`` text model): wall time of ``Cascade(fast, judge, band=None)`` over the
  stream vs judging every text of it (the latter from the judge's measured texts/s on the
  same kind of texts: judging the whole stream at full size would take the better part of an
  hour here).

Peak RSS is the process's ``ru_maxrss``. Times are medians over ``--repeats`` runs of the same
texts (spread: min-max). ``--small`` runs a 4-layer, hidden-256 model instead, for a smoke run.

    python benchmarks/bench_judge.py                 # full size, writes results/judge.md
    python benchmarks/bench_judge.py --small         # seconds, writes results/judge_small.md
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHI3_MINI = dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192,
                 num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                 max_position_embeddings=4096, pad_token_id=32000, bos_token_id=1,
                 eos_token_id=32000, tie_word_embeddings=False)
SMALL = dict(PHI3_MINI, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
             num_attention_heads=8, num_key_value_heads=8)
CHAT_TEMPLATE = ("{% for m in messages %}<|user|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
SPECIALS = ["<unk>", "<s>", "</s>", "<|user|>", "<|end|>", "<|assistant|>"]


def texts_from_repo() -> tuple[list[str], list[str]]:
    """(benign, toxic) texts of examples/data/texts.csv (its labels column)."""
    with open(ROOT / "examples" / "data" / "texts.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    benign = [r["text"] for r in rows if r["labels"] in ("", "none")]
    toxic = [r["text"] for r in rows if r["labels"] not in ("", "none")]
    return benign, toxic


def build_tokenizer(vocab_size: int):  # noqa: ANN201 - a transformers tokenizer
    """A word-level tokenizer over the prompt's and the texts' words, ids padded out to the
    model's vocabulary (the ids are what matters for speed, not which words they are)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from voicesafety.prompts import PHI3_TOXICITY_TEMPLATE

    benign, toxic = texts_from_repo()
    words: list[str] = []
    pre = pre_tokenizers.Whitespace()
    for text in [PHI3_TOXICITY_TEMPLATE, "toxic non-toxic", *benign, *toxic]:
        for word, _ in pre.pre_tokenize_str(text):
            if word not in words:
                words.append(word)
    vocab = {tok: i for i, tok in enumerate(SPECIALS + words)}
    assert len(vocab) < vocab_size
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="<|end|>", pad_token="</s>",
                                   additional_special_tokens=SPECIALS[3:])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def random_model(cls, config):  # noqa: ANN001, ANN201 - a transformers model class
    """``cls(config)`` in fp32 with random weights, built fast: on the meta device, then
    materialised and filled with a 16 M-value random N(0, 0.02) block tiled over each weight
    (drawing 3.8 B normal values one by one takes ~10 min on this shared 2-core machine; the
    timing of the matmuls does not depend on the values). The rotary buffers are computed
    for real."""
    import torch

    with torch.device("meta"):
        model = cls(config)
    model.to_empty(device="cpu")
    block = torch.randn(1 << 24) * 0.02
    with torch.no_grad():
        for param in model.parameters():
            flat = param.view(-1)
            for i in range(0, flat.numel(), block.numel()):
                n = min(block.numel(), flat.numel() - i)
                flat[i:i + n].copy_(block[:n])
        rotary = model.model.rotary_emb
        fresh = type(rotary)(config)
        for name, buffer in fresh.named_buffers():
            rotary.get_buffer(name).copy_(buffer)
    return model.eval()


def build_judge(size: dict, variant: str, threads: int | None):  # noqa: ANN201
    import torch
    from transformers import Phi3Config, Phi3ForCausalLM

    from voicesafety.backends.causal_lm import CausalLMBackend
    from voicesafety.classifier import Classifier
    from voicesafety.judge import JudgeEncoder
    from voicesafety.pipeline import ModelPart
    from voicesafety.prompts import JudgePrompt
    from voicesafety.spec import ModelSpec

    torch.manual_seed(0)
    config = Phi3Config(**size)
    start = time.perf_counter()
    model = random_model(Phi3ForCausalLM, config)
    built = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())  # before int8 hides them in packed ops
    if variant == "int8":
        torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8,
                                               inplace=True)
    tokenizer = build_tokenizer(config.vocab_size)
    spec = ModelSpec(name=f"phi3-mini-random-{variant}", modality="text", labels=("toxic",),
                     activation="softmax", max_length=config.max_position_embeddings,
                     format="judge")
    part = ModelPart(spec, CausalLMBackend(model, "cpu", threads=threads), tokenizer, None,
                     JudgeEncoder(tokenizer, JudgePrompt(), spec.max_length))
    return Classifier(None, part, spec.name), built, time.perf_counter() - start, params


def run_variant(args: argparse.Namespace) -> dict:
    """One variant in this process: judge texts/s, the cascade, peak RSS."""
    import voicesafety as vs

    size = SMALL if args.small else PHI3_MINI
    judge, built, ready, params = build_judge(size, args.variant, args.threads)
    benign, toxic = texts_from_repo()
    texts = (toxic[: args.texts // 2] + benign)[: args.texts]
    encoder = judge.text.judge
    lengths = [len(encoder.encode(t, None).ids) for t in texts]
    judge.score_text(texts[:1], batch_size=1)  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        judge.score_text(texts, batch_size=args.batch_size, progress=False)
        times.append(time.perf_counter() - start)
    per_s = [len(texts) / t for t in times]
    out = {"variant": args.variant, "params": params, "build_s": built, "ready_s": ready,
           "texts": len(texts), "prompt_tokens": [min(lengths), statistics.median(lengths),
                                                  max(lengths)],
           "texts_per_s": statistics.median(per_s), "spread": [min(per_s), max(per_s)]}
    # cascade: a stream where the fast model flags 5 %
    fast = vs.Classifier.from_pretrained(threads=args.threads)
    flagged = [t for t, r in zip(toxic, fast.score_text(toxic)) if r.flagged]
    clean = [t for t, r in zip(benign, fast.score_text(benign)) if not r.flagged]
    n_flag = max(1, round(args.stream * 0.05))
    stream = [clean[i % len(clean)] for i in range(args.stream - n_flag)]
    for k in range(n_flag):
        stream.insert((k + 1) * len(stream) // (n_flag + 1), flagged[k % len(flagged)])
    cascade = vs.Cascade(fast, judge, band=None)
    ctimes, asked = [], 0
    for _ in range(args.repeats):
        start = time.perf_counter()
        results = cascade.score_text(stream, batch_size=args.batch_size, progress=False)
        ctimes.append(time.perf_counter() - start)
        asked = sum(r.asked_judge for r in results)
    cascade_s = statistics.median(ctimes)
    out.update(stream=len(stream), asked=asked, cascade_s=cascade_s,
               cascade_spread=[min(ctimes), max(ctimes)],
               cascade_texts_per_s=len(stream) / cascade_s,
               judge_all_s=len(stream) / out["texts_per_s"],
               peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    return out


def machine() -> list[str]:
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                flags = " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni",
                                             "avx512_bf16", "amx_bf16", "amx_int8") if f in have)
                break
        model = next((ln.split(":", 1)[1].strip() for ln in
                      Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("model name")), "?")
    except OSError:
        model = "?"
    import torch
    import transformers

    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"- machine: {platform.platform()}, {model}, {os.cpu_count()} CPUs, CPU flags: "
            f"{flags or 'none of avx2/avx512/vnni/amx'}; torch threads {torch.get_num_threads()}",
            f"- versions: python {platform.python_version()}, torch {torch.__version__}, "
            f"transformers {transformers.__version__}",
            f"- load average (1/5/15 min) at start: {load} (a machine shared with other jobs)"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a 4-layer model (smoke run)")
    parser.add_argument("--variants", default="fp32,int8")
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--texts", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stream", type=int, default=40, help="texts in the cascade stream")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args)))
        return 0
    lines = [f"# bench_judge ({'small' if args.small else 'full-size Phi-3-mini'}, random "
             "weights)", "",
             f"- command: `python benchmarks/bench_judge.py {' '.join(sys.argv[1:])}`",
             f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", *machine()]
    rows = []
    for variant in args.variants.split(","):
        cmd = [sys.executable, __file__, "--variant", variant, *sys.argv[1:]]
        print("running", variant, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            rows.append({"variant": variant, "error": proc.stderr.strip().splitlines()[-1]})
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    ok = [r for r in rows if "error" not in r]
    if ok:
        r0 = ok[0]
        lines += [f"- model: Phi3ForCausalLM, {r0['params'] / 1e9:.2f} B parameters, random "
                  f"weights (built in {r0['build_s']:.0f} s); prompt: the Phi-3 toxicity judge's "
                  f"(docs/judge.md), word-level tokenizer; prompt tokens per text min/median/max "
                  f"{r0['prompt_tokens'][0]}/{r0['prompt_tokens'][1]:.0f}/"
                  f"{r0['prompt_tokens'][2]}; answers 'toxic' (1 token) / 'non-toxic' (3)",
                  f"- judge: {r0['texts']} texts (examples/data/texts.csv), batch size "
                  f"{args.batch_size}, {args.repeats} timed runs after a warm-up; each variant "
                  "in its own process, one after the other", ""]
    lines += ["| variant | texts/s (median) | spread (min-max) | s/text | × fp32 | peak RSS |",
              "|---|---:|---:|---:|---:|---:|"]
    base = next((r["texts_per_s"] for r in ok if r["variant"] == "fp32"), None)
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['variant']} | failed: {r['error']} | | | | |")
            continue
        ratio = f"{r['texts_per_s'] / base:.2f}×" if base else "-"
        lines.append(f"| {r['variant']} | {r['texts_per_s']:.3f} | {r['spread'][0]:.3f}-"
                     f"{r['spread'][1]:.3f} | {1 / r['texts_per_s']:.1f} | {ratio} | "
                     f"{r['peak_rss_gb']:.1f} GiB |")
    lines += ["", "Cascade (fast: embedded voicesafety/mini text model; judge asked about the "
              "texts it flags, band=None) on a stream where the fast model flags 5 %:", "",
              "| judge variant | stream | judge asked | cascade s (median, spread) | cascade "
              "texts/s | judging all (s, from texts/s) | speed-up |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for r in ok:
        lines.append(f"| {r['variant']} | {r['stream']} | {r['asked']} | {r['cascade_s']:.1f} "
                     f"({r['cascade_spread'][0]:.1f}-{r['cascade_spread'][1]:.1f}) | "
                     f"{r['cascade_texts_per_s']:.2f} | {r['judge_all_s']:.0f} | "
                     f"{r['judge_all_s'] / r['cascade_s']:.1f}× |")
    lines += ["", "Raw:", "", "```", *(json.dumps(r) for r in rows), "```", ""]
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / (
        "judge_small.md" if args.small else "judge.md")
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
