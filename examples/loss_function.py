"""STA as a loss term: push a toy generator's token distributions towards non-toxic text.

The "generator" here is just a learnable tensor of logits [batch, seq, vocab] started near
some toxic texts; in real training it is your model's output distribution (over the
classifier's vocabulary, or mapped onto it). The loss is

    loss = mean toxicity (= 1 - STA)  +  λ · cross-entropy to the source tokens

the second term standing in for content preservation (SIM). Gradients flow through the
frozen toxicity classifier into the generator's logits.

    python examples/loss_function.py                      # embedded default model, seconds
    python examples/loss_function.py --model path/to/hf-text-classifier --steps 50
"""

from __future__ import annotations

import argparse

import torch

import voicesafety as vs

SOURCES = ["you are trash go away", "shut up you stupid noob", "nobody likes you loser"]


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="text classifier (default: embedded)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--content-weight", type=float, default=0.05, help="λ")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    clf = vs.Classifier.from_pretrained(args.model, device="cpu")
    toxicity = clf.text_module()  # frozen nn.Module: token distributions -> toxicity [B]

    one_hot, mask = toxicity.one_hot(SOURCES)  # [B, S, V] in the classifier's vocabulary
    source_ids = one_hot.argmax(-1)
    # Start peaked on the source tokens (p ≈ 0.99), so the first toxicity is the sources' own.
    peak = float(torch.log(torch.tensor(float(toxicity.vocab_size)))) + 5.0
    logits = (peak * one_hot + 0.1 * torch.randn_like(one_hot)).requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=args.lr)

    history = []
    for step in range(args.steps):
        probs = logits.softmax(-1)
        tox = toxicity(probs, mask)  # differentiable; STA = 1 - tox
        content = torch.nn.functional.cross_entropy(
            logits[mask.bool()], source_ids[mask.bool()]
        )
        loss = tox.mean() + args.content_weight * content
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(tox.mean().item())
        if step % 10 == 0 or step == args.steps - 1:
            mean_tox = tox.mean().item()
            print(f"step {step:3d}  mean toxicity {mean_tox:.3f}  (STA {1 - mean_tox:.3f})"
                  f"  content CE {content.item():.3f}")

    tokenizer = toxicity.encoder.tokenizer
    with torch.no_grad():
        ids = logits.argmax(-1)
    outputs = [tokenizer.decode(row[m.bool()].tolist()) for row, m in zip(ids, mask, strict=True)]
    # The argmax of a soft distribution is not what the loss saw; real generators use e.g.
    # straight-through Gumbel-softmax to keep the two close.
    print("\nsource -> argmax output (re-scored by the classifier):")
    for src, out in zip(SOURCES, outputs, strict=True):
        print(f"  {src!r} -> {out!r}  toxicity {clf.score_text(out).toxicity:.3f}")
    return history


if __name__ == "__main__":
    main()
