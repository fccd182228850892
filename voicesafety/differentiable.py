"""Differentiable text toxicity: let gradients reach a generator through the classifier.

A text generator produces, per position, a probability distribution over a vocabulary.
:class:`DifferentiableToxicity` feeds the *expected* token embedding
(``token_probs @ embedding_matrix``) to the classifier in place of an embedding lookup, so the
toxicity it returns is a smooth function of the generator's output and ``loss.backward()``
reaches the generator. For one-hot distributions it equals ``score_text`` exactly (same
tokens, same model).

Supported text models: Hugging Face sequence classifiers that accept ``inputs_embeds``
(BERT, RoBERTa, DistilBERT, DeBERTa, XLM-R, ELECTRA... — anything exposing
``get_input_embeddings()``) and voicesafety's embedded ``MiniTextModel`` (its lexicon, a
per-token score table, reads the same distributions: ``token_probs @ lexicon``, so a model with
one takes ``token_probs`` only, not ``inputs_embeds``), alone or as an ensemble of members on one
vocabulary (each member reads the same distributions).

    clf = vs.Classifier.from_pretrained("s-nlp/roberta_toxicity_classifier")
    tox = clf.text_module()                      # a frozen torch.nn.Module on clf's device
    probs = generator_logits.softmax(-1)         # [B, S, V] over the classifier's vocabulary
    loss = tox(probs, attention_mask).mean()     # mean toxicity = mean(1 - STA)
    loss.backward()

The distributions must be over the classifier's own vocabulary and laid out as its tokenizer
lays out a text (``<s> ... </s>`` for RoBERTa, ``[CLS] ... [SEP]`` for BERT):
:meth:`DifferentiableToxicity.one_hot` shows the layout for given texts. A generator with
another vocabulary needs a ``[V_gen, V_clf]`` mapping matrix first
(``probs_gen @ mapping``), e.g. from matching token strings.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .errors import InvalidInputError
from .scoring import activate_torch
from .spec import ModelSpec
from .text import TextEncoder, check_texts, encode_texts, pad_batch


def _embedding(model: nn.Module) -> tuple[nn.Embedding, str]:
    """The token embedding layer of ``model`` and how to feed it (``"hf"`` or ``"hook"``)."""
    inner = getattr(model, "model", None)  # voicesafety's HFTextLogits wrapper
    if inner is not None and hasattr(inner, "get_input_embeddings"):
        return getattr(inner, "get_input_embeddings")(), "hf"  # noqa: B009 - a Hugging Face method
    if hasattr(model, "get_input_embeddings"):
        return getattr(model, "get_input_embeddings")(), "hf-direct"  # noqa: B009
    embed = getattr(model, "embed", None)  # voicesafety MiniTextModel
    if isinstance(embed, nn.Embedding):
        return embed, "hook"
    members = getattr(model, "members", None)  # voicesafety MiniTextEnsemble (one vocabulary)
    if isinstance(members, nn.ModuleList) and len(members) > 0:
        first = getattr(members[0], "embed", None)
        if isinstance(first, nn.Embedding):
            return first, "members"
    raise InvalidInputError(
        f"{type(model).__name__} exposes no token embedding layer, so it has no differentiable "
        "path; supported: Hugging Face sequence classifiers (BERT, RoBERTa, DistilBERT, "
        "DeBERTa...) and voicesafety's MiniTextModel"
    )


class DifferentiableToxicity(nn.Module):
    """Toxicity as a differentiable function of token distributions or input embeddings.

    Build it with :meth:`voicesafety.Classifier.text_module`. Calling it returns toxicity
    ``[B]`` (the largest probability over toxic labels, as ``TextResult.toxicity``); use
    :meth:`probabilities` for all labels. The classifier's weights are frozen (no gradients)
    and in eval mode; only the inputs receive gradients.
    """

    _toxic_index: torch.Tensor  # a buffer: indices of the toxic labels

    def __init__(self, model: nn.Module, spec: ModelSpec, encoder: TextEncoder | None = None
                 ) -> None:
        super().__init__()
        self.model = model
        self.spec = spec
        self.encoder = encoder
        self.embedding, self._mode = _embedding(model)
        self.labels: list[str] = list(spec.labels)
        self.toxic_labels: list[str] = list(spec.toxic_labels)
        self.register_buffer(
            "_toxic_index",
            torch.tensor([self.labels.index(lb) for lb in self.toxic_labels], dtype=torch.long),
            persistent=False,
        )
        self.model.eval()

    # ------------------------------------------------------------------ properties

    @property
    def vocab_size(self) -> int:
        """Size of the classifier's vocabulary (last dimension of ``token_probs``)."""
        return int(self.embedding.weight.shape[0])

    @property
    def max_length(self) -> int | None:
        """Longest sequence the model takes (special tokens included)."""
        return self.spec.max_length

    @property
    def device(self) -> torch.device:
        """Device of the classifier's weights."""
        return self.embedding.weight.device

    def train(self, mode: bool = True) -> DifferentiableToxicity:
        """Stays in eval mode (no dropout): the classifier is a fixed judge."""
        return super().train(False)

    # ------------------------------------------------------------------ inputs

    def embed(self, token_probs: torch.Tensor) -> torch.Tensor:
        """Expected token embeddings ``[B, S, D]`` of distributions ``[B, S, V]``."""
        if token_probs.dim() != 3 or token_probs.shape[-1] != self.vocab_size:
            raise InvalidInputError(
                f"token_probs must be [batch, seq, {self.vocab_size}] (the classifier's "
                f"vocabulary), got {tuple(token_probs.shape)}; map another vocabulary first "
                "with probs @ mapping[V_gen, V_clf]"
            )
        weight = self.embedding.weight
        return torch.matmul(token_probs.to(weight.dtype), weight)

    def one_hot(
        self, texts: str | list[str], max_length: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(token_probs [B, S, V], attention_mask [B, S])`` of texts, tokenised as
        ``score_text`` does (padding rows are all-zero distributions, mask 0)."""
        if self.encoder is None:
            raise InvalidInputError("this module was built without a tokenizer")
        items, _ = check_texts(texts)
        encoder, encoded, _ = encode_texts(items, self.encoder, max_length)
        ids, mask = pad_batch(encoded, encoder.pad_id)
        ids_t = torch.from_numpy(ids).to(self.device)
        mask_t = torch.from_numpy(mask).to(self.device)
        probs = torch.nn.functional.one_hot(ids_t, self.vocab_size).to(self.embedding.weight.dtype)
        return probs * mask_t.unsqueeze(-1).to(probs.dtype), mask_t

    # ------------------------------------------------------------------ forward

    def logits(
        self,
        token_probs: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits ``[B, labels]`` from token distributions or input embeddings."""
        if (token_probs is None) == (inputs_embeds is None):
            raise InvalidInputError("pass exactly one of token_probs or inputs_embeds")
        if self._mode == "members" and token_probs is None:
            raise InvalidInputError(
                "this model averages several members, each with its own embeddings: pass "
                "token_probs (one_hot() shows the layout), not inputs_embeds"
            )
        embeds = self.embed(token_probs) if token_probs is not None else inputs_embeds
        assert embeds is not None
        if embeds.dim() != 3 or embeds.shape[-1] != self.embedding.weight.shape[1]:
            raise InvalidInputError(
                f"inputs_embeds must be [batch, seq, {self.embedding.weight.shape[1]}], got "
                f"{tuple(embeds.shape)}"
            )
        batch, seq = embeds.shape[:2]
        if self.max_length is not None and seq > self.max_length:
            raise InvalidInputError(
                f"sequence length {seq} exceeds the model's maximum {self.max_length} tokens"
            )
        if attention_mask is None:
            attention_mask = torch.ones(batch, seq, dtype=torch.long, device=embeds.device)
        attention_mask = attention_mask.to(device=embeds.device, dtype=torch.long)
        if self._mode == "hf":
            inner = cast(nn.Module, self.model.model)  # the Hugging Face model HFTextLogits wraps
            return inner(inputs_embeds=embeds, attention_mask=attention_mask).logits
        if self._mode == "hf-direct":
            return self.model(inputs_embeds=embeds, attention_mask=attention_mask).logits
        # MiniTextModel(s): swap each embedding lookup's output (and its lexicon's) for ours.
        if self._mode == "members":
            assert token_probs is not None
            members = list(cast(nn.ModuleList, self.model.members))
            handles = [h for m in members for h in _swap_lookups(m, None, token_probs)]
        else:
            handles = _swap_lookups(self.model, embeds, token_probs)
        try:
            dummy = torch.zeros(batch, seq, dtype=torch.long, device=embeds.device)
            return self.model(dummy, attention_mask)
        finally:
            for handle in handles:
                handle.remove()

    def probabilities(
        self,
        token_probs: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-label probabilities ``[B, labels]`` (sigmoid or softmax, as ``score_text``)."""
        logits = self.logits(token_probs, attention_mask, inputs_embeds=inputs_embeds)
        return activate_torch(logits, self.spec.activation)

    def forward(
        self,
        token_probs: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Toxicity ``[B]``: the largest probability over toxic labels (STA = 1 - toxicity)."""
        probs = self.probabilities(token_probs, attention_mask, inputs_embeds=inputs_embeds)
        if self._toxic_index.numel() == 0:
            return probs.new_zeros(probs.shape[0])
        return probs.index_select(-1, self._toxic_index.to(probs.device)).amax(dim=-1)


def _swap_lookups(
    model: nn.Module, embeds: torch.Tensor | None, token_probs: torch.Tensor | None
) -> list[torch.utils.hooks.RemovableHandle]:
    """Hooks making a MiniTextModel's embedding lookup return ``embeds`` (default: the
    expected embedding of ``token_probs``) and its lexicon's return ``token_probs @ lexicon``;
    remove them after the forward pass."""
    embedding = cast(nn.Embedding, model.embed)
    lexicon = getattr(model, "lexicon", None)
    if isinstance(lexicon, nn.Embedding) and token_probs is None:
        raise InvalidInputError(
            "this model also scores tokens with a lexicon, which reads tokens rather "
            "than embeddings: pass token_probs (one_hot() shows the layout)"
        )
    if embeds is None:
        assert token_probs is not None
        embeds = torch.matmul(token_probs.to(embedding.weight.dtype), embedding.weight)
    handles = [embedding.register_forward_hook(lambda _m, _i, _o: embeds)]
    if isinstance(lexicon, nn.Embedding):
        assert token_probs is not None
        expected = torch.matmul(token_probs.to(lexicon.weight.dtype), lexicon.weight)
        handles.append(lexicon.register_forward_hook(lambda _m, _i, _o: expected))
    return handles


def build(module: nn.Module, spec: ModelSpec, encoder: TextEncoder | None,
          device: str) -> DifferentiableToxicity:
    """A frozen :class:`DifferentiableToxicity` around a loaded ``tensors -> logits`` module."""
    module = module.to(device).eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return DifferentiableToxicity(module, spec, encoder)
