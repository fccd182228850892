"""The training loop every student text model goes through (the embedded one included).

Masked multilabel BCE plus a loss on the max logit (:func:`partial_label_loss`), AdamW with a
warm-up + cosine schedule, an exponential moving average of the weights, batches of similar
length, token dropout, and the epoch kept by a held-out criterion with early stopping.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ..backends.threads import resolve_threads, torch_threads
from ..models.arch import MiniTextModel, TextModel
from ..text import TextEncoder
from .tokenizer import UNK_ID, encode, train_tokenizer

if TYPE_CHECKING:
    from tokenizers import Tokenizer

Augment = Callable[[int, str, random.Random], str]
"""``augment(row, text, rng) -> text``: rephrase a training text on the fly (or return it)."""
Criterion = Callable[[MiniTextModel], float]
"""``criterion(model) -> value``, lower is better: picks the epoch kept (early stopping)."""


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@dataclass
class TextSettings:
    """Knobs of the text trainer (defaults: those of the embedded model's recipe, fewer
    epochs)."""

    seed: int = 0
    vocab_size: int = 8000
    arch: dict = field(  # lexicon: see MiniTextModel (fitted first, then kept fixed)
        default_factory=lambda: {
            "dim": 128, "layers": 2, "heads": 4, "max_length": 128, "lexicon": True,
        }
    )  # fmt: skip
    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    ema: float = 0.999  # EMA decay of the weights (0 = off)
    token_dropout: float = 0.1  # share of real tokens replaced by <unk> while training
    any_weight: float = 1.0  # weight of the loss on the max logit vs the "any toxic" flag
    threads: int | None = None  # torch threads (None: the library's load-aware default)
    patience: int = 2  # stop after this many epochs without a better held-out value (0 = never)
    # the lexicon (arch ``lexicon: True``): fitted alone first, then the rest on what it leaves
    lexicon_epochs: int = 8  # epochs of the lexicon-only stage (0: trained jointly from the start)
    lexicon_lr: float = 0.05  # its learning rate (Adam, constant, batches of 256)
    lexicon_freeze: bool = True  # keep it fixed while the transformer trains


@dataclass
class EpochSampler:
    """Which rows each epoch trains on: every row of ``always`` plus a fresh sample of
    ``n_pool`` rows of ``pool`` (e.g. a large benign-only source) drawn each epoch."""

    always: np.ndarray
    pool: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_pool: int = 0

    @staticmethod
    def every_row(n: int) -> EpochSampler:
        """All ``n`` rows, every epoch."""
        return EpochSampler(np.arange(n))

    @property
    def size(self) -> int:
        """Rows per epoch."""
        return len(self.always) + self.n_pool

    def rows(self, rng: np.random.Generator) -> np.ndarray:
        """This epoch's rows."""
        return np.concatenate([self.always, rng.choice(self.pool, self.n_pool, replace=False)])


class Ema:
    """Exponential moving average of a model's parameters (buffers are copied)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        """Start from a copy of ``model``."""
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        self.n = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average towards ``model``'s current weights."""
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        for pe, p in zip(self.model.parameters(), model.parameters(), strict=True):
            pe.mul_(d).add_(p.detach(), alpha=1 - d)
        for be, b in zip(self.model.buffers(), model.buffers(), strict=True):
            be.copy_(b)


class BestEpoch:
    """Early stopping on a held-out criterion (lower is better), shared by the text and audio
    trainers: keeps a copy of the best epoch's weights and says when ``patience`` epochs have
    passed without improvement (``patience`` 0: never)."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best = math.inf
        self.epoch = 0
        self.since = 0
        self.state: dict[str, torch.Tensor] | None = None

    def update(self, model: torch.nn.Module, value: float, epoch: int) -> None:
        """Record ``value`` of ``model`` after (1-based) ``epoch``."""
        if value <= self.best:
            self.best, self.epoch, self.since = value, epoch, 0
            self.state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            self.since += 1

    @property
    def exhausted(self) -> bool:
        """Whether ``patience`` epochs in a row brought no improvement."""
        return bool(self.patience) and self.since >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        """Load the best epoch's weights into ``model`` (if any epoch was checked)."""
        if self.state is not None:
            model.load_state_dict(self.state)


