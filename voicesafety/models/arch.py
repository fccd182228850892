"""Architectures of the compact built-in models ("voicesafety/mini").

Two small multilabel classifiers over the Roblox v2 voice-safety taxonomy:

* :class:`MiniAudioModel` -- raw 16 kHz mono waveform ``[B, T]`` to logits ``[B, L]``.
  Its log-mel front end is built only from export-friendly ops (a strided ``conv1d`` with fixed
  windowed-DFT kernels, squares, a mel ``matmul`` and ``log``) so the whole model runs under
  torch eager, TorchScript and ONNX (opset 17) with dynamic batch and time axes.
* :class:`MiniTextModel` -- token ids + attention mask ``[B, S]`` to logits ``[B, L]``; a tiny
  pre-LN transformer whose attention and pooling ignore padded positions.
* :class:`MiniTextEnsemble` -- several :class:`MiniTextModel` members on one tokenizer, same
  call; their mean logit (the shipped text model has two).

:func:`save_mini` / :func:`load_mini` read and write a model folder made of ``config.json``,
``model.safetensors``, ``policy.json`` and, for text models, ``tokenizer.json``. Only ``torch``,
``numpy`` and ``safetensors`` are needed at runtime.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

if TYPE_CHECKING:
    from tokenizers import Tokenizer

LABELS: list[str] = [
    "Discrimination",
    "Harassment",
    "Sexual",
    "IllegalAndRegulated",
    "DatingAndRomantic",
    "Profanity",
]
"""Roblox v2 voice-safety labels, in model output order."""

FORMAT_VERSION = 1
AUDIO_MODEL_TYPE = "voicesafety-mini-audio"
TEXT_MODEL_TYPE = "voicesafety-mini-text"
SAMPLE_RATE = 16000
MIN_SAMPLES = 400
"""Shortest waveform (in samples) the audio model accepts: one 25 ms analysis window."""


# --------------------------------------------------------------------------------------------
# Audio front end
# --------------------------------------------------------------------------------------------


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    n_fft: int, n_mels: int, sample_rate: int, f_min: float = 20.0, f_max: float | None = None
) -> np.ndarray:
    """Triangular HTK-style mel filterbank.

    Args:
        n_fft: DFT size; the filterbank covers ``n_fft // 2 + 1`` frequency bins.
        n_mels: number of mel bands.
        sample_rate: sampling rate in Hz.
        f_min: lowest band edge in Hz.
        f_max: highest band edge in Hz (Nyquist when ``None``).

    Returns:
        Array of shape ``[n_fft // 2 + 1, n_mels]`` (float32).
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    n_freqs = n_fft // 2 + 1
    freqs = np.linspace(0.0, sample_rate / 2, n_freqs)
    mels = np.linspace(_hz_to_mel(np.array(f_min)), _hz_to_mel(np.array(f_max)), n_mels + 2)
    edges = _mel_to_hz(mels)
    fb = np.zeros((n_freqs, n_mels), dtype=np.float64)
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        fb[:, m] = np.maximum(0.0, np.minimum(up, down))
    return fb.astype(np.float32)


class LogMelFrontEnd(nn.Module):
    """Export-friendly log-mel spectrogram with per-clip level normalisation.

    The short-time Fourier transform is a strided ``conv1d`` whose fixed kernels are the
    Hann-windowed cosine and sine DFT bases (no ``torch.stft`` and no complex tensors). The log
    mel energies are shifted so that the loudest time-frequency cell of each clip is 0 and then
    floored at ``-floor``; this makes the features invariant to input gain and lets zero padding
    at the end of a clip map to a constant floor value.
    """

    dft_kernel: Tensor  # buffers (rebuilt at load time, not saved)
    mel_fb: Tensor

    def __init__(
        self,
        n_fft: int = 400,
        hop_length: int = 160,
        n_mels: int = 64,
        sample_rate: int = SAMPLE_RATE,
        floor: float = 12.0,
    ) -> None:
        """Build the fixed DFT and mel matrices.

        Args:
            n_fft: analysis window / DFT size in samples.
            hop_length: hop between frames in samples.
            n_mels: number of mel bands.
            sample_rate: sampling rate in Hz.
            floor: dynamic range kept below the per-clip maximum, in natural-log units.
        """
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.floor = float(floor)
        n_freqs = n_fft // 2 + 1
        n = np.arange(n_fft)
        window = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / n_fft)  # periodic Hann
        k = np.arange(n_freqs)[:, None]
        angle = 2.0 * math.pi * k * n[None, :] / n_fft
        scale = 1.0 / math.sqrt(n_fft)
        cos_k = np.cos(angle) * window[None, :] * scale
        sin_k = -np.sin(angle) * window[None, :] * scale
        kernel = np.concatenate([cos_k, sin_k], axis=0)[:, None, :].astype(np.float32)
        self.register_buffer("dft_kernel", torch.from_numpy(kernel), persistent=False)
        fb = mel_filterbank(n_fft, n_mels, sample_rate)
        self.register_buffer("mel_fb", torch.from_numpy(fb), persistent=False)
        self.n_freqs = n_freqs

    def forward(self, input_values: Tensor) -> Tensor:
        """Compute normalised log-mel features.

        Args:
            input_values: waveform ``[B, T]`` (float32, ``T >= n_fft``).

        Returns:
            Features ``[B, n_mels, N]`` with ``N = 1 + (T - n_fft) // hop_length``.
        """
        spec = F.conv1d(input_values.unsqueeze(1), self.dft_kernel, stride=self.hop_length)
        real = spec[:, : self.n_freqs, :]
        imag = spec[:, self.n_freqs :, :]
        power = real * real + imag * imag  # [B, F, N]
        mel = torch.matmul(power.transpose(1, 2), self.mel_fb)  # [B, N, M]
        logmel = torch.log(mel + 1e-6)
        peak = torch.amax(logmel, dim=(1, 2), keepdim=True)
        feats = torch.clamp(logmel - peak, min=-self.floor)
        return feats.transpose(1, 2)


