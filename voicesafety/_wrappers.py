"""Adapters that turn Hugging Face classifiers into plain ``tensors -> logits`` modules.

Every backend runs, scripts and exports these, so they take and return plain tensors only.
"""

from __future__ import annotations

import torch
from torch import nn


class HFAudioLogits(nn.Module):
    """A Hugging Face audio classifier as ``input_values [B, T] -> logits [B, L]``."""

    def __init__(self, model: nn.Module, do_normalize: bool = False) -> None:
        super().__init__()
        self.model = model
        self.do_normalize = do_normalize

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of equal-length 16 kHz waveforms."""
        if self.do_normalize:  # what Wav2Vec2FeatureExtractor(do_normalize=True) does
            mean = input_values.mean(dim=-1, keepdim=True)
            var = input_values.var(dim=-1, keepdim=True, unbiased=False)
            input_values = (input_values - mean) / torch.sqrt(var + 1e-7)
        return self.model(input_values=input_values).logits


class HFTextLogits(nn.Module):
    """A Hugging Face sequence classifier as ``(input_ids, attention_mask) -> logits``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits for a padded batch of token ids."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
