"""Text input preparation: validation, tokenisation, length-sorted batches, padding.

The path is: validate → tokenise (truncating at the model's limit, or a smaller user
``max_length``, and reporting it per text) → sort by token count into batches → pad. Running
a model on the batches is :mod:`voicesafety.pipeline`'s job. Empty or whitespace-only texts
are not run through the model: they get a defined "nothing here" result (:func:`empty_row`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union, cast

import numpy as np

from .errors import InputTypeError, InvalidInputError, at_index
from .spec import ModelSpec

if TYPE_CHECKING:
    import tokenizers
    from transformers import PreTrainedTokenizerBase

Tokenizer = Union["tokenizers.Tokenizer", "PreTrainedTokenizerBase"]  # noqa: UP007 - py3.10
"""A bare ``tokenizers.Tokenizer`` or a Hugging Face tokenizer (fast or slow)."""


@dataclass(frozen=True)
class Encoded:
    """Token ids of one text (already truncated) and whether truncation happened."""

    ids: list[int]
    truncated: bool


class TextEncoder:
    """Tokenises texts with a ``tokenizers.Tokenizer`` or a Hugging Face tokenizer.

    Truncation happens at ``max_length`` tokens (special tokens included) and is reported per
    text, never silent.
    """

    def __init__(self, tokenizer: Tokenizer, max_length: int | None) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        # Told apart by attributes, not isinstance, so that neither library is imported here:
        # a fast Hugging Face tokenizer wraps a tokenizers.Tokenizer (backend_tokenizer), a
        # bare tokenizers.Tokenizer has encode_batch, a slow Hugging Face tokenizer neither.
        backend: tokenizers.Tokenizer | None = getattr(tokenizer, "backend_tokenizer", None)
        self.hf: PreTrainedTokenizerBase | None = None
        fast: tokenizers.Tokenizer | None = backend
        if backend is not None or not hasattr(tokenizer, "encode_batch"):
            self.hf = cast("PreTrainedTokenizerBase", tokenizer)
        else:
            fast = cast("tokenizers.Tokenizer", tokenizer)
        if fast is not None:
            fast = copy.deepcopy(fast)  # we change its truncation/padding settings
            fast.no_padding()
            if max_length:
                fast.enable_truncation(max_length)
            else:
                fast.no_truncation()
        self.fast = fast
        self.pad_id = self._pad_id(tokenizer)
        self._limited: dict[int, TextEncoder] = {}

    @staticmethod
    def _pad_id(tokenizer: Tokenizer) -> int:
        pad = getattr(tokenizer, "pad_token_id", None)
        if isinstance(pad, int):
            return pad
        padding = getattr(tokenizer, "padding", None)
        if isinstance(padding, dict) and "pad_id" in padding:
            return int(padding["pad_id"])
        if hasattr(tokenizer, "token_to_id"):
            for token in ("<pad>", "[PAD]", "<PAD>"):
                found = tokenizer.token_to_id(token)
                if found is not None:
                    return int(found)
        return 0

    def limited(self, max_length: int | None) -> TextEncoder:
        """An encoder truncating at ``min(max_length, self.max_length)`` (cached)."""
        if max_length is None:
            return self
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise InvalidInputError(
                f"max_length must be a positive integer (tokens), got {max_length!r}"
            )
        if self.max_length is not None and max_length >= self.max_length:
            return self
        if max_length not in self._limited:
            self._limited[max_length] = TextEncoder(self.tokenizer, max_length)
        return self._limited[max_length]

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Token ids per text, truncated to ``max_length``."""
        if self.fast is None and self.hf is None:
            raise InvalidInputError("this text model has no tokenizer; cannot encode text")
        try:
            if self.fast is not None:
                out = [
                    Encoded(list(e.ids), bool(e.overflowing))
                    for e in self.fast.encode_batch(list(texts))
                ]
            else:
                out = []  # a slow (pure-Python) Hugging Face tokenizer
                assert self.hf is not None
                for text in texts:
                    ids = self.hf(text, truncation=False, verbose=False)["input_ids"]
                    limited = self.hf(
                        text, truncation=True, max_length=self.max_length
                    )["input_ids"]
                    out.append(Encoded(list(limited), len(ids) > len(limited)))
        except Exception as exc:  # tokenizers raises plain Exception subclasses
            raise InvalidInputError(
                f"the tokenizer failed on this input (max_length={self.max_length}): {exc}. "
                "A max_length must leave room for the model's special tokens."
            ) from exc
        if self.max_length and any(len(e.ids) > self.max_length for e in out):
            # tokenizers gives up silently when max_length < its special tokens
            raise InvalidInputError(
                f"max_length={self.max_length} leaves no room for text after the model's "
                "special tokens; use a larger max_length"
            )
        return out


def check_texts(texts: object) -> tuple[list[str], bool]:
    """Validate input: a str or a list/tuple of str. Returns (texts, was_single)."""
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, (bytes, bytearray)):
        raise InputTypeError("score_text takes str, not bytes; decode it first: b.decode('utf-8')")
    if texts is None:
        raise InputTypeError("score_text got None; pass a str or a list of str")
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    if not isinstance(texts, (list, tuple)):
        raise InputTypeError(
            f"score_text takes a str or a list of str, got {type(texts).__name__}. For audio, "
            "use clf.score(...)."
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise at_index(InputTypeError(
                f"expected str, got {type(text).__name__} ({text!r:.40}); convert it with str() "
                "or drop it"), i)
    return list(texts), False


def batches_by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length (longest first), cut into batches: padding stays small."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(encoded: Sequence[Encoded], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` int64 arrays, right-padded to the longest."""
    width = max(1, max(len(e.ids) for e in encoded))
    ids = np.full((len(encoded), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encoded), width), dtype=np.int64)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask


def is_blank(text: str) -> bool:
    """Whether a text has nothing to score (empty or whitespace only)."""
    return not text.strip()


def empty_row(spec: ModelSpec) -> np.ndarray:
    """Scores given to a blank text: 0 for every toxic label.

    Negative labels (``neutral``, ``NoViolation``...) get 1 with a sigmoid head, and share 1
    with a softmax head, so the row stays a valid distribution when the model has one.
    """
    labels = list(spec.labels)
    negatives = [i for i, label in enumerate(labels) if label in spec.negative_labels]
    row = np.zeros(len(labels), dtype=np.float32)
    if negatives:
        row[negatives] = 1.0 if spec.activation == "sigmoid" else 1.0 / len(negatives)
    return row


def encode_texts(
    texts: list[str], encoder: TextEncoder, max_length: int | None = None
) -> tuple[TextEncoder, list[Encoded], list[int]]:
    """Tokenise the non-blank texts: ``(encoder used, encodings per text, scored indices)``.

    Blank texts get an empty :class:`Encoded` and are left out of the scored indices.
    """
    encoder = encoder.limited(max_length)
    scored = [i for i, text in enumerate(texts) if not is_blank(text)]
    done = encoder.encode([texts[i] for i in scored]) if scored else []
    encoded = [Encoded([], False)] * len(texts)
    for i, enc in zip(scored, done, strict=True):
        encoded[i] = enc
    return encoder, encoded, scored
