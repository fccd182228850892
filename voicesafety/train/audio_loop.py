"""The training loop every student audio model goes through (the embedded one included).

Log-mel features are computed once by the model's own front end; batches are bucketed by
length and SpecAugment-ed; AdamW with a warm-up + cosine schedule; the epoch kept is chosen
by a held-out criterion with early stopping. A ``loss`` hook lets a recipe add its own terms
(the embedded model adds CTC on phonemes and a classifier on simulated phone posteriors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..backends.threads import resolve_threads, torch_threads
from ..models.arch import MiniAudioModel
from .dropout import fast_dropout
from .loop import BestEpoch, Ema, cosine, seed_all

AudioLoss = Callable[[MiniAudioModel, torch.Tensor, list[int]], torch.Tensor]
"""``loss(model, features [B, M, N], rows) -> scalar``: the loss of one batch."""
AudioCriterion = Callable[[MiniAudioModel], float]
"""``criterion(model) -> value``, lower is better: picks the epoch kept (early stopping)."""


@dataclass
class AudioSettings:
    """Knobs of the audio trainer (defaults: the embedded model's front end, a smaller body)."""

    seed: int = 0
    arch: dict = field(
        default_factory=lambda: {"n_mels": 64, "channels": 96, "attn_layers": 1, "heads": 4}
    )
    epochs: int = 10
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.02
    ema: float = 0.0  # EMA decay of the weights (0 = off)
    threads: int | None = None  # torch threads (None: the library's load-aware default)
    patience: int = 3  # stop after this many epochs without a better held-out value (0 = never)
    first_check: int = 0  # the criterion runs from this epoch (0-based) on
    # dropout masks from a quarter of the random draws on CPU (voicesafety.train.dropout):
    # the same Bernoulli masks in distribution, a different random stream than nn.Dropout
    fast_dropout: bool = True


@torch.no_grad()
def compute_features(model: MiniAudioModel, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Front-end log-mel features (float16 ``[M, N]``) of 16 kHz clips (int16 or float)."""
    feats = []
    for wav in clips:
        if wav.dtype == np.int16:
            x = torch.from_numpy(wav.astype(np.float32) / 32767.0)
        else:
            x = torch.from_numpy(np.asarray(wav, np.float32))
        if x.numel() < 400:
            x = F.pad(x, (0, 400 - x.numel()))
        feats.append(model.features(x[None])[0].numpy().astype(np.float16))
    return feats


def batch_features(feats: Sequence[np.ndarray], idx: list[int], floor: float) -> torch.Tensor:
    """Right-pad the features of rows ``idx`` with the front end's floor: ``[B, M, N]``."""
    n = max(feats[i].shape[1] for i in idx)
    out = torch.full((len(idx), feats[idx[0]].shape[0], n), -floor)
    for k, i in enumerate(idx):
        out[k, :, : feats[i].shape[1]] = torch.from_numpy(feats[i].astype(np.float32))
    return out


def spec_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Two frequency and two time masks per clip (filled with the clip's mean)."""
    b, m, n = x.shape
    x = x.clone()
    for k in range(b):
        for _ in range(2):
            w = int(torch.randint(0, 9, (1,), generator=g))
            f0 = int(torch.randint(0, max(1, m - w), (1,), generator=g))
            x[k, f0 : f0 + w, :] = x[k].mean()
            w = int(torch.randint(0, min(20, max(1, n // 8)) + 1, (1,), generator=g))
            t0 = int(torch.randint(0, max(1, n - w), (1,), generator=g))
            x[k, :, t0 : t0 + w] = x[k].mean()
    return x


@torch.no_grad()
def audio_logits(model: MiniAudioModel, feats: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``[N, L]`` from precomputed features (batched by similar length)."""
    model.eval()
    order = sorted(range(len(feats)), key=lambda i: feats[i].shape[1])
    out = np.zeros((len(feats), model.classifier.out_features), np.float32)
    floor = model.frontend.floor
    for i in range(0, len(order), 32):
        idx = order[i : i + 32]
        out[idx] = model.forward_features(batch_features(feats, idx, floor)).numpy()
    return out


def predict_audio_features(model: MiniAudioModel, feats: Sequence[np.ndarray]) -> np.ndarray:
    """Sigmoid scores ``[N, L]`` from precomputed features."""
    return torch.sigmoid(torch.from_numpy(audio_logits(model, feats))).numpy()


def masked_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BCE over the known targets only (NaN = unknown)."""
    known = ~torch.isnan(y)
    bce = F.binary_cross_entropy_with_logits(logits, torch.nan_to_num(y), reduction="none")
    return (bce * known).sum() / known.sum().clamp(min=1)


@dataclass
class AudioFit:
    """What :func:`fit_audio` returns: the model kept and the per-epoch log."""

    model: MiniAudioModel
    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool


def _fit_audio(
    feats: Sequence[np.ndarray],
    targets: np.ndarray,
    settings: AudioSettings,
    *,
    arch: dict | None = None,
    loss: AudioLoss | None = None,
    criterion: AudioCriterion | None = None,
    log: Callable[[str], None] | None = None,
    desc: str = "audio model",
) -> AudioFit:
    """Train a :class:`MiniAudioModel` on precomputed features and targets ``[N, L]`` in
    [0, 1] (labels, or labels mixed with a teacher's scores).

    Args:
        feats: features from :func:`compute_features`.
        targets: soft targets per clip; NaN where a label is unknown (left out of the
            default loss).
        settings: the knobs.
        arch: the model's architecture (default ``settings.arch``).
        loss: the loss of one batch (default: BCE of the logits against ``targets``).
        criterion: ``criterion(model)``, lower is better, run after each epoch from
            ``settings.first_check`` on; the best epoch is kept and training stops after
            ``settings.patience`` epochs without improvement. None: the last epoch is kept.
        log: where per-epoch lines go (default: the progress bar's ``write``).
        desc: progress bar label.
    """
    from tqdm import tqdm

    s = settings
    seed_all(s.seed + 7)
    model = MiniAudioModel(num_labels=targets.shape[1], **(arch or s.arch))
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    order = sorted(range(len(feats)), key=lambda i: feats[i].shape[1])  # length buckets
    batches = [order[i : i + s.batch_size] for i in range(0, len(order), s.batch_size)]
    steps = s.epochs * len(batches)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda st: cosine(st, steps, max(1, steps // 20))
    )
    tgt = torch.from_numpy(targets.astype(np.float32))
    masked = bool(torch.isnan(tgt).any())  # NaN = label unknown for that clip

    def bce(m: MiniAudioModel, x: torch.Tensor, idx: list[int]) -> torch.Tensor:
        if masked:
            return masked_bce(m.forward_features(x), tgt[idx])
        return F.binary_cross_entropy_with_logits(m.forward_features(x), tgt[idx])

    batch_loss = loss or bce
    g = torch.Generator().manual_seed(s.seed + 8)
    floor = model.frontend.floor
    say = log or tqdm.write
    bar = tqdm(total=steps, desc=desc, unit="step")
    keeper, stopped = BestEpoch(s.patience), False
    history: list[dict[str, float]] = []
    ema = Ema(model, s.ema) if s.ema > 0 else None
    for epoch in range(s.epochs):
        model.train()
        total = 0.0
        with fast_dropout(model) if s.fast_dropout else nullcontext():
            for bi in torch.randperm(len(batches), generator=g).tolist():
                idx = batches[bi]
                x = spec_augment(batch_features(feats, idx, floor), g)
                value = batch_loss(model, x, idx)
                opt.zero_grad()
                value.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
                opt.step()
                sched.step()
                if ema is not None:
                    ema.update(model)
                total += value.item()
                bar.update(1)
                bar.set_postfix(loss=f"{value.item():.4f}")
        row = {"epoch": epoch + 1, "train_loss": total / max(len(batches), 1)}
        if criterion is not None and epoch >= s.first_check:
            cur = ema.model if ema is not None else model
            held = criterion(cur)  # type: ignore[arg-type]
            row["heldout"] = held
            say(f"{desc} epoch {epoch + 1}: train loss {row['train_loss']:.4f}, "
                f"held-out {held:.4f}")  # fmt: skip
            keeper.update(cur, held, epoch + 1)
        history.append(row)
        if criterion is not None and keeper.exhausted:
            stopped = epoch + 1 < s.epochs
            break
    bar.close()
    if ema is not None:
        model = ema.model  # type: ignore[assignment]
    keeper.restore(model)
    return AudioFit(model.eval(), history, keeper.epoch or len(history), stopped)


def fit_audio(
    feats: Sequence[np.ndarray], targets: np.ndarray, settings: AudioSettings, **options: Any
) -> AudioFit:
    """Train a :class:`MiniAudioModel` on ``settings.threads`` torch threads (see
    :func:`_fit_audio` for the options: ``arch``, ``loss``, ``criterion``, ``log``,
    ``desc``)."""
    with torch_threads(resolve_threads(settings.threads)):
        return _fit_audio(feats, targets, settings, **options)