# --------------------------------------------------------------------------------------------
# Shared blocks
# --------------------------------------------------------------------------------------------


class SelfAttention(nn.Module):
    """Multi-head self-attention written with plain matmuls (export-friendly)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        """Create the projections.

        Args:
            dim: model width (must be divisible by ``heads``).
            heads: number of attention heads.
            dropout: dropout on the attention weights (training only).
        """
        super().__init__()
        if dim % heads:
            raise ValueError("dim must be divisible by heads")
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, bias: Tensor | None = None) -> Tensor:
        """Attend over the sequence.

        Args:
            x: ``[B, S, D]``.
            bias: optional additive attention bias broadcastable to ``[B, H, S, S]``
                (large negative values on masked keys).

        Returns:
            ``[B, S, D]``.
        """
        b, s, d = x.shape
        qkv = self.qkv(x).reshape(b, s, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        if bias is not None:
            scores = scores + bias
        weights = self.dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(weights, v).transpose(1, 2).reshape(b, s, d)
        return self.out(ctx)


class TransformerLayer(nn.Module):
    """Pre-LayerNorm transformer encoder layer."""

    def __init__(self, dim: int, heads: int, ff_mult: int = 2, dropout: float = 0.1) -> None:
        """Create the layer.

        Args:
            dim: model width.
            heads: attention heads.
            ff_mult: feed-forward expansion factor.
            dropout: dropout rate (training only).
        """
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, ff_mult * dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(ff_mult * dim, dim),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, bias: Tensor | None = None) -> Tensor:
        """Apply attention and feed-forward sublayers with residuals (``x``: ``[B, S, D]``)."""
        x = x + self.dropout(self.attn(self.norm1(x), bias))
        return x + self.dropout(self.ff(self.norm2(x)))


class ConvBlock(nn.Module):
    """Residual depthwise-separable 1-D convolution block."""

    def __init__(self, channels: int, kernel_size: int, stride: int, dilation: int) -> None:
        """Create the block.

        Args:
            channels: number of channels (kept constant).
            kernel_size: depthwise kernel size (odd).
            stride: temporal stride (1 or 2).
            dilation: depthwise dilation.
        """
        super().__init__()
        pad = dilation * (kernel_size - 1) // 2
        self.dw = nn.Conv1d(
            channels,
            channels,
            kernel_size,
            stride=stride,
            padding=pad,
            dilation=dilation,
            groups=channels,
            bias=False,
        )
        self.bn1 = nn.BatchNorm1d(channels)
        self.pw = nn.Conv1d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(channels)
        self.skip: nn.Module = (
            nn.Conv1d(channels, channels, 1, stride=stride, bias=False)
            if stride > 1
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, N]`` to ``[B, C, ceil(N / stride)]``."""
        y = F.gelu(self.bn1(self.dw(x)))
        y = self.bn2(self.pw(y))
        return F.gelu(y + self.skip(x))


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class MiniAudioModel(nn.Module):
    """Small log-mel CNN + self-attention classifier over raw 16 kHz audio.

    Accepts any length ``T >= 400`` samples; frame-level features are pooled over time with a
    learned attention-weighted mean concatenated with a max, so the output does not depend on a
    fixed input length.
    """

    def __init__(
        self,
        num_labels: int = len(LABELS),
        n_mels: int = 64,
        channels: int = 128,
        kernel_size: int = 5,
        strides: tuple[int, ...] | list[int] = (2, 1, 2, 1, 1, 1),
        dilations: tuple[int, ...] | list[int] = (1, 2, 1, 2, 4, 1),
        attn_layers: int = 1,
        heads: int = 4,
        dropout: float = 0.1,
        phones: int = 0,
        head_channels: int = 128,
        head_layers: int = 2,
    ) -> None:
        """Build the model.

        Args:
            num_labels: number of output logits.
            n_mels: mel bands of the front end.
            channels: width of the convolutional and attention layers.
            kernel_size: depthwise kernel size of the conv blocks.
            strides: temporal stride of each conv block.
            dilations: dilation of each conv block (same length as ``strides``).
            attn_layers: number of transformer layers after the conv blocks.
            heads: attention heads.
            dropout: dropout rate (training only).
            phones: size of the phone-posterior bottleneck (phoneme inventory + CTC blank);
                0 pools the encoder frames directly (the first-release architecture).
            head_channels: width of the classifier over phone posteriors (``phones > 0``).
            head_layers: transformer layers of that classifier (``phones > 0``).
        """
        super().__init__()
        if len(strides) != len(dilations):
            raise ValueError("strides and dilations must have the same length")
        self.frontend = LogMelFrontEnd(n_mels=n_mels)
        self.in_norm = nn.BatchNorm1d(n_mels)
        self.stem = nn.Sequential(
            nn.Conv1d(n_mels, channels, 5, padding=2, bias=False),
            nn.BatchNorm1d(channels),
            nn.GELU(),
        )
        self.blocks = nn.ModuleList(
            ConvBlock(channels, kernel_size, s, d) for s, d in zip(strides, dilations, strict=True)
        )
        self.layers = nn.ModuleList(
            TransformerLayer(channels, heads, dropout=dropout) for _ in range(attn_layers)
        )
        self.norm = nn.LayerNorm(channels)
        self.phones = phones
        width = channels
        if phones > 0:
            # Phone bottleneck: the encoder predicts per-frame phone posteriors (trained with
            # CTC on espeak-ng's phoneme transcripts) and the classifier only sees those
            # posteriors, so it can also be trained on phonemised *text* (simulated posteriors).
            self.phone_head = nn.Linear(channels, phones)
            self.phone_embed = nn.Linear(phones, head_channels)
            self.head_blocks = nn.ModuleList(
                ConvBlock(head_channels, kernel_size, 1, d) for d in (1, 2)
            )
            self.head_layers = nn.ModuleList(
                TransformerLayer(head_channels, heads, dropout=dropout) for _ in range(head_layers)
            )
            self.head_norm = nn.LayerNorm(head_channels)
            width = head_channels
        self.pool_score = nn.Linear(width, 1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * width, num_labels)

    def features(self, input_values: Tensor) -> Tensor:
        """Front end only: waveform ``[B, T]`` to normalised log-mel ``[B, n_mels, N]``."""
        return self.frontend(input_values)

    def encode(self, feats: Tensor) -> Tensor:
        """Frame encoder: front-end features ``[B, n_mels, N]`` to ``[B, N', C]`` with
        ``N' = ceil(N / prod(strides))`` (training also puts a CTC phoneme head on these)."""
        x = self.stem(self.in_norm(feats))
        for block in self.blocks:
            x = block(x)
        x = x.transpose(1, 2)  # [B, N', C]
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)

    def phone_logits(self, feats: Tensor) -> Tensor:
        """Per-frame phone logits ``[B, N', phones]`` (index 0 = CTC blank); ``phones > 0``."""
        return self.phone_head(self.encode(feats))

    def classify_phones(self, posteriors: Tensor) -> Tensor:
        """Classifier over phone posteriors ``[B, N', phones]``; returns logits."""
        x = self.phone_embed(posteriors).transpose(1, 2)
        for block in self.head_blocks:
            x = block(x)
        x = x.transpose(1, 2)
        for layer in self.head_layers:
            x = layer(x)
        return self._pool(self.head_norm(x))

    def forward_features(self, feats: Tensor) -> Tensor:
        """Classifier on precomputed front-end features ``[B, n_mels, N]``; returns logits."""
        if self.phones > 0:
            return self.classify_phones(torch.softmax(self.phone_logits(feats), dim=-1))
        return self._pool(self.encode(feats))

    def _pool(self, x: Tensor) -> Tensor:
        weights = torch.softmax(self.pool_score(x), dim=1)  # [B, N', 1]
        mean = torch.sum(weights * x, dim=1)
        peak = torch.amax(x, dim=1)
        return self.classifier(self.dropout(torch.cat([mean, peak], dim=-1)))

    def forward(self, input_values: Tensor) -> Tensor:
        """Score a batch of waveforms.

        Args:
            input_values: ``[B, T]`` float32 mono 16 kHz waveform in ``[-1, 1]``, ``T >= 400``.

        Returns:
            Logits ``[B, num_labels]`` (apply a sigmoid for per-label scores).
        """
        return self.forward_features(self.features(input_values))