def cosine(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then a cosine to 0."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def length_batches(
    rows: np.ndarray, lengths: np.ndarray, size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Shuffled batches of similar-length rows (less padding: real texts run from two words to
    whole comments): shuffle, sort within chunks of 50 batches, cut, shuffle the batches."""
    rows = rows[rng.permutation(len(rows))]
    out: list[list[int]] = []
    chunk = size * 50
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out += [part[j : j + size].tolist() for j in range(0, len(part), size)]
    return [out[k] for k in rng.permutation(len(out))]


def partial_label_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    toxic: torch.Tensor,
    any_weight: float,
    any_labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """BCE on the known labels (NaN = unknown, masked) plus BCE of the max logit against the
    "any toxic" flag, so a source with only toxic / not toxic still trains every head: a toxic
    row pushes its most likely label up, a benign one pushes all of them down. Targets may be
    soft (a teacher's scores).

    ``any_labels`` (``[B, L]`` bool, default every label) limits the max of each row to the
    labels that may explain its flag. Without it, a toxic row of unknown category pushes up
    whichever label the model already scores highest, and one seed of the embedded recipe
    learned to put insults under Sexual that way (docs/models.md). A row with no label allowed
    uses them all.
    """
    known = ~torch.isnan(y)
    bce = F.binary_cross_entropy_with_logits(logits, torch.nan_to_num(y), reduction="none")
    loss = (bce * known).sum() / known.sum().clamp(min=1)
    if any_weight > 0:
        top = logits
        if any_labels is not None:
            allowed = any_labels | ~any_labels.any(dim=1, keepdim=True)
            top = logits.masked_fill(~allowed, float("-inf"))
        loss = loss + any_weight * F.binary_cross_entropy_with_logits(top.amax(dim=1), toxic)
    return loss


def text_tensors(encoder: TextEncoder, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` tensors, encoded as the library does at inference."""
    ids, mask = encode(encoder, texts)
    return torch.from_numpy(ids), torch.from_numpy(mask)


@torch.no_grad()
def text_logits(
    model: TextModel, tok: Tokenizer, texts: Sequence[str], max_length: int
) -> np.ndarray:
    """Logits ``[N, L]`` (batched by length; blank texts get a large negative logit, as the
    library gives them toxicity 0 without running the model)."""
    model.eval()
    encoder = TextEncoder(tok, max_length)
    res = np.full((len(texts), model.num_labels), -30.0, np.float32)
    order = sorted((i for i in range(len(texts)) if texts[i].strip()), key=lambda i: len(texts[i]))
    for i in range(0, len(order), 256):
        idx = order[i : i + 256]
        ids, mask = text_tensors(encoder, [texts[j] for j in idx])
        res[idx] = model(ids, mask).numpy()
    return res


def predict_text(
    model: TextModel, tok: Tokenizer, texts: Sequence[str], max_length: int
) -> np.ndarray:
    """Sigmoid scores ``[N, L]`` for a list of texts, encoded as the library does (blank texts
    score 0, as the library gives them toxicity 0 without running the model)."""
    out = torch.sigmoid(torch.from_numpy(text_logits(model, tok, texts, max_length))).numpy()
    out[np.array([not t.strip() for t in texts], bool)] = 0.0
    return out


def heldout_loss(
    model: TextModel, tok: Tokenizer, texts: Sequence[str], y: np.ndarray,
    toxic: np.ndarray, max_length: int, any_weight: float,
    any_labels: np.ndarray | None = None,
) -> float:
    """:func:`partial_label_loss` of ``model`` on a held-out set (no dropout); ``any_labels``
    as in training."""
    logits = torch.from_numpy(text_logits(model, tok, texts, max_length))
    return float(partial_label_loss(
        logits, torch.from_numpy(np.asarray(y, np.float32)),
        torch.from_numpy(np.asarray(toxic, np.float32)), any_weight,
        None if any_labels is None else torch.from_numpy(np.asarray(any_labels, bool)),
    ))  # fmt: skip


@dataclass
class TextFit:
    """What :func:`fit_text` returns: the model kept, its tokenizer and the per-epoch log."""

    model: MiniTextModel
    tokenizer: Tokenizer
    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool


def fit_lexicon(
    model: MiniTextModel,
    encoder: TextEncoder,
    texts: Sequence[str],
    y: torch.Tensor,
    toxic: torch.Tensor,
    sampler: EpochSampler,
    settings: TextSettings,
    say: Callable[[str], None],
    any_labels: torch.Tensor | None = None,
) -> None:
    """Fit ``model``'s lexicon and output bias alone (logits = lexicon + bias), in place.

    A linear model on tokens is convex and fits the lexical signal of a few thousand real rows
    far better than the transformer trained on the same mix (docs/models.md); fitting it first
    and training the transformer on top keeps that. Texts are encoded once, without the
    on-the-fly rephrasing; each epoch draws its rows from ``sampler`` like the main loop.
    """
    from tqdm import tqdm

    assert model.lexicon is not None
    s = settings
    ids_all, mask_all = text_tensors(encoder, list(texts))
    params = [model.lexicon.weight, model.classifier.bias]
    opt = torch.optim.Adam(params, lr=s.lexicon_lr)
    rng = np.random.default_rng(s.seed + 7)
    batch = 256
    bar = tqdm(total=s.lexicon_epochs * math.ceil(sampler.size / batch), desc="lexicon",
               unit="step")  # fmt: skip
    for epoch in range(s.lexicon_epochs):
        drawn = sampler.rows(rng)
        rows = torch.from_numpy(drawn[rng.permutation(len(drawn))])
        total = 0.0
        for i in range(0, len(rows), batch):
            idx = rows[i : i + batch]
            ids, mask = ids_all[idx], mask_all[idx]
            keep = int(mask.sum(dim=1).max())
            logits = model.lexical_logits(ids[:, :keep], mask[:, :keep]) + model.classifier.bias
            allowed = None if any_labels is None else any_labels[idx]
            loss = partial_label_loss(logits, y[idx], toxic[idx], s.any_weight, allowed)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            bar.update(1)
        say(f"lexicon epoch {epoch + 1}: train loss {total / len(rows):.4f}")
    bar.close()


def _fit_text(
    texts: Sequence[str],
    y: np.ndarray,
    toxic: np.ndarray,
    settings: TextSettings,
    *,
    criterion: Criterion | None = None,
    tokenizer: Tokenizer | None = None,
    sampler: EpochSampler | None = None,
    augment: Augment | None = None,
    log: Callable[[str], None] | None = None,
    desc: str = "text model",
    any_labels: np.ndarray | None = None,
) -> TextFit:
    """Train a tokenizer (unless given) and a :class:`MiniTextModel` on ``(texts, y)``.

    Args:
        texts: training texts (not blank).
        y: ``[N, L]`` float targets in [0, 1] (hard labels or a teacher's scores); NaN where
            a label is unknown for a row (masked out of the loss).
        toxic: ``[N]`` the "any toxic" target of each row (the max logit is trained on it).
        settings: the knobs.
        criterion: ``criterion(model)``, lower is better, run after every epoch on the
            weights in use (the EMA ones when on); the best epoch is kept and training stops
            after ``settings.patience`` epochs without improvement. None: every epoch runs and
            the last is kept.
        tokenizer: a trained tokenizer with ``<pad>`` = 0 and ``<unk>`` = 1 (default: trained
            here on ``texts``).
        sampler: the rows of each epoch (default: every row).
        augment: on-the-fly rephrasing of training texts.
        log: where per-epoch lines go (default: the progress bar's ``write``).
        desc: progress bar label.
        any_labels: ``[N, L]`` bool, the labels the "any toxic" max of each row runs over
            (see :func:`partial_label_loss`; default every label).
    """
    from tqdm import tqdm

    s = settings
    seed_all(s.seed)
    tok = tokenizer if tokenizer is not None else train_tokenizer(texts, vocab_size=s.vocab_size)
    max_len = int(s.arch["max_length"])
    model = MiniTextModel(vocab_size=tok.get_vocab_size(), num_labels=y.shape[1], **s.arch)
    encoder = TextEncoder(tok, max_len)  # one per run: building one copies the tokenizer
    sampler = sampler if sampler is not None else EpochSampler.every_row(len(texts))
    y_all = torch.from_numpy(np.asarray(y, np.float32))
    tox_all = torch.from_numpy(np.asarray(toxic, np.float32))
    if any_labels is not None and np.shape(any_labels) != y_all.shape:
        raise ValueError(f"any_labels has shape {np.shape(any_labels)}; y has {tuple(y_all.shape)}")
    any_all = None if any_labels is None else torch.from_numpy(np.asarray(any_labels, bool))
    say = log or tqdm.write
    if model.lexicon is not None and s.lexicon_epochs > 0:
        fit_lexicon(model, encoder, texts, y_all, tox_all, sampler, s, say, any_all)
        if s.lexicon_freeze:
            model.lexicon.requires_grad_(False)
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=s.lr, weight_decay=s.weight_decay)
    g = torch.Generator().manual_seed(s.seed)
    lengths = np.array([len(t) for t in texts])
    steps = s.epochs * math.ceil(sampler.size / s.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda st: cosine(st, steps, max(1, steps // 20))
    )
    prng = random.Random(s.seed + 5)
    nrng = np.random.default_rng(s.seed + 6)
    ema = Ema(model, s.ema) if s.ema > 0 else None
    keeper = BestEpoch(s.patience)
    history: list[dict[str, float]] = []
    stopped = False
    bar = tqdm(total=steps, desc=desc, unit="step")
    for epoch in range(s.epochs):
        model.train()
        total, n = 0.0, 0
        for idx in length_batches(sampler.rows(nrng), lengths, s.batch_size, nrng):
            batch = [augment(j, texts[j], prng) if augment else texts[j] for j in idx]
            ids, mask = text_tensors(encoder, batch)
            if s.token_dropout > 0:  # replace random real tokens by <unk>
                drop = (torch.rand(ids.shape, generator=g) < s.token_dropout) & (mask > 0)
                ids = ids.masked_fill(drop, UNK_ID)
            allowed = None if any_all is None else any_all[idx]
            loss = partial_label_loss(
                model(ids, mask), y_all[idx], tox_all[idx], s.any_weight, allowed
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model)
            total, n = total + loss.item(), n + 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        row = {"epoch": epoch + 1, "train_loss": total / max(n, 1)}
        if criterion is not None:
            cur = ema.model if ema is not None else model
            value = criterion(cur)  # type: ignore[arg-type]
            row["heldout"] = value
            say(f"{desc} epoch {epoch + 1}: train loss {row['train_loss']:.4f}, "
                f"held-out {value:.4f}")  # fmt: skip
            keeper.update(cur, value, epoch + 1)
        history.append(row)
        if criterion is not None and keeper.exhausted:
            stopped = epoch + 1 < s.epochs
            break
    bar.close()
    if ema is not None:
        model = ema.model  # type: ignore[assignment]
    keeper.restore(model)
    model.eval()
    return TextFit(model, tok, history, keeper.epoch or len(history), stopped)


def fit_text(
    texts: Sequence[str],
    y: np.ndarray,
    toxic: np.ndarray,
    settings: TextSettings,
    **options: Any,
) -> TextFit:
    """Train a tokenizer (unless given) and a :class:`MiniTextModel` on ``(texts, y)``, on
    ``settings.threads`` torch threads (see :func:`_fit_text` for the options:
    ``criterion``, ``tokenizer``, ``sampler``, ``augment``, ``log``, ``desc``, ``any_labels``)."""
    with torch_threads(resolve_threads(settings.threads)):
        return _fit_text(texts, y, toxic, settings, **options)