class MiniTextModel(nn.Module):
    """Tiny transformer text classifier with masked attention and masked mean/max pooling,
    and optionally a lexicon (``lexicon=True``): a per-token, per-label score table whose
    scores are pooled over the text (sum / sqrt(length) plus max) and added to the logits.

    Why the lexicon: on the real dev texts a linear model on this tokenizer's unigrams ranked
    toxic rows far better than the transformer alone (ConvAbuse AP 0.87 vs 0.71, Stormfront
    0.38 vs 0.21; ``benchmarks/results/text_diagnosis.md``), and a mean-pooled branch on the
    shared embeddings did not close the gap; a table of its own, pooled so that one abusive
    word in a long comment still counts, did (dev AP 0.94 / 0.82 / 0.37 on its own). The
    trainer fits it first and trains the transformer on what it leaves
    (:class:`voicesafety.train.TextSettings`, ``lexicon_epochs``).
    """

    def __init__(
        self,
        vocab_size: int,
        num_labels: int = len(LABELS),
        dim: int = 128,
        layers: int = 2,
        heads: int = 4,
        max_length: int = 128,
        dropout: float = 0.1,
        lexicon: bool = False,
    ) -> None:
        """Build the model.

        Args:
            vocab_size: tokenizer vocabulary size.
            num_labels: number of output logits.
            dim: model width.
            layers: transformer layers.
            heads: attention heads.
            max_length: longest supported sequence (size of the position table).
            dropout: dropout rate (training only).
            lexicon: add the lexicon (see the class docstring; zero-initialised).
        """
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Embedding(max_length, dim)
        self.layers = nn.ModuleList(
            TransformerLayer(dim, heads, dropout=dropout) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * dim, num_labels)
        self.lexicon = nn.Embedding(vocab_size, num_labels) if lexicon else None
        if self.lexicon is not None:
            nn.init.zeros_(self.lexicon.weight)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Score a batch of token sequences.

        Args:
            input_ids: ``[B, S]`` int64 token ids (``S <= max_length``).
            attention_mask: ``[B, S]`` int64, 1 for real tokens and 0 for padding.

        Returns:
            Logits ``[B, num_labels]``; padded positions do not affect them.
        """
        seq = input_ids.shape[1]
        tokens = self.embed(input_ids)
        x = self.dropout(tokens + self.pos.weight[:seq].unsqueeze(0))
        mask = attention_mask.to(x.dtype)  # [B, S]
        bias = ((1.0 - mask) * -1e4)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        x = self.norm(x)
        m = mask.unsqueeze(-1)
        mean = torch.sum(x * m, dim=1) / torch.clamp(torch.sum(m, dim=1), min=1.0)
        peak = torch.amax(x + (1.0 - m) * -1e4, dim=1)
        logits = self.classifier(self.dropout(torch.cat([mean, peak], dim=-1)))
        if self.lexicon is not None:
            logits = logits + self.lexical_logits(input_ids, attention_mask)
        return logits

    @property
    def num_labels(self) -> int:
        """Number of output logits."""
        return int(self.classifier.out_features)

    def lexical_logits(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """The lexicon's part of the logits ``[B, num_labels]``: per-token scores summed and
        divided by sqrt(length), plus their max (padding excluded). Requires ``lexicon=True``.
        """
        if self.lexicon is None:
            raise ValueError("this model has no lexicon (build it with lexicon=True)")
        scores = self.lexicon(input_ids)
        m = attention_mask.to(scores.dtype).unsqueeze(-1)
        count = torch.clamp(torch.sum(m, dim=1), min=1.0)
        total = torch.sum(scores * m, dim=1) / torch.sqrt(count)
        return total + torch.amax(scores + (1.0 - m) * -1e4, dim=1)


class MiniTextEnsemble(nn.Module):
    """Several :class:`MiniTextModel` members on one tokenizer; the logits are their mean.

    Why: two runs of the embedded model's recipe that differ only in seed rank real text about
    as well as each other but make different mistakes, and their mean logit ranks it better
    than either (real dev mean binarized AP: the shipped pair 0.778 / 0.779 → 0.784; the first
    pair, before the "any toxic" labels were limited, 0.769 / 0.768 → 0.789;
    ``docs/models.md``). Distilling that first pair into one model kept none of the gain. Built
    from a config whose ``arch`` has ``members`` > 1; each member has the rest of ``arch``.
    """

    def __init__(self, members: int | Sequence[MiniTextModel], **arch: Any) -> None:
        """Build the ensemble.

        Args:
            members: how many untrained members to build from ``arch``, or the trained
                members themselves (same tokenizer and labels).
            arch: the members' :class:`MiniTextModel` arguments (when ``members`` is a count).
        """
        super().__init__()
        if not isinstance(members, int) and arch:
            raise ValueError("give a member count with arch, or trained members without it")
        models = (
            [MiniTextModel(**arch) for _ in range(members)]
            if isinstance(members, int)
            else list(members)
        )
        if len(models) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(models)}")
        self.members = nn.ModuleList(models)

    @property
    def num_labels(self) -> int:
        """Number of output logits."""
        return int(cast(MiniTextModel, self.members[0]).num_labels)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Mean of the members' logits ``[B, num_labels]`` (see :meth:`MiniTextModel.forward`)."""
        logits = [member(input_ids, attention_mask) for member in self.members]
        return torch.stack(logits).mean(dim=0)


TextModel = MiniTextModel | MiniTextEnsemble
"""Either embedded text architecture (same call: ``model(input_ids, attention_mask)``)."""


# --------------------------------------------------------------------------------------------
# Folder format
# --------------------------------------------------------------------------------------------

_MODEL_CLASSES: dict[str, type[nn.Module]] = {
    AUDIO_MODEL_TYPE: MiniAudioModel,
    TEXT_MODEL_TYPE: MiniTextModel,
}


def default_policy(labels: list[str] | None = None, threshold: float = 0.5) -> dict[str, Any]:
    """Return a policy flagging a clip when any label's score reaches ``threshold``."""
    labels = LABELS if labels is None else labels
    return {"thresholds": {lab: threshold for lab in labels}, "default": threshold, "rule": "any"}


def save_mini(
    model: nn.Module,
    config: dict[str, Any],
    folder: Path,
    policy: dict[str, Any] | None = None,
    tokenizer: Tokenizer | str | Path | None = None,
) -> None:
    """Write a mini model folder.

    Writes ``config.json``, ``model.safetensors`` (persistent parameters and buffers; the fixed
    front-end matrices are rebuilt at load time), ``policy.json`` and, when given, the tokenizer
    as ``tokenizer.json``.

    Args:
        model: a :class:`MiniAudioModel` or :class:`MiniTextModel`.
        config: the ``config.json`` content; must contain ``model_type`` and ``arch``. A
            ``policy`` key, if present, is moved to ``policy.json`` instead.
        folder: destination folder (created if needed).
        policy: threshold policy; defaults to ``config["policy"]`` or 0.5 for every label.
        tokenizer: a ``tokenizers.Tokenizer`` (text models) or a path to a ``tokenizer.json``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = dict(config)
    policy = policy or config.pop("policy", None) or default_policy(config.get("labels"))
    config.pop("policy", None)
    if config.get("model_type") not in _MODEL_CLASSES:
        raise ValueError(f"unknown model_type {config.get('model_type')!r}")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "model.safetensors").chmod(0o644)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "policy.json").write_text(json.dumps(policy, indent=2) + "\n")
    if tokenizer is not None:
        if isinstance(tokenizer, (str, Path)):
            (folder / "tokenizer.json").write_text(Path(tokenizer).read_text())
        else:
            tokenizer.save(str(folder / "tokenizer.json"))


def build_mini(config: dict[str, Any]) -> nn.Module:
    """Instantiate an untrained model from a ``config.json`` dictionary."""
    cls = _MODEL_CLASSES.get(config.get("model_type", ""))
    if cls is None:
        raise ValueError(f"unknown model_type {config.get('model_type')!r}")
    arch = dict(config["arch"])
    if cls is MiniTextModel and int(arch.get("members", 1)) > 1:
        return MiniTextEnsemble(**arch)
    arch.pop("members", None)
    return cls(**arch)


def load_mini(folder: Path) -> tuple[nn.Module, dict[str, Any]]:
    """Load a mini model folder written by :func:`save_mini`.

    Args:
        folder: folder containing ``config.json`` and ``model.safetensors``.

    Returns:
        ``(model, config)`` with the model in eval mode on CPU.
    """
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    if config.get("voicesafety_format", 1) > FORMAT_VERSION:
        raise ValueError(f"unsupported voicesafety_format {config['voicesafety_format']}")
    model = build_mini(config)
    state = load_file(str(folder / "model.safetensors"))
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, config


def split_members(
    model: nn.Module, config: dict[str, Any]
) -> list[tuple[MiniTextModel, dict[str, Any]]]:
    """Each member of a text model with the single-model ``config.json`` it would be saved
    with (``arch`` without ``members``); a single :class:`MiniTextModel` is its own one member.

    For looking at one member alone (its scores, its speed): ``save_mini(*split_members(model,
    config)[0], folder, ...)`` writes the first member as a model folder of its own.
    """
    if isinstance(model, MiniTextEnsemble):
        models = [cast(MiniTextModel, m) for m in model.members]
    elif isinstance(model, MiniTextModel):
        models = [model]
    else:
        raise TypeError(f"expected a text model, got {type(model).__name__}")
    arch = {k: v for k, v in config["arch"].items() if k != "members"}
    return [(m, {**config, "arch": dict(arch)}) for m in models]


def load_policy(folder: Path) -> dict[str, Any]:
    """Read ``policy.json`` from a mini model folder (0.5 for every label when absent)."""
    path = Path(folder) / "policy.json"
    if not path.exists():
        return default_policy()
    return json.loads(path.read_text())
